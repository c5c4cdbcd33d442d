//! Decode's matrix x vector for 16-bit weights: `y = W x` with `W` a [`HalfMatrix`] (bf16 or
//! f16, `[out, in]`) and `x`, `y` in f32, the weights widened to f32 inside the dot product.
//!
//! Decode at batch 1 is bound by memory: each token streams every weight once (see
//! [`gemv`](crate::gemv::gemv)). Weights kept in 16 bits stream half the bytes of f32, so the
//! same memory delivers up to twice the tokens. The arithmetic stays f32: each weight is
//! widened in a register, exactly (every bf16 and f16 is an f32), and multiplied and summed as
//! the f32 kernel does. The only difference from running the f32 path on the widened matrix is
//! the order of the additions, so the result agrees with it within f32 rounding.
//!
//! The widening, eight weights per AVX2 instruction sequence:
//! - **bf16** is the top half of an f32: zero-extend each 16-bit pattern to 32 bits
//!   (`vpmovzxwd`), shift it left by 16 (`vpslld`), and read the register as eight f32.
//! - **f16** has its own exponent width: the F16C instruction `vcvtph2ps` converts eight at once.
//!
//! The kernel is chosen once, at the first call, for the CPU it runs on; a portable version
//! (the same sixteen-lane sum as [`dot`](crate::gemv::dot)) runs elsewhere.

use crate::gemv::{pairwise_sum, rows_per_task, LANES};
#[cfg(target_arch = "x86_64")]
use crate::gemv::{add_halves, sum_lanes_avx};
#[cfg(target_arch = "x86_64")]
use crate::prefetch::prefetch_ahead;
use crate::half_matrix::{widen_bf16, HalfFormat, HalfMatrix};
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1};
use rayon::prelude::*;
use crate::simd_tier::{simd_tier, SimdTier};

/// A dot product of a row of 16-bit weights with an f32 vector: `sum_i widen(w[i]) * x[i]`.
pub type HalfDot = fn(&[u16], &[f32]) -> f32;

// ANCHOR: gemv_half
/// `y = W x` for `W: [out, in]` in 16 bits, `x: [in]`, `y: [out]` (f32); the rows of `W` split
/// across rayon's threads as [`gemv`](crate::gemv::gemv) splits them.
pub fn gemv_half(w: &HalfMatrix, x: ArrayView1<f32>, mut y: ArrayViewMut1<f32>) {
    assert_eq!(w.ncols(), x.len(), "gemv_half: W is [out, in], x must be [in]");
    assert_eq!(w.nrows(), y.len(), "gemv_half: y must be [out]");
    let x = x.as_standard_layout();
    let x = x.as_slice().expect("standard layout");
    let y = y.as_slice_mut().expect("y must be contiguous");
    let dot = half_dot_kernel(w.format()); // widens inside: AVX2 (+F16C) where the CPU has it
    let rows_per_task = rows_per_task(y.len()); // about 64, as many on every core
    y.par_chunks_mut(rows_per_task)
        .enumerate()
        .for_each(|(chunk, ys)| {
            let first_row = chunk * rows_per_task;
            for (r, yr) in ys.iter_mut().enumerate() {
                *yr = dot(w.row(first_row + r), x); // 2 bytes a weight from memory
            }
        });
}
// ANCHOR_END: gemv_half

