//! Exercise ch08-3: the position of the next token is the caches' length; feed tokens there;
//! start again.
//!
//! With `--features ex-ch08-3` this file replaces `src/kv_model/position.rs`.
//! Check it: `cargo run -p exercises -- check ch08-3`. Stuck: `cargo run -p exercises -- hint ch08-3`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::{KvModel, WithCaches};
use crate::kv_cache::KvCache;
use ndarray::{Array2, Array3, ArrayView2};
use shared::{Error, Result};

impl<M: WithCaches> KvModel<M> {
    /// How many positions the caches hold, which is the position of the next token fed.
    pub fn current_pos(&self) -> Result<usize> {
        // TODO: there is no counter to read. Every layer's cache (self.caches()) knows its
        // length, and they should all agree. Return that length, and an error (for example
        // Error::Shape { op, expected, found }) if a layer disagrees with the first, never
        // a guess. No layers at all: 0.
        todo!("ch08-3: the number of cached positions, read from the layers' caches")
    }

    /// ids: `[batch, t]` -> logits `[batch, t, vocab_size]`.
    pub fn forward(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array3<M::Float>> {
        // TODO: without the cache, run self.model over ids as a whole sequence from position 0
        // (caches untouched). With it, the first new token goes at the position the caches
        // give; refuse a chunk that does not fit (self.check_fits) before touching them.
        // Nothing to advance afterwards: appending to the caches is what moves the position.
        todo!("ch08-3: feed ids at the positions after the cached ones")
    }

    /// Like `forward`, logits of the last position only: `[batch, vocab_size]`.
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array2<M::Float>> {
        // TODO: the same as `forward`, with self.model.forward_last.
        todo!("ch08-3: like forward, with self.model.forward_last")
    }

    /// Empty every layer's cache: the next token fed is at position 0 again.
    pub fn reset_kv_cache(&mut self) {
        // TODO: what else is there to reset, now that the position is the caches' length?
        todo!("ch08-3: empty every layer's cache")
    }
}
