//! The fast path of decode: matrix x vector, in parallel, streaming the weight once.
//!
//! Generating one token at batch 1 multiplies every weight matrix by one vector. ndarray's
//! `dot` does that with a single-threaded row loop; here the rows of `W` (`[out, in]`, row
//! major, so each row is contiguous memory) are split across rayon's threads and each row is
//! reduced with sixteen independent accumulators ([`LANES`]), which the compiler turns into SIMD
//! code; for f32 on a CPU with AVX2, [`dot_kernel`] picks a hand-written version instead.
//! The whole weight is read exactly once per call: decode speed is then set by memory
//! bandwidth, which is the limit the performance chapter measures against.

use crate::Float;
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};
use rayon::prelude::*;
use crate::simd_tier::{simd_tier, SimdTier};
#[cfg(target_arch = "x86_64")]
use crate::prefetch::prefetch_ahead;
use std::any::Any;

/// About how many rows one rayon task takes: large enough to amortise scheduling, small enough
/// to balance ([`rows_per_task`] evens them out).
const ROWS_PER_TASK: usize = 64;

/// Rows per task for a product of `rows` rows: about [`ROWS_PER_TASK`], in a number of tasks
/// that is a multiple of the thread count, so every core streams the same share of `W`. With 64
/// rows a task, SmolLM2's 576-row matrices made 9 tasks, 5 on one core and 4 on the other, which
/// waited a ninth of the product (cached decode of its shape: 80-93% of the roofline, median
/// 87.5%, against 89-94%, median 90.5%, evened out; 4 runs each, interleaved, AMD EPYC).
pub(crate) fn rows_per_task(rows: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let tasks = rows.div_ceil(ROWS_PER_TASK).div_ceil(threads) * threads;
    rows.div_ceil(tasks.max(1)).max(1)
}

// ANCHOR: dot
/// Independent partial sums in [`dot`]: enough additions in flight that the loop waits for
/// memory, not for the latency of the previous addition (16 lanes = four SSE registers of f32;
/// with 8, one core tops out near 40 GB/s, below what two cores can stream on a quiet machine).
pub(crate) const LANES: usize = 16;

/// `sum_i a[i] * b[i]` with [`LANES`] independent partial sums (vectorisable, and a fixed
/// order, so the result is the same on every run).
#[inline(always)] // also into attention's AVX2 build of its per-key loop
pub fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [F::zero(); LANES];
    let chunks_a = a.chunks_exact(LANES);
    let chunks_b = b.chunks_exact(LANES);
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for k in 0..LANES {
            acc[k] = acc[k] + ca[k] * cb[k];
        }
    }
    let mut tail = F::zero();
    for (&x, &y) in rest_a.iter().zip(rest_b) {
        tail = tail + x * y;
    }
    pairwise_sum(&acc) + tail
}

/// `(a0 + a8) + (a4 + a12) + ...`: the lanes summed as a balanced tree.
#[inline(always)]
pub(crate) fn pairwise_sum<F: Float>(acc: &[F; LANES]) -> F {
    let mut width = LANES;
    let mut v = *acc;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            v[k] = v[k] + v[k + width];
        }
    }
    v[0]
}
// ANCHOR_END: dot

// ANCHOR: gemv
/// `y = W x` for `W: [out, in]` (standard layout), `x: [in]`, `y: [out]`.
pub fn gemv<F: Float>(w: ArrayView2<F>, x: ArrayView1<F>, mut y: ArrayViewMut1<F>) {
    assert_eq!(w.ncols(), x.len(), "gemv: W is [out, in], x must be [in]");
    assert_eq!(w.nrows(), y.len(), "gemv: y must be [out]");
    let x = x.as_standard_layout();
    let x = x.as_slice().expect("standard layout");
    let w = w.as_standard_layout();
    let w = w.as_slice().expect("standard layout");
    let n_in = x.len();
    let y = y.as_slice_mut().expect("y must be contiguous");
    let dot = dot_kernel::<F>(); // `dot` below, or a CPU-specific version of it (f32 with AVX2)
    let rows_per_task = rows_per_task(y.len()); // about 64, as many on every core
    y.par_chunks_mut(rows_per_task)
        .enumerate()
        .for_each(|(chunk, ys)| {
            let first_row = chunk * rows_per_task;
            for (r, yr) in ys.iter_mut().enumerate() {
                let row = &w[(first_row + r) * n_in..(first_row + r + 1) * n_in];
                *yr = dot(row, x);
            }
        });
}
// ANCHOR_END: gemv

