//! `current_pos`: where new tokens go, and how to start again (the reference solution of
//! exercise ch08-3).

use super::KvGpt;
use ndarray::{Array2, Array3, ArrayView2};
use shared::{Float, Result};

impl<F: Float> KvGpt<F> {
    // ANCHOR: forward
    // ANCHOR: forward_signature
    /// ids: `[batch, t]` -> logits `[batch, t, vocab_size]`.
    ///
    /// With `use_cache`, `ids` are the next `t` tokens after the `current_pos` already cached:
    /// they get positions `current_pos..current_pos + t`, their keys and values join the cache,
    /// and `current_pos` advances. Without it, `ids` is a whole sequence and the cache is
    /// neither read nor written.
    pub fn forward(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array3<F>> {
        // ANCHOR_END: forward_signature
        if !use_cache {
            return self.model.forward(ids, 0, false);
        }
        self.check_fits(ids.ncols())?;
        let logits = self.model.forward(ids, self.current_pos, true)?;
        self.current_pos += ids.ncols();
        Ok(logits)
    }
    // ANCHOR_END: forward

    /// Like [`forward`](Self::forward), logits of the last position only: `[batch, vocab_size]`.
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array2<F>> {
        if !use_cache {
            return self.model.forward_last(ids, 0, false);
        }
        self.check_fits(ids.ncols())?;
        let logits = self.model.forward_last(ids, self.current_pos, true)?;
        self.current_pos += ids.ncols();
        Ok(logits)
    }

    // ANCHOR: reset
    // ANCHOR: reset_signature
    /// Empty every layer's cache and start positions at 0 again.
    pub fn reset_kv_cache(&mut self) {
        // ANCHOR_END: reset_signature
        self.model.reset_kv_cache();
        self.current_pos = 0;
    }
    // ANCHOR_END: reset
}
