//! The backward of a fully connected layer, `y = x W^T + b` (`shared::linear`, chapter 4's
//! `Linear::forward`). GPT-2's `Conv1D` weights were transposed to `[out, in]` when loaded, so
//! one backward serves every projection of the model and the tied LM head.

use ndarray::{Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use shared::{matmul_t, Error, Float, Linear, Result};

// ANCHOR: linear_backward
/// Backward of `y = x W^T + b`.
///
/// - x: `[n, in]`, the forward's input; weight: `[out, in]`; dy: `[n, out]`, dLoss/dy
/// - returns dx = dy W, `[n, in]`
/// - adds dW = dy^T x (`[out, in]`) to `d_weight` and db = the column sums of dy (`[out]`)
///   to `d_bias`: a weight used several times (the tied embedding) sums its gradients
pub fn linear_backward<F: Float>(
    x: ArrayView2<F>,
    weight: ArrayView2<F>,
    dy: ArrayView2<F>,
    mut d_weight: ArrayViewMut2<F>,
    d_bias: Option<ArrayViewMut1<F>>,
) -> Result<Array2<F>> {
    let (n, n_in) = x.dim();
    let n_out = weight.nrows();
    if weight.ncols() != n_in || dy.dim() != (n, n_out) || d_weight.dim() != weight.dim() {
        return Err(Error::Shape {
            op: "linear_backward",
            expected: format!("x [{n}, {n_in}], weight [out, {n_in}], dy [{n}, out], d_weight like weight"),
            found: format!("weight {:?}, dy {:?}, d_weight {:?}", weight.shape(), dy.shape(), d_weight.shape()),
        });
    }
    let dx = matmul_t(dy, weight.t()); // [n, out] x [out, in] = [n, in]
    d_weight += &matmul_t(dy.t(), x.t()); // [out, n] x [n, in] = [out, in]
    if let Some(mut db) = d_bias {
        db += &dy.sum_axis(Axis(0)); // [out]
    }
    Ok(dx)
}
// ANCHOR_END: linear_backward

/// [`linear_backward`] of a [`Linear`] layer, its gradients added to `grad` (same shapes).
pub fn backward<F: Float>(layer: &Linear<F>, x: ArrayView2<F>, dy: ArrayView2<F>, grad: &mut Linear<F>) -> Result<Array2<F>> {
    let d_bias = grad.bias.as_mut().map(|b| b.view_mut());
    linear_backward(x, layer.weight.view(), dy, grad.weight.view_mut(), d_bias)
}
