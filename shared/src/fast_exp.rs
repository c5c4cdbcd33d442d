//! The fast path of `exp` in f32: softmax over a prefill's scores and GPT-2's GELU.
//!
//! A 512-token prefill of GPT-2 124M takes about 40 million exponentials: 19 million in GELU
//! (`[512, 3072]` per block) and, after the masked triangle is skipped, about as many in
//! attention's softmax. `f32::exp` is a call into the C library, one number at a time, so the
//! loops around it cannot use SIMD. [`exp_f32`] is the same function as plain arithmetic
//! (Cody-Waite range reduction and a degree-6 polynomial, Cephes' `expf`), with no branch and
//! no call, so the compiler turns a loop of them into 8-lane AVX2 code. Its error is within 2
//! units in the last place (the tests check it against f64's `exp`).
//!
//! Only f32 takes this path; f64, which the near-exact proofs use, keeps `exp` from the library
//! (the plain functions [`crate::softmax_rows`] and [`crate::gelu`] are the reference).

use crate::parallel::GELU_MIN_LEN;
use crate::softmax::softmax_inplace;
use crate::Float;
use ndarray::ArrayViewMut2;
use std::any::TypeId;

/// `e^x` in f32 without a branch or a call: within 2 ulp of the exact value for x in
/// [-87, 88]; below that it returns e^-87 (1.6e-38, never a slow subnormal), above it e^88
/// (1.7e38, never infinity); NaN stays NaN.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4; // ln 2 = LN2_HI + LN2_LO, LN2_HI with few bits
    const LN2_LO: f32 = -2.121_944_4e-4;
    const MANTISSA_ONE: f32 = 8_388_608.0; // 2^23: one unit in the last place of this is 1
    let clamped = x.clamp(-87.0, 88.0); // 2^n and the result stay normal f32 numbers
    let n = (clamped * LOG2_E + 0.5).floor(); // x = n ln 2 + r, |r| <= ln 2 / 2
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 0.166_666_65) * r + 0.5;
    let e_r = p * r2 + r + 1.0; // e^r
    // 2^n, built from its exponent bits. n is an integer in [-126, 127], so n + 127 + 2^23 is
    // exact and its low mantissa bits are n + 127: integer arithmetic from there, which
    // vectorises (`n as i32` saturates, and the compiler does that one lane at a time).
    let biased = (n + (MANTISSA_ONE + 127.0)).to_bits().wrapping_sub(MANTISSA_ONE.to_bits()); // n + 127
    let two_n = f32::from_bits(biased << 23);
    let y = e_r * two_n;
    if x.is_nan() { x } else { y }
}

/// `x` as f32 numbers when `F` is f32, else `None` (then the caller runs its generic code).
pub fn as_f32_mut<F: Float>(x: &mut [F]) -> Option<&mut [f32]> {
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        // SAFETY: F is f32 (the same TypeId), so the slice is already a slice of f32.
        Some(unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<f32>(), x.len()) })
    } else {
        None
    }
}

/// Softmax of one row in place, like [`crate::softmax::softmax_inplace`]: the max first, `-inf`
/// (masked) entries exactly 0, the rest `e^(v - max) / sum`. The max and the sum keep 8 partial
/// results (one per lane), which is what lets the compiler use SIMD for them.
#[inline(always)]
fn softmax_row(row: &mut [f32]) {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = if v > *m { v } else { *m };
        }
    }
    let max = chunks.remainder().iter().chain(&lanes).fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    for v in row.iter_mut() {
        *v = if *v == f32::NEG_INFINITY { 0.0 } else { exp_f32(*v - max) };
    }
    let mut lanes = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (s, &e) in lanes.iter_mut().zip(c) {
            *s += e;
        }
    }
    let sum: f32 = lanes.iter().chain(chunks.remainder()).sum();
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// GPT-2's GELU (tanh form) of each number in place, as [`crate::gelu`] computes it:
/// `v / (1 + e^(-2 sqrt(2/pi) (v + 0.044715 v^3)))`.
#[inline(always)]
fn gelu_chunk(x: &mut [f32]) {
    let k = -2.0 * (2.0 / std::f32::consts::PI).sqrt();
    for v in x.iter_mut() {
        *v = *v / (1.0 + exp_f32(k * (*v + 0.044_715 * *v * *v * *v)));
    }
}

/// [`softmax_row`] compiled for AVX2 and FMA (8 lanes).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_row_avx2(row: &mut [f32]) {
    softmax_row(row)
}

