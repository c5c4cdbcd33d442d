//! Splitting the model width into heads and merging it back.

use ndarray::{Array3, Array4, ArrayView2, ArrayView4};
use shared::Float;

// ANCHOR: split_heads
/// x: `[batch * seq, n_heads * head_dim]` (rows in batch-major order)
/// -> `[batch, n_heads, seq, head_dim]`
pub fn split_heads<F: Float>(x: ArrayView2<F>, batch: usize, n_heads: usize) -> Array4<F> {
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

// ANCHOR: merge_heads
/// x: `[batch, n_heads, seq, head_dim]` -> `[batch, seq, n_heads * head_dim]`
pub fn merge_heads<F: Float>(x: ArrayView4<F>) -> Array3<F> {
    let (batch, n_heads, seq, head_dim) = x.dim();
    x.permuted_axes([0, 2, 1, 3]) // [batch, seq, n_heads, head_dim]
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((batch, seq, n_heads * head_dim))
        .expect("contiguous")
}
// ANCHOR_END: merge_heads

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn split_then_merge_is_identity_and_heads_are_column_blocks() {
        // batch 2, seq 3, 2 heads of width 2: entry = 100*row + col
        let x = Array2::from_shape_fn((6, 4), |(r, c)| (100 * r + c) as f64);
        let h = split_heads(x.view(), 2, 2);
        assert_eq!(h.dim(), (2, 2, 3, 2));
        // batch 1, head 1, seq 2 is row 1*3+2 = 5, columns 2..4
        assert_eq!(h[[1, 1, 2, 0]], 502.0);
        assert_eq!(h[[1, 1, 2, 1]], 503.0);
        let m = merge_heads(h.view());
        assert_eq!(m.into_shape_with_order((6, 4)).unwrap(), x);
    }
}