/// The dot product [`gemv`] runs for `F`. For f32: the one of this CPU's SIMD tier
/// ([`simd_tier`]: AVX-512, AVX2 or portable, detected at the first call). With AVX2,
/// [`dot_f32_avx2`] takes eight lanes per instruction instead of four, so one core keeps up with
/// memory in the minutes the machine streams 70-80 GB/s (GPT-2 124M cached decode ran 94-113
/// tokens/s against 88-99 in interleaved runs); with AVX-512, [`dot_f32_avx512`] takes sixteen
/// and returns the same bits as the AVX2 kernel. Their sums are grouped differently from
/// [`dot`]'s and each multiply-add is rounded once (fused), so f32 results can differ in the last
/// bits on a machine without AVX2. For f64,
/// which the exact proofs use: always the portable [`dot`].
///
/// The choice lives here, with the kernels, rather than on the [`Float`] trait: which kernel a
/// CPU runs is not a property of the number type.
pub fn dot_kernel<F: Float>() -> fn(&[F], &[F]) -> F {
    let f32_dot = f32_dot_for(simd_tier(), crate::prefetch::prefetch());
    let f32_dot: &dyn Any = &f32_dot;
    match f32_dot.downcast_ref::<fn(&[F], &[F]) -> F>() {
        Some(&kernel) => kernel, // F is f32
        None => dot::<F>,        // F is f64
    }
}

/// The name of the f32 dot product [`dot_kernel`] runs on this CPU (`"avx512"`, `"avx2"` or
/// `"portable"`), for reports such as the bench tool's `kernels`.
pub fn f32_dot_kernel_name() -> &'static str {
    simd_tier().name()
}

/// The f32 dot product of `tier`, prefetching ahead or not ([`crate::prefetch`]).
/// [`simd_tier`] only returns tiers the CPU has.
fn f32_dot_for(tier: SimdTier, prefetch: bool) -> fn(&[f32], &[f32]) -> f32 {
    match (tier, prefetch) {
        // SAFETY (all four): the CPU supports the tier's features: `simd_tier` detected them
        // (AVX-512F for the first two; AVX2 and FMA for the next two).
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx512, false) => |a, b| unsafe { dot_f32_avx512::<false>(a, b) },
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx512, true) => |a, b| unsafe { dot_f32_avx512::<true>(a, b) },
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx2, false) => |a, b| unsafe { dot_f32_avx2::<false>(a, b) },
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx2, true) => |a, b| unsafe { dot_f32_avx2::<true>(a, b) },
        _ => dot::<f32>,
    }
}

// ANCHOR: dot_f32_avx2
/// `sum_i a[i] * b[i]` in four 8-lane AVX2 registers (32 independent partial sums), each step
/// a fused multiply-add: one rounding instead of two, and fewer instructions per byte of weights
/// (on 2 threads of a Zen 4 EPYC: `gemv` alone 1.00-1.13x in 5 sets of 9-11 interleaved rounds;
/// GPT-2 124M cached decode 1.03-1.09x, as the performance page of the book measures it).
///
/// With `PREFETCH`, each step also asks for the weights 4 KiB ahead of `a` ([`crate::prefetch`]):
/// the same result, sooner on CPUs whose prefetchers stop at each 4 KiB.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_f32_avx2<const PREFETCH: bool>(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    assert_eq!(a.len(), b.len());
    let whole = a.len() / 32 * 32;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < whole {
        if PREFETCH {
            // this step's two cache lines of `a`, 4 KiB on
            prefetch_ahead(pa.wrapping_add(i));
            prefetch_ahead(pa.wrapping_add(i + 16));
        }
        for (k, acc_k) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8k + 8 <= whole <= len of a and b (unaligned loads)
            let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i + 8 * k)), _mm256_loadu_ps(pb.add(i + 8 * k))) };
            *acc_k = _mm256_fmadd_ps(x, y, *acc_k);
        }
        i += 32;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut total = sum_lanes_avx(sum);
    for j in whole..a.len() {
        total += a[j] * b[j];
    }
    total
}
// ANCHOR_END: dot_f32_avx2

