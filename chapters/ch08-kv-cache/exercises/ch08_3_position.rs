//! Exercise ch08-3: `current_pos`, the position of the next token fed, and the reset.
//!
//! With `--features ex-ch08-3` this file replaces `src/kv_gpt/position.rs`.
//! Check it: `cargo run -p exercises -- check ch08-3`. Stuck: `cargo run -p exercises -- hint ch08-3`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::KvGpt;
use ndarray::{Array2, Array3, ArrayView2};
use shared::{Float, Result};

impl<F: Float> KvGpt<F> {
    /// ids: `[batch, t]` -> logits `[batch, t, vocab_size]`.
    pub fn forward(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array3<F>> {
        // TODO: without the cache, run self.model over ids as a whole sequence from position 0
        // (cache untouched). With it: refuse a chunk that does not fit (self.check_fits), run
        // self.model with the cache, the first new token at position self.current_pos, then
        // advance self.current_pos by the number of tokens fed.
        todo!("ch08-3: feed ids at positions current_pos.., then advance current_pos")
    }

    /// Like `forward`, logits of the last position only: `[batch, vocab_size]`.
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array2<F>> {
        // TODO: the same as `forward`, with self.model.forward_last.
        todo!("ch08-3: like forward, with self.model.forward_last")
    }

    /// Empty every layer's cache and start positions at 0 again.
    pub fn reset_kv_cache(&mut self) {
        // TODO: two things to reset: every layer's cache, and the position counter.
        todo!("ch08-3: empty every layer's cache and set current_pos back to 0")
    }
}