/// [`gelu_chunk`] compiled for AVX2 and FMA (8 lanes).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_chunk_avx2(x: &mut [f32]) {
    gelu_chunk(x)
}

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Softmax of one f32 row in place (AVX2 and FMA when the CPU has them).
pub fn softmax_f32(row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { softmax_row_avx2(row) };
    }
    softmax_row(row)
}

/// [`crate::softmax_rows`] with [`softmax_f32`] for the contiguous rows of an f32 matrix.
pub fn softmax_rows_fast<F: Float>(mut x: ArrayViewMut2<F>) {
    for mut row in x.rows_mut() {
        match row.as_slice_mut().and_then(as_f32_mut) {
            Some(row) => softmax_f32(row),
            None => softmax_inplace(row),
        }
    }
}

/// GPT-2's GELU of f32 numbers in place, split across rayon's threads from [`GELU_MIN_LEN`]
/// numbers on, as [`crate::gelu`] does.
pub fn gelu_f32(x: &mut [f32]) {
    use rayon::prelude::*;
    let chunk = |c: &mut [f32]| {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { gelu_chunk_avx2(c) };
        }
        gelu_chunk(c)
    };
    if x.len() >= GELU_MIN_LEN {
        x.par_chunks_mut(GELU_MIN_LEN / 2).for_each(chunk);
    } else {
        chunk(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between an f32 and the exact value (in f64).
    fn ulps(got: f32, exact: f64) -> f64 {
        let e = exact as f32;
        let ulp = (f32::from_bits(e.to_bits() + 1) - e) as f64;
        (got as f64 - exact).abs() / ulp
    }

    #[test]
    fn exp_is_within_2_ulp_of_f64_exp_over_the_normal_range() {
        // 2 million points from -87 to 88: every result a normal f32
        let n = 2_000_000;
        let mut worst = 0.0f64;
        for i in 0..=n {
            let x = -87.0 + 175.0 * i as f32 / n as f32;
            let u = ulps(exp_f32(x), (x as f64).exp());
            worst = worst.max(u);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(f32::NEG_INFINITY) < 2e-38 && exp_f32(-1000.0) >= f32::MIN_POSITIVE);
        assert!(exp_f32(1000.0) > 1e38 && exp_f32(1000.0).is_finite());
    }

    #[test]
    fn softmax_equals_the_f64_definition_and_masked_entries_are_zero() {
        let mut row: Vec<f32> = (0..301).map(|i| ((i as f32) * 0.71).sin() * 9.0).collect();
        row[7] = f32::NEG_INFINITY;
        let x64: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        let max = x64.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = x64.iter().map(|v| (v - max).exp()).sum();
        softmax_f32(&mut row);
        assert_eq!(row[7], 0.0);
        for (&got, &v) in row.iter().zip(&x64) {
            let want = (v - max).exp() / sum;
            // v - max (|.| < 18) is rounded to f32 first: up to 2^-20 absolute, so e^(v - max)
            // moves by up to 2^-20 of itself (8 eps); exp's 2 ulp and the sum add a few more
            assert!((got as f64 - want).abs() <= 16.0 * f32::EPSILON as f64 * want, "{got} vs {want}");
        }
    }

    #[test]
    fn gelu_equals_the_f64_tanh_form_serial_and_split() {
        let k = (2.0 / std::f64::consts::PI).sqrt();
        for len in [5, GELU_MIN_LEN * 3 + 1] {
            let xs: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.37).sin() * 12.0).collect();
            let mut got = xs.clone();
            gelu_f32(&mut got);
            for (&x, &g) in xs.iter().zip(&got) {
                // the same f32 formula with the library's exp: within a few ulp of it
                let plain = x / (1.0 + (-2.0 * (2.0 / std::f32::consts::PI).sqrt() * (x + 0.044_715 * x * x * x)).exp());
                // (where the argument passes 88, exp stops at e^88: x / e^88 < 1e-36 instead of 0)
                assert!((g - plain).abs() <= 4.0 * f32::EPSILON * plain.abs() + 1e-36, "gelu({x}) = {g}, plain f32 {plain}");
                // and the exact value, up to f32's rounding of x's size (the exp's argument
                // reaches ~100 and carries its rounding into tiny outputs: an absolute bound)
                let x = x as f64;
                let want = 0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh());
                assert!((g as f64 - want).abs() <= 8.0 * f32::EPSILON as f64 * x.abs().max(1.0), "gelu({x}) = {g}, want {want}");
            }
        }
    }
}