/// The eight lanes of `sum` added as a balanced tree, `((l0 + l4) + (l1 + l5)) + ((l2 + l6) +
/// (l3 + l7))`: how every AVX2 and AVX-512 dot product of decode ends.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(crate) fn sum_lanes_avx(sum: std::arch::x86_64::__m256) -> f32 {
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds 8 f32
    unsafe { std::arch::x86_64::_mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
}

/// [`dot_f32_avx2`] in two 16-lane AVX-512 registers: the first holds the AVX2 kernel's first
/// two accumulators side by side, the second its last two. Each lane sees the same products
/// added in the same order, and the halves are added as the AVX2 kernel adds its registers, so
/// the result is the same bits with half the instructions.
///
/// `PREFETCH` as in [`dot_f32_avx2`].
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_f32_avx512<const PREFETCH: bool>(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    assert_eq!(a.len(), b.len());
    let whole = a.len() / 32 * 32;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 2];
    let mut i = 0;
    while i < whole {
        if PREFETCH {
            prefetch_ahead(pa.wrapping_add(i));
            prefetch_ahead(pa.wrapping_add(i + 16));
        }
        for (k, acc_k) in acc.iter_mut().enumerate() {
            // SAFETY: i + 16k + 16 <= whole <= len of a and b (unaligned loads)
            let (x, y) = unsafe { (_mm512_loadu_ps(pa.add(i + 16 * k)), _mm512_loadu_ps(pb.add(i + 16 * k))) };
            *acc_k = _mm512_fmadd_ps(x, y, *acc_k); // as in the AVX2 kernel
        }
        i += 32;
    }
    // (acc0 + acc1) + (acc2 + acc3) of the AVX2 kernel
    let sum = _mm256_add_ps(add_halves(acc[0]), add_halves(acc[1]));
    let mut total = sum_lanes_avx(sum);
    for j in whole..a.len() {
        total += a[j] * b[j];
    }
    total
}

