//! RMSNorm's forward pass (the reference solution of exercise ch06-1).

use super::RmsNorm;
use ndarray::{Array, ArrayView, Axis, Dimension};
use shared::{Error, Float, Result};

impl<F: Float> RmsNorm<F> {
    // ANCHOR: rms_norm
    // ANCHOR: rms_norm_signature
    /// x: `[.., d]` -> `[.., d]` (`[n, d_model]` for a block's norm, `[batch, heads, seq,
    /// head_dim]` for Qwen3's q/k norm).
    pub fn forward<D: Dimension>(&self, x: ArrayView<F, D>) -> Result<Array<F, D>> {
        // ANCHOR_END: rms_norm_signature
        let d = self.weight.len();
        if x.ndim() == 0 || x.shape()[x.ndim() - 1] != d {
            return Err(Error::Shape {
                op: "rms_norm",
                expected: format!("x = [.., {d}]"),
                found: format!("{:?}", x.shape()),
            });
        }
        let d_f = F::cast(d as f64);
        let mut y = x.to_owned();
        let last = Axis(y.ndim() - 1);
        for mut row in y.lanes_mut(last) {
            let mean_sq = row.iter().map(|&v| v * v).sum::<F>() / d_f; // mean(x^2)
            let inv_rms = F::one() / (mean_sq + self.eps).sqrt();
            for (v, &w) in row.iter_mut().zip(&self.weight) {
                *v = *v * inv_rms * w;
            }
        }
        Ok(y)
    }
    // ANCHOR_END: rms_norm
}
