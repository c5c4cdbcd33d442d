//! Layer normalisation over the last axis (GPT-2 uses it before attention, before the MLP and
//! at the end).

use crate::checkpoint::Checkpoint;
use crate::error::Result;
use crate::Float;
use crate::parallel::LAYER_NORM_MIN_LEN;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut1, Axis};
use rayon::prelude::*;

/// `y = (x - mean) / sqrt(var + eps) * weight + bias`, per row.
#[derive(Debug, Clone)]
pub struct LayerNorm<F> {
    pub weight: Array1<F>, // [d]
    pub bias: Array1<F>,   // [d]
    pub eps: F,
}

impl<F: Float> LayerNorm<F> {
    /// Weight 1, bias 0: the identity up to normalisation (PyTorch's initialisation).
    pub fn new(d: usize, eps: f64) -> Self {
        LayerNorm {
            weight: Array1::ones(d),
            bias: Array1::zeros(d),
            eps: F::cast(eps),
        }
    }

    /// Load `{name}.weight` and `{name}.bias`, each `[d]`.
    pub fn load(ckpt: &Checkpoint, name: &str, d: usize, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: ckpt.vector(&format!("{name}.weight"), d)?,
            bias: ckpt.vector(&format!("{name}.bias"), d)?,
            eps: F::cast(eps),
        })
    }

    // ANCHOR: layer_norm
    /// x: `[n, d]` -> `[n, d]`
    pub fn forward(&self, x: ArrayView2<F>) -> Array2<F> {
        let d = F::cast(x.ncols() as f64);
        let mut y = x.to_owned();
        let normalize = |mut row: ArrayViewMut1<F>| {
            let mean = row.sum() / d;
            let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<F>() / d; // biased
            let inv_std = F::one() / (var + self.eps).sqrt();
            for ((v, &w), &b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv_std * w + b;
            }
        };
        if y.len() >= LAYER_NORM_MIN_LEN {
            y.axis_iter_mut(Axis(0)).into_par_iter().for_each(normalize); // a prefill: rows on every core
        } else {
            y.axis_iter_mut(Axis(0)).for_each(normalize);
        }
        y
    }
    // ANCHOR_END: layer_norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_values() {
        // row [1, 2, 3]: mean 2, biased var 2/3 -> [-1, 0, 1] / sqrt(2/3 + eps)
        let ln = LayerNorm::<f64>::new(3, 0.0);
        let y = ln.forward(array![[1.0, 2.0, 3.0]].view());
        let s = (2.0f64 / 3.0).sqrt();
        assert!((y[[0, 0]] + 1.0 / s).abs() < 1e-15);
        assert!(y[[0, 1]].abs() < 1e-15);
        assert!((y[[0, 2]] - 1.0 / s).abs() < 1e-15);
    }

    #[test]
    fn affine_parameters_apply() {
        let mut ln = LayerNorm::<f64>::new(2, 0.0);
        ln.weight = array![2.0, 2.0];
        ln.bias = array![1.0, -1.0];
        // [0, 4] -> [-1, 1] -> [-1, 1]
        let y = ln.forward(array![[0.0, 4.0]].view());
        assert!((y[[0, 0]] - (-1.0)).abs() < 1e-15 && (y[[0, 1]] - 1.0).abs() < 1e-15);
    }
}
