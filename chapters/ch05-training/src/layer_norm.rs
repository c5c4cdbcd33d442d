//! The backward of layer normalisation (`shared::LayerNorm::forward`); exercise ch05-1 replaces
//! this file.

use ndarray::{Array2, ArrayView2, Zip};
use shared::{Error, Float, LayerNorm, Result};

// ANCHOR: layer_norm_backward
// ANCHOR: layer_norm_backward_signature
/// Forward, per row of d values: `xhat = (x - mean) * rstd` with `rstd = 1 / sqrt(var + eps)`,
/// then `y = xhat * weight + bias`. Backward, with `dxhat = dy * weight`:
///
/// `dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))`
///
/// (the two means are how every x of the row moved the row's mean and variance).
///
/// x: `[n, d]`, the forward's input (mean and rstd are recomputed from it); dy: `[n, d]`
/// -> dx `[n, d]`; adds `sum_rows(dy * xhat)` to `grad.weight` and `sum_rows(dy)` to `grad.bias`.
pub fn layer_norm_backward<F: Float>(
    ln: &LayerNorm<F>,
    x: ArrayView2<F>,
    dy: ArrayView2<F>,
    grad: &mut LayerNorm<F>,
) -> Result<Array2<F>> {
    // ANCHOR_END: layer_norm_backward_signature
    let d = x.ncols();
    if dy.dim() != x.dim() || ln.weight.len() != d || grad.weight.len() != d {
        return Err(Error::Shape {
            op: "layer_norm_backward",
            expected: format!("x and dy [n, {}]", ln.weight.len()),
            found: format!("x {:?}, dy {:?}", x.shape(), dy.shape()),
        });
    }
    let d_f = F::cast(d as f64);
    let mut dx = Array2::zeros(x.dim());
    Zip::from(x.rows()).and(dy.rows()).and(dx.rows_mut()).for_each(|x, dy, mut dx| {
        let mean = x.sum() / d_f;
        let var = x.iter().map(|&v| (v - mean) * (v - mean)).sum::<F>() / d_f; // biased, as the forward
        let rstd = F::one() / (var + ln.eps).sqrt();
        let xhat = x.mapv(|v| (v - mean) * rstd); // [d]
        let dxhat = &dy * &ln.weight; // [d]
        let mean_dxhat = dxhat.sum() / d_f;
        let mean_dxhat_xhat = (&dxhat * &xhat).sum() / d_f;
        Zip::from(&mut dx).and(&dxhat).and(&xhat).for_each(|dx, &dxh, &xh| {
            *dx = rstd * (dxh - mean_dxhat - xh * mean_dxhat_xhat);
        });
        grad.weight += &(&dy * &xhat);
        grad.bias += &dy;
    });
    Ok(dx)
}
// ANCHOR_END: layer_norm_backward