/// The low eight lanes of `v` plus its high eight.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) fn add_halves(v: std::arch::x86_64::__m512) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let low = _mm512_castps512_ps256(v);
    let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    _mm256_add_ps(low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    /// Small integers: every partial sum is exact, so any grouping gives the exact result.
    fn integer_vectors(len: usize) -> (Vec<f32>, Vec<f32>) {
        let a = (0..len).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let b = (0..len).map(|i| ((i * 3) % 5) as f32 - 2.0).collect();
        (a, b)
    }

    /// Lengths around LANES (16) and the AVX2 kernel's 32-wide step, and GPT-2's widths.
    const LENGTHS: [usize; 12] = [0, 1, 7, 15, 16, 17, 31, 32, 33, 100, 768, 771];

    #[test]
    fn portable_dot_and_this_cpus_kernel_compute_the_dot_product() {
        for len in LENGTHS {
            let (a, b) = integer_vectors(len);
            let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert_eq!(dot(&a, &b), exact, "portable f32, length {len}");
            assert_eq!(dot_kernel::<f32>()(&a, &b), exact, "this CPU's f32 kernel, length {len}");
            let (a64, b64): (Vec<f64>, Vec<f64>) = (a.iter().map(|&x| x as f64).collect(), b.iter().map(|&x| x as f64).collect());
            assert_eq!(dot_kernel::<f64>()(&a64, &b64), exact as f64, "f64 kernel, length {len}");
        }
        // rounding values: within f32 rounding of the f64 sum (n eps sum|a b|, n = 771)
        let a: Vec<f32> = (0..771).map(|i| ((i as f32) * 0.37).sin()).collect();
        let b: Vec<f32> = (0..771).map(|i| ((i as f32) * 0.11).cos()).collect();
        let exact: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
        let magnitude: f64 = a.iter().zip(&b).map(|(&x, &y)| (x as f64 * y as f64).abs()).sum();
        let bound = 771.0 * f32::EPSILON as f64 * magnitude;
        assert!((dot(&a, &b) as f64 - exact).abs() <= bound);
        assert!((dot_kernel::<f32>()(&a, &b) as f64 - exact).abs() <= bound);
    }

    /// The AVX2 kernel itself, whichever kernel `dot_kernel` chose. On a CPU without AVX2 there
    /// is nothing to run: the test says so on stderr and passes.
    #[test]
    fn avx2_dot_computes_the_dot_product() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            for len in LENGTHS {
                let (a, b) = integer_vectors(len);
                let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                // SAFETY: AVX2 and FMA checked just above
                let (plain, prefetching) = unsafe { (dot_f32_avx2::<false>(&a, &b), dot_f32_avx2::<true>(&a, &b)) };
                assert_eq!(plain, exact, "length {len}");
                assert_eq!(prefetching, exact, "length {len}, prefetching");
            }
            return;
        }
        eprintln!("this CPU has no AVX2 with FMA: dot_f32_avx2 not run");
    }

    /// The AVX-512 kernel returns the AVX2 kernel's bits, on rounding values of every length
    /// around its 32-wide step. On a CPU without AVX-512F it cannot run: the test says so on
    /// stderr and passes.
    #[test]
    fn avx512_dot_equals_the_avx2_dot_bit_for_bit() {
        #[cfg(target_arch = "x86_64")]
        if crate::simd_tier::best_simd_tier() == SimdTier::Avx512 {
            for len in (0..100).chain([767, 768, 769, 3072, 3073]) {
                let a: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
                let b: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.11).cos() + 0.01).collect();
                // SAFETY: the AVX-512 tier (AVX-512F, AVX2 and FMA) checked just above
                let (wide, narrow) = unsafe { (dot_f32_avx512::<false>(&a, &b), dot_f32_avx2::<false>(&a, &b)) };
                assert_eq!(wide.to_bits(), narrow.to_bits(), "length {len}: {wide} vs {narrow}");
                // SAFETY: as above
                let (wide_prefetching, narrow_prefetching) = unsafe { (dot_f32_avx512::<true>(&a, &b), dot_f32_avx2::<true>(&a, &b)) };
                assert_eq!(wide_prefetching.to_bits(), narrow.to_bits(), "length {len}, AVX-512 prefetching");
                assert_eq!(narrow_prefetching.to_bits(), narrow.to_bits(), "length {len}, AVX2 prefetching");
                let (a, b) = integer_vectors(len);
                let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                // SAFETY: as above
                assert_eq!(unsafe { dot_f32_avx512::<false>(&a, &b) }, exact, "length {len}");
            }
            return;
        }
        eprintln!("this CPU has no AVX-512F: dot_f32_avx512 not run");
    }

    /// `gemv` against the sum written out, in pools of 1, 2 and 8 threads: one row block
    /// (out < ROWS_PER_TASK) and several (131 rows, tasks of unequal size), f64 and f32.
    #[test]
    fn gemv_equals_naive_sum_on_1_2_and_8_threads() -> Result<(), rayon::ThreadPoolBuildError> {
        for threads in [1, 2, 8] {
            for (out, n_in) in [(5, 37), (131, 37)] {
                // small integers times halves: exact in f32 and f64, whatever the order
                let w = Array2::from_shape_fn((out, n_in), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
                let x = Array1::from_shape_fn(n_in, |j| (j % 5) as f64 * 0.5 - 1.0);
                let naive = Array1::from_shape_fn(out, |i| (0..n_in).map(|j| w[[i, j]] * x[j]).sum::<f64>());
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
                let mut y = Array1::zeros(out);
                pool.install(|| gemv(w.view(), x.view(), y.view_mut()));
                assert_eq!(y, naive, "f64, {threads} threads, out {out}");
                let (w32, x32) = (w.mapv(|v| v as f32), x.mapv(|v| v as f32));
                let mut y32 = Array1::zeros(out);
                pool.install(|| gemv(w32.view(), x32.view(), y32.view_mut()));
                assert_eq!(y32, naive.mapv(|v| v as f32), "f32, {threads} threads, out {out}");
            }
        }
        Ok(())
    }
}
