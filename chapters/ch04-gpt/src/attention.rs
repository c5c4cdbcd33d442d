//! The one thing a transformer block needs from its attention layer.

use ch03_attention::MultiHeadAttention;
use ndarray::{Array3, ArrayView3};
use shared::{Error, Float, Result};

// ANCHOR: trait
/// A self-attention layer as the block sees it.
///
/// `use_cache` is always `false` in this chapter: every call sees the whole sequence.
/// Chapter 8's attention owns a KV cache; with `use_cache = true` it appends the new keys and
/// values to it and attends over everything cached so far.
pub trait Attention<F: Float> {
    /// x: `[batch, seq, d_model]` -> `[batch, seq, d_model]`
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>>;

    /// Forget any cached keys and values (nothing to forget without a cache).
    fn reset_cache(&mut self) {}
}
// ANCHOR_END: trait

// ANCHOR: impl_mha
/// Chapter 3's attention has no cache: it always attends over exactly the tokens it is given.
impl<F: Float> Attention<F> for MultiHeadAttention<F> {
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>> {
        if use_cache {
            return Err(Error::InvalidArgument(
                "this model has no KV cache (chapter 8's CachedAttention has one)".into(),
            ));
        }
        MultiHeadAttention::forward(self, x)
    }
}
// ANCHOR_END: impl_mha
