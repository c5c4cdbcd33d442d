//! RMSNorm: LayerNorm without the mean and without the bias (Llama, Qwen; "Root Mean Square
//! Layer Normalization", Zhang and Sennrich).
//!
//! Only the scale of each vector is normalised, not its centre: one pass fewer, one parameter
//! vector fewer, and it trains as well. Qwen3 also applies it to each head's queries and keys
//! (`q_norm`, `k_norm`): the same layer with `d = head_dim`, on `[.., head_dim]` lanes.

use ndarray::Array1;
use shared::Float;

// Exercise ch06-1 (the normalisation itself): `--features ex-ch06-1` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch06-1", path = "../exercises/ch06_1_rms_norm.rs")]
mod forward;

/// `y = x / sqrt(mean(x^2) + eps) * weight`, over the last axis.
#[derive(Debug, Clone)]
pub struct RmsNorm<F> {
    pub weight: Array1<F>, // [d]
    pub eps: F,
}

impl<F: Float> RmsNorm<F> {
    /// Weight 1: the pure normalisation (PyTorch's initialisation).
    pub fn new(d: usize, eps: f64) -> Self {
        RmsNorm {
            weight: Array1::ones(d),
            eps: F::cast(eps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2, Array4, Axis};
    use shared::{Error, LayerNorm};

    #[test]
    fn hand_values() {
        // [3, 4]: mean(x^2) = (9 + 16) / 2 = 12.5, rms = sqrt(12.5) = 3.5355339...
        // -> [3, 4] / 3.5355339 = [0.8485281, 1.1313708], times weight [1, 2].
        let mut norm = RmsNorm::<f64>::new(2, 0.0);
        norm.weight = array![1.0, 2.0];
        let y = norm.forward(array![[3.0, 4.0]].view()).unwrap();
        assert!((y[[0, 0]] - 0.848_528_137_423_857).abs() < 1e-12, "{y}");
        assert!(
            (y[[0, 1]] - 2.0 * 1.131_370_849_898_476).abs() < 1e-12,
            "{y}"
        );

        // eps enters under the square root: [1, 1] with eps 1 -> 1 / sqrt(2)
        let y = RmsNorm::<f64>::new(2, 1.0)
            .forward(array![[1.0, 1.0]].view())
            .unwrap();
        assert!((y[[0, 0]] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
    }

    #[test]
    fn scaling_the_input_by_a_positive_constant_changes_nothing() {
        // With eps = 0, x / rms(x) is invariant to x -> c x for c > 0.
        let mut norm = RmsNorm::<f64>::new(4, 0.0);
        norm.weight = array![0.5, -1.0, 2.0, 1.5];
        let x = array![[0.3, -1.2, 2.5, 0.7], [-0.1, 0.4, 0.0, -3.0]];
        let y = norm.forward(x.view()).unwrap();
        for c in [1e-3, 0.5, 7.0, 1e4] {
            let yc = norm.forward((&x * c).view()).unwrap();
            for (a, b) in y.iter().zip(&yc) {
                assert!((a - b).abs() < 1e-12, "c = {c}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn equals_layer_norm_on_zero_mean_input_with_zero_bias() {
        // If mean(x) = 0 then var(x) = mean(x^2): LayerNorm and RMSNorm compute the same thing.
        let weight = array![1.5, -0.5, 2.0, 1.0, 0.25];
        let mut ln = LayerNorm::<f64>::new(5, 1e-5);
        ln.weight = weight.clone();
        let mut rms = RmsNorm::<f64>::new(5, 1e-5);
        rms.weight = weight;
        let raw = array![[0.3, -1.2, 2.5, 0.7, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0]];
        let x: Array2<f64> = &raw - &raw.mean_axis(Axis(1)).unwrap().insert_axis(Axis(1));
        let want = ln.forward(x.view());
        let got = rms.forward(x.view()).unwrap();
        for (a, b) in want.iter().zip(&got) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // and on input that is not centred they differ: the test can fail
        let ln_raw = ln.forward(raw.view());
        let rms_raw = rms.forward(raw.view()).unwrap();
        assert!(ln_raw
            .iter()
            .zip(&rms_raw)
            .any(|(a, b)| (a - b).abs() > 1e-3));
    }

    #[test]
    fn per_head_use_normalises_each_head_dim_lane() {
        // Qwen3's q/k norm: [batch, heads, seq, head_dim], each lane on its own.
        let norm = RmsNorm::<f64>::new(2, 0.0);
        let x = Array4::from_shape_vec((1, 2, 1, 2), vec![3.0, 4.0, 0.0, -2.0]).unwrap();
        let y = norm.forward(x.view()).unwrap();
        let s = 12.5f64.sqrt();
        assert!((y[[0, 0, 0, 0]] - 3.0 / s).abs() < 1e-15);
        assert!((y[[0, 0, 0, 1]] - 4.0 / s).abs() < 1e-15);
        assert!(y[[0, 1, 0, 0]].abs() < 1e-15);
        assert!((y[[0, 1, 0, 1]] + std::f64::consts::SQRT_2).abs() < 1e-15); // -2 / sqrt(2)
    }

    #[test]
    fn a_wrong_last_axis_is_a_shape_error() {
        let norm = RmsNorm::<f32>::new(3, 1e-6);
        let err = norm.forward(array![[1.0f32, 2.0]].view()).unwrap_err();
        assert!(matches!(err, Error::Shape { op: "rms_norm", .. }), "{err}");
    }
}
