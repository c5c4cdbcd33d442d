//! GELU, in the tanh form GPT-2 was trained with (`gelu_new` in Hugging Face), and in the exact
//! erf form GPT-NeoX (Pythia) uses (`gelu` in Hugging Face, PyTorch's `nn.GELU()`).

use crate::fast_exp::{as_f32_mut, gelu_f32};
use crate::parallel::GELU_MIN_LEN;
use crate::Float;
use ndarray::{ArrayBase, DataMut, Dimension};

// ANCHOR: gelu
/// `gelu(x) = 0.5 x (1 + tanh(u))` with `u = sqrt(2/pi) (x + 0.044715 x^3)`, element-wise, in
/// place. Computed as `x / (1 + exp(-2u))`, the same function (`0.5 (1 + tanh(u)) = sigmoid(2u)`)
/// with one `exp` instead of a `tanh`, which is several times slower in the C library.
pub fn gelu<F: Float, S: DataMut<Elem = F>, D: Dimension>(x: &mut ArrayBase<S, D>) {
    let sqrt_2_over_pi = F::cast((2.0 / std::f64::consts::PI).sqrt());
    let c = F::cast(0.044715);
    let minus_two = F::cast(-2.0);
    let gelu_one = |v: F| v / (F::one() + (minus_two * sqrt_2_over_pi * (v + c * v * v * v)).exp());
    if let Some(x) = x.as_slice_mut().and_then(as_f32_mut) {
        gelu_f32(x); // the same formula in f32 with a SIMD exp (fast_exp.rs)
    } else if x.len() >= GELU_MIN_LEN {
        x.par_mapv_inplace(gelu_one); // a prefill's [T, 4 d_model]: split across cores
    } else {
        x.mapv_inplace(gelu_one);
    }
}
// ANCHOR_END: gelu

// ANCHOR: gelu_erf
/// The exact GELU, `gelu(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))`, element-wise, in place.
/// `erf` is evaluated in f64 (`libm`, a port of the C library's) and rounded to `F`.
pub fn gelu_erf<F: Float, S: DataMut<Elem = F>, D: Dimension>(x: &mut ArrayBase<S, D>) {
    let gelu_one = |v: F| {
        let v = v.as_f64();
        F::cast(0.5 * v * (1.0 + libm::erf(v * std::f64::consts::FRAC_1_SQRT_2)))
    };
    if x.len() >= GELU_MIN_LEN {
        x.par_mapv_inplace(gelu_one);
    } else {
        x.mapv_inplace(gelu_one);
    }
}
// ANCHOR_END: gelu_erf

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

    #[test]
    fn gelu_erf_matches_the_normal_cdf() {
        // Phi(1) = 0.8413447460685429, Phi(-1) = 0.15865525393145707, Phi(2) = 0.9772498680518208
        // (tables of the standard normal distribution), so gelu(x) = x Phi(x).
        let mut x = array![0.0f64, 1.0, -1.0, 2.0, -8.0];
        gelu_erf(&mut x);
        assert_eq!(x[0], 0.0);
        assert!((x[1] - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert!((x[2] + 0.158_655_253_931_457_07).abs() < 1e-15);
        assert!((x[3] - 2.0 * 0.977_249_868_051_820_8).abs() < 1e-15);
        assert!(x[4].abs() < 1e-13);
        // and it is not the tanh form, which is 0.841192 at 1
        assert!((x[1] - 0.841192).abs() > 1e-4);
        let mut long = ndarray::Array1::from_elem(GELU_MIN_LEN + 1, 1.0f32);
        gelu_erf(&mut long);
        assert!(long.iter().all(|&g| (g - 0.841_344_7).abs() < 1e-6));
    }

    #[test]
    fn the_parallel_branch_equals_the_tanh_form_on_1_2_and_8_threads() {
        // GELU_MIN_LEN + 3 elements take the parallel branch; 5 take the serial one. Each
        // element must equal 0.5 x (1 + tanh(u)), the textbook form, whatever the thread count.
        for n_threads in [1, 2, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n_threads).build().unwrap();
            pool.install(|| {
                for len in [5, GELU_MIN_LEN + 3] {
                    let xs = ndarray::Array1::from_shape_fn(len, |i| (i as f64 * 0.37).sin() * 6.0);
                    let mut got = xs.clone();
                    gelu(&mut got);
                    let k = (2.0 / std::f64::consts::PI).sqrt();
                    for (&x, &g) in xs.iter().zip(&got) {
                        let want = 0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh());
                        assert!((g - want).abs() < 1e-13, "len {len}, {n_threads} threads: gelu({x}) = {g}, want {want}");
                    }
                }
            });
        }
    }
}
