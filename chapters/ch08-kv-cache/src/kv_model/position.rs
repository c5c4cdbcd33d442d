//! The position of the next token, derived from the caches; feeding tokens there; starting
//! again (the reference solution of exercise ch08-3).

use super::{KvModel, WithCaches};
use crate::kv_cache::KvCache;
use ndarray::{Array2, Array3, ArrayView2};
use shared::{Error, Result};

impl<M: WithCaches> KvModel<M> {
    // ANCHOR: current_pos
    // ANCHOR: current_pos_signature
    /// How many positions the caches hold, which is the position of the next token fed.
    ///
    /// Every cached forward appends the same tokens to every layer, and a chunk that does not
    /// fit is refused before any layer is touched, so all layers hold the same length. Should
    /// they ever disagree, this is an error (naming the layer), never a guess.
    pub fn current_pos(&self) -> Result<usize> {
        // ANCHOR_END: current_pos_signature
        let mut lens = self.caches().map(KvCache::len); // one per layer
        let first = lens.next().unwrap_or(0);
        match lens.enumerate().find(|&(_, len)| len != first) {
            None => Ok(first),
            Some((i, len)) => Err(Error::Shape {
                op: "KvGpt::current_pos",
                expected: format!("{first} cached positions in every layer, as in layer 0"),
                found: format!("{len} in layer {}: call reset_kv_cache()", i + 1),
            }),
        }
    }
    // ANCHOR_END: current_pos

    // ANCHOR: forward
    // ANCHOR: forward_signature
    /// ids: `[batch, t]` -> logits `[batch, t, vocab_size]`.
    ///
    /// With `use_cache`, `ids` are the next `t` tokens after the `current_pos()` already cached:
    /// they get positions `current_pos()..current_pos() + t` and their keys and values join
    /// every layer's cache (which moves `current_pos()`). Without it, `ids` is a whole sequence
    /// from position 0 and the caches are neither read nor written.
    pub fn forward(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array3<M::Float>> {
        // ANCHOR_END: forward_signature
        if !use_cache {
            return self.model.forward(ids, 0, false);
        }
        let start = self.current_pos()?;
        self.check_fits(start, ids.ncols())?; // before touching any cache
        self.model.forward(ids, start, true)
    }
    // ANCHOR_END: forward

    /// Like [`forward`](Self::forward), logits of the last position only: `[batch, vocab_size]`.
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array2<M::Float>> {
        if !use_cache {
            return self.model.forward_last(ids, 0, false);
        }
        if let Some(logits) = self.fast_forward_last(ids) {
            return logits; // one token after the prompt: the fast step of decode_step.rs, the same logits
        }
        let start = self.current_pos()?;
        self.check_fits(start, ids.ncols())?;
        self.model.forward_last(ids, start, true)
    }

    // ANCHOR: reset
    // ANCHOR: reset_signature
    /// Empty every layer's cache: the next token fed is at position 0 again.
    pub fn reset_kv_cache(&mut self) {
        // ANCHOR_END: reset_signature
        self.model.reset_kv_cache(); // chapter 4: every layer's `reset_cache`
    }
    // ANCHOR_END: reset
}