/// `x W^T` for a few rows: x `[n, in]`, W `[out, in]` in 16 bits -> `[n, out]` (a batch's
/// decode step): each row of `W` is read from memory once and dotted with all `n` rows of `x`
/// while it sits in the core's cache.
pub fn gemv_half_rows(x: ArrayView2<f32>, w: &HalfMatrix) -> Array2<f32> {
    let (n, n_in) = x.dim();
    let n_out = w.nrows();
    assert_eq!(w.ncols(), n_in, "gemv_half_rows: x is [n, in], W must be [out, in]");
    let x = x.as_standard_layout();
    let x = x.as_slice().expect("standard layout");
    let mut y_t = vec![0f32; n_out * n]; // [out, n]: each task writes whole rows
    if n > 0 {
        let dot = half_dot_kernel(w.format());
        let rows_per_task = rows_per_task(n_out);
        y_t.par_chunks_mut(rows_per_task * n).enumerate().for_each(|(chunk, ys)| {
            let first_row = chunk * rows_per_task;
            for (r, y_row) in ys.chunks_mut(n).enumerate() {
                let w_row = w.row(first_row + r); // read from memory once...
                for (b, y) in y_row.iter_mut().enumerate() {
                    *y = dot(w_row, &x[b * n_in..(b + 1) * n_in]); // ...then used n times from cache
                }
            }
        });
    }
    let y_t = Array2::from_shape_vec((n_out, n), y_t).expect("n_out * n values");
    y_t.reversed_axes().as_standard_layout().into_owned() // [n, out]
}

/// The dot product [`gemv_half`] runs for `format`: the one of this CPU's SIMD tier
/// ([`simd_tier`]: AVX-512, AVX2 or portable). The two x86 tiers return the same bits.
pub fn half_dot_kernel(format: HalfFormat) -> HalfDot {
    let prefetch = crate::prefetch::prefetch(); // ask for weights 4 KiB ahead (Intel)
    match (simd_tier(), format, prefetch) {
        (SimdTier::Avx512, HalfFormat::Bf16, false) => bf16_avx512::<false>,
        (SimdTier::Avx512, HalfFormat::Bf16, true) => bf16_avx512::<true>,
        (SimdTier::Avx512, HalfFormat::F16, false) => f16_avx512::<false>,
        (SimdTier::Avx512, HalfFormat::F16, true) => f16_avx512::<true>,
        (SimdTier::Avx2, HalfFormat::Bf16, false) => bf16_avx2::<false>,
        (SimdTier::Avx2, HalfFormat::Bf16, true) => bf16_avx2::<true>,
        (SimdTier::Avx2, HalfFormat::F16, false) => f16_avx2::<false>,
        (SimdTier::Avx2, HalfFormat::F16, true) => f16_avx2::<true>,
        (SimdTier::Portable, HalfFormat::Bf16, _) => dot_bf16_portable,
        (SimdTier::Portable, HalfFormat::F16, _) => dot_f16_portable,
    }
}

/// The name of the kernel [`half_dot_kernel`] runs for `format` on this CPU (`"avx512"`,
/// `"avx2"`, `"avx2+f16c"` or `"portable"`), for reports such as the bench tool's `kernels`.
pub fn half_dot_kernel_name(format: HalfFormat) -> &'static str {
    match (simd_tier(), format) {
        (SimdTier::Avx2, HalfFormat::F16) => "avx2+f16c",
        (tier, _) => tier.name(),
    }
}

/// `sum_i widen(w[i]) * x[i]` with [`LANES`] independent partial sums, grouped exactly as
/// [`dot`](crate::gemv::dot) groups them: on the same CPU tier, the f32 path on the widened
/// row gives the same bits.
#[inline(always)]
fn dot_widening(w: &[u16], x: &[f32], widen: impl Fn(u16) -> f32) -> f32 {
    assert_eq!(w.len(), x.len());
    let mut acc = [0f32; LANES];
    let (chunks_w, chunks_x) = (w.chunks_exact(LANES), x.chunks_exact(LANES));
    let (rest_w, rest_x) = (chunks_w.remainder(), chunks_x.remainder());
    for (cw, cx) in chunks_w.zip(chunks_x) {
        for k in 0..LANES {
            acc[k] += widen(cw[k]) * cx[k];
        }
    }
    let mut tail = 0f32;
    for (&b, &v) in rest_w.iter().zip(rest_x) {
        tail += widen(b) * v;
    }
    pairwise_sum(&acc) + tail
}

/// The portable bf16 dot product (the shift is plain integer code, which the compiler
/// vectorises for whatever SIMD the build targets).
fn dot_bf16_portable(w: &[u16], x: &[f32]) -> f32 {
    dot_widening(w, x, widen_bf16)
}

