//! What a transformer block needs from its attention layer, and what chapter 8 needs to put a
//! cache inside one.

use ch03_attention::{MultiHeadAttention, Qkv};
use ndarray::{Array3, ArrayView2, ArrayView3, ArrayView4};
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

// ANCHOR: qkv_attention
/// An attention layer split at the point where a cache goes: project the new tokens into
/// queries, keys and values, then attend. Chapter 8 keeps the keys and values between the two
/// halves, for GPT-2's attention and for chapter 6's rotary attention alike.
pub trait QkvAttention<F: Float> {
    /// x: `[batch, t, d_model]`, tokens at positions `start_pos..start_pos + t` ->
    /// q `[batch, n_heads, t, head_dim]`, k and v `[batch, n_kv_heads, t, head_dim]`.
    /// Rotary attention rotates q and k to their positions here; GPT-2's attention ignores
    /// `start_pos` (its positions were added to the embeddings).
    fn project_qkv(&self, x: ArrayView3<F>, start_pos: usize) -> Result<Qkv<F>>;

    /// q over k and v, which may hold earlier positions (the causal mask is offset by
    /// `kv_len - q_len`), then the output projection -> `[batch, q_len, d_model]`.
    fn attend(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<Array3<F>>;

    // ANCHOR: batch_methods
    /// Chapter 9's batches: like [`project_qkv`](Self::project_qkv), but token `t` of row `b`
    /// is at position `positions[[b, t]]` (`[batch, t]`): each row of a left-padded batch has
    /// its own positions.
    fn project_qkv_at(&self, x: ArrayView3<F>, positions: ArrayView2<usize>) -> Result<Qkv<F>>;

    /// Chapter 9's batches: like [`attend`](Self::attend), with a mask per row,
    /// `[batch, q_len, kv_len]` (additive), in place of the one causal mask.
    fn attend_masked(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>, mask: ArrayView3<F>) -> Result<Array3<F>>;
    // ANCHOR_END: batch_methods
}
// ANCHOR_END: qkv_attention

/// Chapter 3's attention, split in its two halves.
impl<F: Float> QkvAttention<F> for MultiHeadAttention<F> {
    fn project_qkv(&self, x: ArrayView3<F>, _start_pos: usize) -> Result<Qkv<F>> {
        MultiHeadAttention::project_qkv(self, x)
    }

    fn attend(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<Array3<F>> {
        MultiHeadAttention::attend(self, q, k, v)
    }

    /// GPT-2's positions are in its embeddings: the projection ignores them.
    fn project_qkv_at(&self, x: ArrayView3<F>, positions: ArrayView2<usize>) -> Result<Qkv<F>> {
        check_positions(x, positions)?;
        MultiHeadAttention::project_qkv(self, x)
    }

    fn attend_masked(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>, mask: ArrayView3<F>) -> Result<Array3<F>> {
        MultiHeadAttention::attend_masked(self, q, k, v, mask)
    }
}

/// `positions` must give one position per token of x: `[batch, t]` for x `[batch, t, d_model]`.
pub fn check_positions<F: Float>(x: ArrayView3<F>, positions: ArrayView2<usize>) -> Result<()> {
    let (batch, t, _) = x.dim();
    if positions.dim() != (batch, t) {
        return Err(Error::Shape {
            op: "project_qkv_at",
            expected: format!("positions = [{batch}, {t}]"),
            found: format!("{:?}", positions.shape()),
        });
    }
    Ok(())
}

// ANCHOR: impl_mha
/// Chapter 3's attention has no cache: it always attends over exactly the tokens it is given.
impl<F: Float> Attention<F> for MultiHeadAttention<F> {
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>> {
        if use_cache {
            return Err(no_cache());
        }
        MultiHeadAttention::forward(self, x)
    }
}
// ANCHOR_END: impl_mha

/// The error of `use_cache = true` on attention that has no cache.
pub fn no_cache() -> Error {
    Error::InvalidArgument("this model has no KV cache (chapter 8's CachedAttention has one)".into())
}
