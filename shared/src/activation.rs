//! GELU, in the tanh form GPT-2 was trained with (`gelu_new` in Hugging Face).

use crate::Float;
use ndarray::{ArrayBase, DataMut, Dimension};

// ANCHOR: gelu
/// `gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`, element-wise, in place.
pub fn gelu<F: Float, S: DataMut<Elem = F>, D: Dimension>(x: &mut ArrayBase<S, D>) {
    let sqrt_2_over_pi = F::cast((2.0 / std::f64::consts::PI).sqrt());
    let c = F::cast(0.044715);
    let half = F::cast(0.5);
    x.mapv_inplace(|v| half * v * (F::one() + (sqrt_2_over_pi * (v + c * v * v * v)).tanh()));
}
// ANCHOR_END: gelu

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gelu_matches_hand_values() {
        // gelu(0) = 0; gelu(1) = 0.5 (1 + tanh(0.797885 * 1.044715)) = 0.841192 (by hand);
        // for large |x| it tends to relu.
        let mut x = array![0.0f64, 1.0, -1.0, 10.0, -10.0];
        gelu(&mut x);
        let inner = (2.0 / std::f64::consts::PI).sqrt() * (1.0 + 0.044715);
        let g1 = 0.5 * (1.0 + inner.tanh());
        assert_eq!(x[0], 0.0);
        assert!((x[1] - g1).abs() < 1e-15);
        assert!((x[1] - 0.841192).abs() < 1e-6);
        assert!((x[2] + (1.0 - g1)).abs() < 1e-15, "gelu(-x) = -x + gelu(x)");
        assert!((x[3] - 10.0).abs() < 1e-12);
        assert!(x[4].abs() < 1e-12);
    }
}