/// The portable f16 dot product (the `half` crate's conversion, one number at a time).
fn dot_f16_portable(w: &[u16], x: &[f32]) -> f32 {
    dot_widening(w, x, |b| HalfFormat::F16.widen(b))
}

/// [`dot_bf16_avx2`] behind a plain function pointer; chosen only where the AVX2 tier was
/// detected.
fn bf16_avx2<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `half_dot_kernel` hands out this function only on the AVX2 tier or above.
        unsafe { dot_bf16_avx2::<PREFETCH>(w, x) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    dot_bf16_portable(w, x)
}

/// [`dot_f16_avx2`] behind a plain function pointer; chosen only where the AVX2 tier (which
/// includes F16C) was detected.
fn f16_avx2<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `half_dot_kernel` hands out this function only on the AVX2 tier (AVX2 and F16C).
        unsafe { dot_f16_avx2::<PREFETCH>(w, x) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    dot_f16_portable(w, x)
}

// ANCHOR: widen8
/// Eight bf16 at `p` as eight f32: zero-extend each to 32 bits, then shift it into the top half.
///
/// # Safety
/// The CPU must support AVX2, and `p` must point to eight readable u16.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn widen8_bf16(p: *const u16) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's promise (an unaligned 16-byte load)
    let bits16 = unsafe { _mm_loadu_si128(p as *const __m128i) }; // 8 x u16
    let bits32 = _mm256_cvtepu16_epi32(bits16); // 8 x u32, the top halves zero
    _mm256_castsi256_ps(_mm256_slli_epi32::<16>(bits32)) // 8 x f32: same bits, read as floats
}

/// Eight f16 at `p` as eight f32 (F16C's `vcvtph2ps`).
///
/// # Safety
/// The CPU must support F16C, and `p` must point to eight readable u16.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn widen8_f16(p: *const u16) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's promise (an unaligned 16-byte load)
    let bits16 = unsafe { _mm_loadu_si128(p as *const __m128i) };
    _mm256_cvtph_ps(bits16)
}
// ANCHOR_END: widen8

/// `sum_i widen(w[i]) * x[i]` in four 8-lane AVX2 registers, the weights widened by
/// [`widen8_bf16`] (`BF16`) or [`widen8_f16`]; the sums are grouped as in gemv's f32 AVX2 kernel.
///
/// # Safety
/// The CPU must support AVX2, and F16C unless `BF16`. Only inlined into functions enabling them.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dot_half_avx2<const BF16: bool, const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    assert_eq!(w.len(), x.len());
    let format = if BF16 { HalfFormat::Bf16 } else { HalfFormat::F16 };
    let whole = w.len() / 32 * 32;
    let (pw, px) = (w.as_ptr(), x.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < whole {
        if PREFETCH {
            prefetch_ahead(pw.wrapping_add(i)); // this step's cache line of weights, 4 KiB on
        }
        for (k, acc_k) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8k + 8 <= whole <= len of w and x; the features are the caller's promise
            let (wide, xs) = unsafe {
                let p = pw.add(i + 8 * k);
                (if BF16 { widen8_bf16(p) } else { widen8_f16(p) }, _mm256_loadu_ps(px.add(i + 8 * k)))
            };
            *acc_k = _mm256_add_ps(*acc_k, _mm256_mul_ps(wide, xs)); // unfused: FMA was measured in the f32 kernel only
        }
        i += 32;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut total = sum_lanes_avx(sum);
    for j in whole..w.len() {
        total += format.widen(w[j]) * x[j];
    }
    total
}

/// The bf16 dot product in AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_bf16_avx2<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    // SAFETY: AVX2 is enabled here, and the caller promises the CPU has it
    unsafe { dot_half_avx2::<true, PREFETCH>(w, x) }
}

/// The f16 dot product in AVX2 and F16C.
///
/// # Safety
/// The CPU must support AVX2 and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,f16c")]
unsafe fn dot_f16_avx2<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    // SAFETY: AVX2 and F16C are enabled here, and the caller promises the CPU has them
    unsafe { dot_half_avx2::<false, PREFETCH>(w, x) }
}

