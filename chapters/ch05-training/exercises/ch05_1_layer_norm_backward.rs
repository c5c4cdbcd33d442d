//! Exercise ch05-1: layer normalisation, backwards.
//!
//! The forward (`shared::LayerNorm::forward`) normalises each row to mean 0 and variance 1,
//! then scales and shifts it by `weight` and `bias`. Its backward must send the gradient
//! through all three: the affine part, the division by the standard deviation, and the
//! subtraction of the mean, both of which every value of the row took part in.
//!
//! With `--features ex-ch05-1` this file replaces `src/layer_norm.rs`.
//! Check it: `cargo run -p exercises -- check ch05-1`. Stuck: `cargo run -p exercises -- hint ch05-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::{Array2, ArrayView2, Zip};
use shared::{Error, Float, LayerNorm, Result};

/// x: `[n, d]`, the forward's input; dy: `[n, d]`, the gradient of the loss with respect to
/// the forward's output. Returns the gradient with respect to x, `[n, d]`, and **adds** the
/// gradients of the layer's weight and bias (`[d]` each) to `grad.weight` and `grad.bias`.
/// Shapes that do not fit are an `Error::Shape`.
pub fn layer_norm_backward<F: Float>(ln: &LayerNorm<F>, x: ArrayView2<F>, dy: ArrayView2<F>, grad: &mut LayerNorm<F>) -> Result<Array2<F>> {
    // TODO: per row, recompute mean, (biased) variance and rstd = 1 / sqrt(var + ln.eps) from x;
    // xhat = (x - mean) * rstd; dxhat = dy * weight; then
    // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
    // grad.weight += dy * xhat, grad.bias += dy.
    todo!("ch05-1: the gradient of layer norm's input, weight and bias")
}
