//! Merging the heads back into the model width (exercise ch03-2 replaces this file).

use ndarray::{Array3, ArrayView4};
use shared::Float;

// ANCHOR: merge_heads
// ANCHOR: merge_heads_signature
/// x: `[batch, n_heads, seq, head_dim]` -> `[batch, seq, n_heads * head_dim]`
pub fn merge_heads<F: Float>(x: ArrayView4<F>) -> Array3<F> {
    // ANCHOR_END: merge_heads_signature
    let (batch, n_heads, seq, head_dim) = x.dim();
    x.permuted_axes([0, 2, 1, 3]) // [batch, seq, n_heads, head_dim]
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((batch, seq, n_heads * head_dim))
        .expect("contiguous")
}
// ANCHOR_END: merge_heads