/// [`dot_half_avx512`] for bf16 behind a plain function pointer; chosen only on the AVX-512
/// tier.
fn bf16_avx512<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `half_dot_kernel` hands out this function only when the CPU has AVX-512F.
        unsafe { dot_bf16_avx512::<PREFETCH>(w, x) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    dot_bf16_portable(w, x)
}

/// [`dot_half_avx512`] for f16 behind a plain function pointer; chosen only on the AVX-512
/// tier.
fn f16_avx512<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `half_dot_kernel` hands out this function only when the CPU has AVX-512F.
        unsafe { dot_f16_avx512::<PREFETCH>(w, x) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    dot_f16_portable(w, x)
}

/// Sixteen bf16 at `p` as sixteen f32, as [`widen8_bf16`] widens eight.
///
/// # Safety
/// The CPU must support AVX-512F, and `p` must point to sixteen readable u16.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn widen16_bf16(p: *const u16) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's promise (an unaligned 32-byte load)
    let bits16 = unsafe { _mm256_loadu_si256(p as *const __m256i) }; // 16 x u16
    let bits32 = _mm512_cvtepu16_epi32(bits16); // 16 x u32, the top halves zero
    _mm512_castsi512_ps(_mm512_slli_epi32::<16>(bits32))
}

/// Sixteen f16 at `p` as sixteen f32 (AVX-512F's `vcvtph2ps`).
///
/// # Safety
/// The CPU must support AVX-512F, and `p` must point to sixteen readable u16.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn widen16_f16(p: *const u16) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's promise (an unaligned 32-byte load)
    let bits16 = unsafe { _mm256_loadu_si256(p as *const __m256i) };
    _mm512_cvtph_ps(bits16)
}

/// [`dot_half_avx2`] in two 16-lane registers, grouped as the f32 AVX-512 kernel groups its
/// sums: the same bits as the AVX2 kernel. `PREFETCH` asks for the weights 4 KiB ahead
/// ([`crate::prefetch`]), which changes no result.
///
/// # Safety
/// The CPU must support AVX-512F. Only inlined into functions enabling it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dot_half_avx512<const BF16: bool, const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    assert_eq!(w.len(), x.len());
    let format = if BF16 { HalfFormat::Bf16 } else { HalfFormat::F16 };
    let whole = w.len() / 32 * 32;
    let (pw, px) = (w.as_ptr(), x.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 2];
    let mut i = 0;
    while i < whole {
        if PREFETCH {
            prefetch_ahead(pw.wrapping_add(i));
        }
        for (k, acc_k) in acc.iter_mut().enumerate() {
            // SAFETY: i + 16k + 16 <= whole <= len of w and x; AVX-512F is the caller's promise
            let (wide, xs) = unsafe {
                let p = pw.add(i + 16 * k);
                (if BF16 { widen16_bf16(p) } else { widen16_f16(p) }, _mm512_loadu_ps(px.add(i + 16 * k)))
            };
            *acc_k = _mm512_add_ps(*acc_k, _mm512_mul_ps(wide, xs)); // unfused, as in the AVX2 kernel
        }
        i += 32;
    }
    // SAFETY: AVX-512F is the caller's promise
    let sum = unsafe { _mm256_add_ps(add_halves(acc[0]), add_halves(acc[1])) };
    let mut total = sum_lanes_avx(sum);
    for j in whole..w.len() {
        total += format.widen(w[j]) * x[j];
    }
    total
}

/// The bf16 dot product in AVX-512.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_bf16_avx512<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    // SAFETY: AVX-512F is enabled here, and the caller promises the CPU has it
    unsafe { dot_half_avx512::<true, PREFETCH>(w, x) }
}

/// The f16 dot product in AVX-512.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_f16_avx512<const PREFETCH: bool>(w: &[u16], x: &[f32]) -> f32 {
    // SAFETY: AVX-512F is enabled here, and the caller promises the CPU has it
    unsafe { dot_half_avx512::<false, PREFETCH>(w, x) }
}

#[cfg(test)]
mod tests;
