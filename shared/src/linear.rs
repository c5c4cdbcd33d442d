//! A fully connected layer, `y = x W^T + b`, with `W` stored `[out, in]` like PyTorch's
//! `nn.Linear` (GPT-2's `Conv1D` stores `[in, out]`; [`Linear::load_conv1d`] transposes it once,
//! at load time).

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::gemv::gemv;
use crate::gemv_rows::{gemv_rows, GEMV_ROWS_MAX, GEMV_ROWS_MIN_WEIGHTS};
use crate::matmul::matmul_t;
use crate::init;
use crate::Float;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use ndarray_rand::rand::Rng;

#[derive(Debug, Clone)]
pub struct Linear<F> {
    pub weight: Array2<F>,       // [out, in]
    pub bias: Option<Array1<F>>, // [out]
}

impl<F: Float> Linear<F> {
    /// Weights drawn from N(0, std^2) with the given rng, bias zero (GPT-2's initialisation).
    pub fn random<R: Rng>(n_in: usize, n_out: usize, bias: bool, std: f64, rng: &mut R) -> Self {
        Linear {
            weight: init::normal((n_out, n_in), std, rng),
            bias: bias.then(|| Array1::zeros(n_out)),
        }
    }

    /// Load a Hugging Face GPT-2 `Conv1D`: `{name}.weight` is `[in, out]`, `{name}.bias` `[out]`.
    pub fn load_conv1d(ckpt: &Checkpoint, name: &str, n_in: usize, n_out: usize) -> Result<Self> {
        let w: Array2<F> = ckpt.matrix(&format!("{name}.weight"), n_in, n_out)?;
        Ok(Linear {
            weight: w.t().as_standard_layout().into_owned(), // [out, in]
            bias: Some(ckpt.vector(&format!("{name}.bias"), n_out)?),
        })
    }

    /// Load a PyTorch `nn.Linear`: `{name}.weight` is `[out, in]`, and `{name}.bias` `[out]`
    /// when `bias` is true.
    pub fn load(ckpt: &Checkpoint, name: &str, n_in: usize, n_out: usize, bias: bool) -> Result<Self> {
        Ok(Linear {
            weight: ckpt.matrix(&format!("{name}.weight"), n_out, n_in)?,
            bias: if bias { Some(ckpt.vector(&format!("{name}.bias"), n_out)?) } else { None },
        })
    }

    pub fn n_in(&self) -> usize {
        self.weight.ncols()
    }
    pub fn n_out(&self) -> usize {
        self.weight.nrows()
    }

    /// x: `[n, in]` -> `[n, out]`
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        linear(x, self.weight.view(), self.bias.as_ref().map(|b| b.view()))
    }
}

// ANCHOR: linear
/// `y = x W^T + b`. x: `[n, in]`, weight: `[out, in]`, bias: `[out]` -> `[n, out]`.
///
/// Used by [`Linear::forward`] and by the tied LM head (whose weight is the token embedding).
pub fn linear<F: Float>(
    x: ArrayView2<F>,
    weight: ArrayView2<F>,
    bias: Option<ArrayView1<F>>,
) -> Result<Array2<F>> {
    if x.ncols() != weight.ncols() {
        return Err(Error::Shape {
            op: "linear",
            expected: format!("x = [n, {}]", weight.ncols()),
            found: format!("{:?}", x.shape()),
        });
    }
    let mut y = if x.nrows() == 1 {
        // decode: one vector, a parallel matrix x vector that streams W once (see `gemv`)
        let mut y = Array2::zeros((1, weight.nrows()));
        gemv(weight, x.row(0), y.row_mut(0));
        y
    } else if x.nrows() <= GEMV_ROWS_MAX && weight.len() >= GEMV_ROWS_MIN_WEIGHTS {
        // a batch's decode step (or a short chunk) on a weight that streams from memory:
        // each weight row read once for all rows
        gemv_rows(x, weight) // [n, in] x [in, out]
    } else {
        // prefill: matrix x matrix, row blocks on every core (see `matmul_t`)
        matmul_t(x, weight) // [n, in] x [in, out]
    };
    if let Some(b) = bias {
        y += &b.insert_axis(Axis(0));
    }
    Ok(y)
}
// ANCHOR_END: linear

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_values_for_one_row_and_many() {
        let lin = Linear {
            weight: array![[1.0f64, 2.0], [0.0, -1.0], [3.0, 0.5]], // [out=3, in=2]
            bias: Some(array![0.5, 0.0, -1.0]),
        };
        // [1, 2] -> [1+4+0.5, -2, 3+1-1] = [5.5, -2, 3]
        assert_eq!(lin.forward(array![[1.0, 2.0]].view()).unwrap(), array![[5.5, -2.0, 3.0]]);
        assert_eq!(
            lin.forward(array![[1.0, 2.0], [0.0, 0.0]].view()).unwrap(),
            array![[5.5, -2.0, 3.0], [0.5, 0.0, -1.0]]
        );
        assert!(lin.forward(array![[1.0, 2.0, 3.0]].view()).is_err());
    }
}
