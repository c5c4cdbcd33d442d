//! The SwiGLU MLP (Llama, Qwen; "GLU Variants Improve Transformer", Shazeer).
//!
//! GPT-2's MLP is `fc2(gelu(fc1(x)))`. SwiGLU has two input projections: one, passed through
//! SiLU, is a gate that scales the other element by element, before the output projection.
//! Three matrices instead of two, so `intermediate_size` is usually about 8/3 `d_model` rather
//! than 4 `d_model`, for a similar parameter count.

use ndarray::{Array2, ArrayBase, ArrayView2, Axis, DataMut, Dimension};
use ndarray_rand::rand::Rng;
use shared::{Error, Float, Linear, Result};

// ANCHOR: silu
/// `silu(x) = x * sigmoid(x) = x / (1 + exp(-x))`, element-wise, in place (PyTorch's
/// `nn.SiLU`, Hugging Face's `hidden_act: "silu"`).
pub fn silu<F: Float, S: DataMut<Elem = F>, D: Dimension>(x: &mut ArrayBase<S, D>) {
    x.mapv_inplace(|v| v / (F::one() + (-v).exp()));
}
// ANCHOR_END: silu

/// `down(silu(gate(x)) * up(x))` (biases only with Llama's `mlp_bias: true`).
///
/// `gate_proj` and `up_proj` read the same `x`, so they are kept stacked as one matrix and
/// computed in one product, the way GPT-2's `c_attn` computes q, k and v: one pass over the
/// weights instead of two (decode reads every weight once per token, so this is what it costs).
#[derive(Debug, Clone)]
pub struct SwiGlu<F> {
    /// Rows `0..d_ff` are `gate_proj`, rows `d_ff..2 d_ff` are `up_proj`: `[2 d_ff, d_model]`.
    pub gate_up: Linear<F>,
    pub down: Linear<F>, // down_proj: [d_model, d_ff]
}

impl<F: Float> SwiGlu<F> {
    /// Stack `gate` and `up` (each `[d_ff, d_model]`) over `down` (`[d_model, d_ff]`).
    pub fn new(gate: Linear<F>, up: Linear<F>, down: Linear<F>) -> Result<Self> {
        let (d_ff, d_model) = (gate.n_out(), gate.n_in());
        let dims = |l: &Linear<F>| (l.n_out(), l.n_in());
        if dims(&up) != (d_ff, d_model) || dims(&down) != (d_model, d_ff) || gate.bias.is_some() != up.bias.is_some() {
            return Err(Error::Shape {
                op: "swiglu",
                expected: format!("up [{d_ff}, {d_model}], down [{d_model}, {d_ff}] (from gate), biases on both or neither"),
                found: format!("up {:?}, down {:?}", dims(&up), dims(&down)),
            });
        }
        Ok(SwiGlu { gate_up: Linear::stack(&[gate, up])?, down }) // [gate | up]
    }

    /// Weights drawn from N(0, std^2) with the given rng, no biases.
    pub fn random<R: Rng>(d_model: usize, d_ff: usize, std: f64, rng: &mut R) -> Self {
        let gate = Linear::random(d_model, d_ff, false, std, rng);
        let up = Linear::random(d_model, d_ff, false, std, rng);
        let down = Linear::random(d_ff, d_model, false, std, rng);
        Self::new(gate, up, down).expect("shapes made to fit")
    }

    /// The hidden width `d_ff`.
    pub fn d_ff(&self) -> usize {
        self.gate_up.n_out() / 2
    }

    /// `gate_proj` (rows `0..d_ff` of `gate_up`) or `up_proj` (the rest), as Hugging Face stores them.
    pub fn projection(&self, up: bool) -> Linear<F> {
        let d_ff = self.d_ff();
        let rows = if up { d_ff..2 * d_ff } else { 0..d_ff };
        self.gate_up.rows(rows)
    }

    // ANCHOR: swiglu
    /// x: `[n, d_model]` -> `[n, d_model]`
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        let d_ff = self.d_ff();
        let h = self.gate_up.forward(x)?; // [n, 2 d_ff]: gate and up side by side
        let (gate, up) = h.view().split_at(Axis(1), d_ff); // [n, d_ff] each
        let mut hidden = gate.to_owned();
        silu(&mut hidden);
        hidden *= &up; // [n, d_ff]
        self.down.forward(hidden.view()) // [n, d_model]
    }
    // ANCHOR_END: swiglu
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use shared::init;

    #[test]
    fn silu_hand_values() {
        // silu(0) = 0, silu(1) = 1 / (1 + e^-1) = 0.7310585786300049,
        // silu(-1) = -1 / (1 + e) = -0.2689414213699951, and silu(x) -> x for large x.
        let mut x = array![0.0f64, 1.0, -1.0, 30.0, -30.0];
        silu(&mut x);
        assert_eq!(x[0], 0.0);
        assert!((x[1] - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-16);
        assert!((x[1] - 0.731_058_578_630_004_9).abs() < 1e-15);
        assert!((x[2] + 0.268_941_421_369_995_1).abs() < 1e-15);
        assert!((x[3] - 30.0).abs() < 1e-9);
        assert!(x[4].abs() < 1e-11);
    }

    #[test]
    fn the_mlp_equals_a_hand_written_loop() {
        let (n, d_model, d_ff) = (3, 4, 6);
        let mut rng = init::rng(7);
        let mlp = SwiGlu::<f64>::random(d_model, d_ff, 0.5, &mut rng);
        let x: Array2<f64> = init::normal((n, d_model), 1.0, &mut rng);
        let got = mlp.forward(x.view()).unwrap();
        let (gate_w, up_w) = (mlp.projection(false).weight, mlp.projection(true).weight);

        let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
        for r in 0..n {
            let mut hidden = vec![0.0; d_ff];
            for (j, h) in hidden.iter_mut().enumerate() {
                let g: f64 = (0..d_model)
                    .map(|k| x[[r, k]] * gate_w[[j, k]])
                    .sum();
                let u: f64 = (0..d_model)
                    .map(|k| x[[r, k]] * up_w[[j, k]])
                    .sum();
                *h = g * sigmoid(g) * u;
            }
            for o in 0..d_model {
                let want: f64 = (0..d_ff).map(|j| hidden[j] * mlp.down.weight[[o, j]]).sum();
                assert!(
                    (got[[r, o]] - want).abs() < 1e-12,
                    "[{r}, {o}]: {} vs {want}",
                    got[[r, o]]
                );
            }
        }
    }

    #[test]
    fn mismatched_projections_are_a_shape_error() {
        let mut rng = init::rng(8);
        let gate = Linear::<f32>::random(4, 6, false, 0.1, &mut rng);
        let up = Linear::random(4, 5, false, 0.1, &mut rng);
        let down = Linear::random(6, 4, false, 0.1, &mut rng);
        let err = SwiGlu::new(gate, up, down).unwrap_err();
        assert!(matches!(err, Error::Shape { op: "swiglu", .. }), "{err}");
        let mlp = SwiGlu::<f32>::random(4, 6, 0.1, &mut rng);
        assert!(mlp.forward(Array2::zeros((1, 3)).view()).is_err());
    }
}
