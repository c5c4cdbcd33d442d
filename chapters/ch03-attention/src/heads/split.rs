//! Splitting the model width into heads (exercise ch03-1 replaces this file).

use ndarray::{Array4, ArrayView2};
use shared::Float;

// ANCHOR: split_heads
// ANCHOR: split_heads_signature
/// x: `[batch * seq, n_heads * head_dim]` (rows in batch-major order)
/// -> `[batch, n_heads, seq, head_dim]`
pub fn split_heads<F: Float>(x: ArrayView2<F>, batch: usize, n_heads: usize) -> Array4<F> {
    // ANCHOR_END: split_heads_signature
    let (rows, width) = x.dim();
    let (seq, head_dim) = (rows / batch, width / n_heads);
    let x = x
        .as_standard_layout() // a column slice of the fused qkv is not contiguous
        .into_owned()
        .into_shape_with_order((batch, seq, n_heads, head_dim)) // [batch, seq, n_heads, head_dim]
        .expect("rows and width divide");
    x.permuted_axes([0, 2, 1, 3]) // [batch, n_heads, seq, head_dim]
        .as_standard_layout()
        .into_owned()
}
// ANCHOR_END: split_heads
