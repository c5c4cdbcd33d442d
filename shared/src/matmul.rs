//! The fast path of prefill: matrix x matrix on every core.
//!
//! A prefill multiplies the activations of all `n` prompt tokens, `x: [n, in]`, by each
//! weight `W: [out, in]`. Every weight is reused `n` times, so this is limited by arithmetic,
//! not memory. This module adds the parallelism: the rows of `W` (the output features) are
//! split into one block per rayon thread, and each thread multiplies all of `x` by its block.
//! Each thread reads only its part of the weights, which matters when `n` is small (an uncached
//! step over a short sequence is nearly as memory-bound as decode). Everything parallel in the
//! workspace then runs on rayon's threads, so attention's per-head tasks never compete with a
//! second thread pool inside the matrix multiply.
//!
//! The arithmetic inside a block is a [`GemmKernel`]: `matrixmultiply`'s sgemm/dgemm (what
//! ndarray's `dot` calls, with packing and SIMD) or the `gemm` crate's (the one candle uses),
//! each single-threaded inside its rayon task. f32 takes the one chosen for this CPU
//! ([`f32_gemm_kernel`]); f64, which the near-exact proofs use, always `matrixmultiply`.

use crate::parallel::{MATMUL_MIN_FEATURES_PER_THREAD, MATMUL_MIN_WORK};
use crate::Float;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use std::ops::Range;
use rayon::prelude::*;
use std::any::TypeId;
use std::sync::atomic::{AtomicU8, Ordering};

/// The matrix-multiply kernel that runs inside each block of [`matmul_t`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GemmKernel {
    /// `matrixmultiply`'s sgemm/dgemm, the kernel ndarray's `dot` calls: the plain path.
    #[value(name = "matrixmultiply")]
    MatrixMultiply,
    /// The `gemm` crate's kernel (candle's), with its own packing and larger register tiles.
    #[value(name = "gemm")]
    Gemm,
}

impl GemmKernel {
    /// The name reports print (`bench`'s `kernels`): `"matrixmultiply"` or `"gemm"`.
    pub fn name(self) -> &'static str {
        match self {
            GemmKernel::MatrixMultiply => "matrixmultiply",
            GemmKernel::Gemm => "gemm",
        }
    }
}

/// 0: not chosen yet (the default for this CPU); otherwise `1 + kernel as u8`.
static F32_KERNEL: AtomicU8 = AtomicU8::new(0);

/// The kernel f32 products use: the one set with [`set_f32_gemm_kernel`], else `gemm` (both
/// detect the CPU's SIMD at run time). On GPT-2 124M's four prefill shapes at 512 tokens, on 2
/// cores of an AMD EPYC with AVX2 and FMA, `gemm` ran 1.16x as fast as `matrixmultiply` (median
/// of 7 interleaved rounds, 0.98-1.23x), 150 against 129 GFLOP/s in the quietest round.
/// `gemm` is built with its `x86-v4` feature, so it runs AVX-512 kernels where the CPU has
/// AVX-512F.
pub fn f32_gemm_kernel() -> GemmKernel {
    match F32_KERNEL.load(Ordering::Relaxed) {
        1 => GemmKernel::MatrixMultiply,
        _ => GemmKernel::Gemm,
    }
}

/// What runs f32 products on this CPU, for reports: `"matrixmultiply"`, or `"gemm"` with the
/// instruction set its run-time dispatch picks: `"gemm avx512"`, `"gemm avx2+fma"`, `"gemm"`
/// (its portable code, or not x86-64).
pub fn f32_gemm_kernel_description() -> &'static str {
    if f32_gemm_kernel() == GemmKernel::MatrixMultiply {
        return "matrixmultiply";
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "gemm avx512";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "gemm avx2+fma";
        }
    }
    "gemm"
}

/// Make every later f32 [`matmul_t`] in this process use `kernel` (the bench's `--gemm`, to
/// measure both kernels on the same machine).
pub fn set_f32_gemm_kernel(kernel: GemmKernel) {
    F32_KERNEL.store(1 + kernel as u8, Ordering::Relaxed);
}

// ANCHOR: matmul_t
/// `x W^T`: x `[n, in]`, w `[out, in]` -> `[n, out]`, blocks of output features on all cores.
pub fn matmul_t<F: Float>(x: ArrayView2<F>, w: ArrayView2<F>) -> Array2<F> {
    let kernel = if TypeId::of::<F>() == TypeId::of::<f32>() { f32_gemm_kernel() } else { GemmKernel::MatrixMultiply };
    matmul_t_with(kernel, x, w)
}

/// [`matmul_t`] with a given kernel inside each block.
pub fn matmul_t_with<F: Float>(kernel: GemmKernel, x: ArrayView2<F>, w: ArrayView2<F>) -> Array2<F> {
    let (n, n_in) = x.dim();
    let n_out = w.nrows();
    assert_eq!(w.ncols(), n_in, "matmul_t: x is [n, in], w must be [out, in]");
    let mut y = Array2::zeros((n, n_out));
    let Some(per_block) = features_per_thread(n, n_in, n_out) else {
        block_product(kernel, x, w.t(), F::one(), y.view_mut());
        return y;
    };
    y.axis_chunks_iter_mut(Axis(1), per_block)
        .into_par_iter()
        .zip(w.axis_chunks_iter(Axis(0), per_block).into_par_iter())
        .for_each(|(y_block, w_block)| {
            // y_block: [n, block], w_block: [block, in]
            block_product(kernel, x, w_block.t(), F::one(), y_block);
        });
    y
}

/// How [`matmul_t`] splits `out` features across rayon's threads: `None` when one core does
/// the whole product (too little work, or too few features for every thread), else the
/// features of each thread's block, rounded up to a multiple of 16 (whole register tiles).
fn features_per_thread(n: usize, n_in: usize, n_out: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if n_out < MATMUL_MIN_FEATURES_PER_THREAD * threads || n * n_in * n_out < MATMUL_MIN_WORK {
        return None;
    }
    Some(n_out.div_ceil(threads).div_ceil(16) * 16)
}
// ANCHOR_END: matmul_t

// ANCHOR: matmul_t_filled
/// [`matmul_t`] for a `W` (`[out, in]`) that is made a block of rows at a time: `fill(rows,
/// buf)` writes rows `rows` of `W` into `buf` (`[rows.len(), in]`, row major), at most
/// `rows_per_fill` rows at once. 16-bit weights are multiplied this way: each thread widens a
/// block of its own features into a buffer it reuses and multiplies it while it is still in
/// its cache, so the widened matrix never exists whole.
pub fn matmul_t_filled<F: Float>(
    x: ArrayView2<F>,
    n_out: usize,
    rows_per_fill: usize,
    fill: impl Fn(Range<usize>, &mut [F]) + Sync,
) -> Array2<F> {
    let kernel = if TypeId::of::<F>() == TypeId::of::<f32>() { f32_gemm_kernel() } else { GemmKernel::MatrixMultiply };
    let (n, n_in) = x.dim();
    let mut y = Array2::zeros((n, n_out));
    let per_block = features_per_thread(n, n_in, n_out).unwrap_or(n_out).max(1);
    // whole register tiles per fill, where there are that many rows
    let rows_per_fill = if rows_per_fill >= 16 { rows_per_fill / 16 * 16 } else { rows_per_fill.max(1) };
    y.axis_chunks_iter_mut(Axis(1), per_block).into_par_iter().enumerate().for_each(|(block, mut y_block)| {
        let (first, width) = (block * per_block, y_block.ncols()); // this thread's features
        let mut buf = vec![F::zero(); rows_per_fill.min(width) * n_in]; // reused by every fill
        for start in (0..width).step_by(rows_per_fill) {
            let rows = start..(start + rows_per_fill).min(width);
            let w_rows = &mut buf[..rows.len() * n_in];
            fill(first + rows.start..first + rows.end, w_rows);
            let w_rows = ArrayView2::from_shape((rows.len(), n_in), &*w_rows).expect("rows x in values");
            block_product(kernel, x, w_rows.t(), F::one(), y_block.slice_mut(s![.., rows]));
        }
    });
    y
}
// ANCHOR_END: matmul_t_filled

/// `y = scale * x w_t` on the calling thread, with the kernel [`matmul_t`] uses for `F`:
/// attention's per-head products (scores and weights x values), which its own tasks already
/// spread over the cores. x: `[n, k]`, w_t: `[k, m]`, y: `[n, m]` (any strides).
pub fn product_into<F: Float>(x: ArrayView2<F>, w_t: ArrayView2<F>, scale: F, y: ArrayViewMut2<F>) {
    let kernel = if TypeId::of::<F>() == TypeId::of::<f32>() { f32_gemm_kernel() } else { GemmKernel::MatrixMultiply };
    block_product(kernel, x, w_t, scale, y);
}

/// `y = scale * x w_t` on the calling thread. x: `[n, in]`, w_t: `[in, block]`, y: `[n, block]`.
fn block_product<F: Float>(kernel: GemmKernel, x: ArrayView2<F>, w_t: ArrayView2<F>, scale: F, mut y: ArrayViewMut2<F>) {
    match kernel {
        GemmKernel::MatrixMultiply => general_mat_mul(scale, &x, &w_t, F::zero(), &mut y),
        GemmKernel::Gemm => gemm_crate(x, w_t, scale, y),
    }
}

/// `y = scale * x w_t` with the `gemm` crate, single-threaded. It reads any strides, so transposed
/// views (`w.t()`, chapter 5's `dy.t()`) need no copy.
fn gemm_crate<F: Float>(x: ArrayView2<F>, w_t: ArrayView2<F>, scale: F, mut y: ArrayViewMut2<F>) {
    let (m, k) = x.dim();
    let n = w_t.ncols();
    assert_eq!(w_t.nrows(), k, "gemm: x is [m, k], w_t must be [k, n]");
    assert_eq!(y.dim(), (m, n), "gemm: y must be [m, n]");
    let (xs, ws, ys) = (x.strides(), w_t.strides(), y.strides());
    let (x_rs, x_cs, w_rs, w_cs, y_rs, y_cs) = (xs[0], xs[1], ws[0], ws[1], ys[0], ys[1]);
    // SAFETY: the three views are valid for the shapes and strides passed (element strides, as
    // `gemm` takes them, pointers at element [0, 0]); y is a mutable view, so it aliases
    // neither input; `read_dst = false` means y's old values are never read. `F` is f32 or
    // f64, two of the types `gemm` multiplies (it panics on any other).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            y.as_mut_ptr(),
            y_cs,
            y_rs,
            false, // read_dst: y = 0 * y + 1 * x w_t, y's old values unread
            x.as_ptr(),
            x_cs,
            x_rs,
            w_t.as_ptr(),
            w_cs,
            w_rs,
            F::zero(), // alpha: the factor of the old y
            scale,     // beta: the factor of x w_t
            false,
            false,
            false,
            gemm::Parallelism::None, // one block per rayon task: the split above is the parallelism
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x [n, in]`, `w [out, in]` and ndarray's `x w^T`: small integers times halves, so every
    /// sum is exact in f64 and in f32 (all below 2^24 halves), whatever the order or the kernel.
    fn integer_product(n: usize, n_in: usize, n_out: usize) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
        let x = Array2::from_shape_fn((n, n_in), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let w = Array2::from_shape_fn((n_out, n_in), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.5 - 3.0);
        let expected = x.dot(&w.t());
        (x, w, expected)
    }

    /// Both branches in pools of 1, 2 and 8 threads, with both kernels, shapes chosen from the thresholds:
    /// - serial, too little work: `n * in * out < MATMUL_MIN_WORK`;
    /// - serial, too few features per thread: enough work, but `out < 32 * threads` on 8 threads;
    /// - split: enough work and `out >= 32 * 8`, in blocks of whole 16-wide tiles (the last one short).
    #[test]
    fn equals_ndarray_dot_serial_and_split_on_1_2_and_8_threads() -> Result<(), rayon::ThreadPoolBuildError> {
        let few_features = 8 * MATMUL_MIN_FEATURES_PER_THREAD - 1; // serial on 8 threads, split on 1 and 2
        let many_features = 8 * MATMUL_MIN_FEATURES_PER_THREAD + 5; // split on every pool
        let rows_for_work = |n_in: usize, n_out: usize| MATMUL_MIN_WORK.div_ceil(n_in * n_out);
        let shapes = [
            (1, 3, 2),
            (5, 7, 3),
            (rows_for_work(67, few_features), 67, few_features),
            (rows_for_work(67, many_features), 67, many_features),
        ];
        for threads in [1, 2, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            for (n, n_in, n_out) in shapes {
                let (x, w, expected) = integer_product(n, n_in, n_out);
                for kernel in [GemmKernel::MatrixMultiply, GemmKernel::Gemm] {
                    let y = pool.install(|| matmul_t_with(kernel, x.view(), w.view()));
                    assert_eq!(y, expected, "{kernel:?} f64, {threads} threads, n={n} in={n_in} out={n_out}");
                    let (x32, w32) = (x.mapv(|v| v as f32), w.mapv(|v| v as f32));
                    let y32 = pool.install(|| matmul_t_with(kernel, x32.view(), w32.view()));
                    assert_eq!(y32, expected.mapv(|v| v as f32), "{kernel:?} f32, {threads} threads, n={n} in={n_in} out={n_out}");
                }
            }
        }
        Ok(())
    }

    /// The same products when `W`'s rows come from a fill function, a few at a time (a count
    /// of rows per fill that divides nothing evenly, one that is not a multiple of 16, and one
    /// larger than the matrix), serial and split, on 1, 2 and 8 threads: exact small-integer
    /// sums, as above.
    #[test]
    fn filled_blocks_equal_the_whole_product() -> Result<(), rayon::ThreadPoolBuildError> {
        let many_features = 8 * MATMUL_MIN_FEATURES_PER_THREAD + 5;
        let shapes = [(5, 7, 3), (MATMUL_MIN_WORK.div_ceil(67 * many_features), 67, many_features)];
        for threads in [1, 2, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            for (n, n_in, n_out) in shapes {
                let (x, w, expected) = integer_product(n, n_in, n_out);
                let (x32, w32) = (x.mapv(|v| v as f32), w.mapv(|v| v as f32));
                for rows_per_fill in [1, 7, 37, n_out + 100] {
                    let fill = |rows: Range<usize>, buf: &mut [f64]| {
                        buf.copy_from_slice(w.slice(s![rows, ..]).as_standard_layout().as_slice().expect("standard"))
                    };
                    let y = pool.install(|| matmul_t_filled(x.view(), n_out, rows_per_fill, fill));
                    assert_eq!(y, expected, "f64, {threads} threads, {rows_per_fill} rows a fill, n={n} out={n_out}");
                    let fill32 = |rows: Range<usize>, buf: &mut [f32]| {
                        buf.copy_from_slice(w32.slice(s![rows, ..]).as_standard_layout().as_slice().expect("standard"))
                    };
                    let y32 = pool.install(|| matmul_t_filled(x32.view(), n_out, rows_per_fill, fill32));
                    assert_eq!(y32, expected.mapv(|v| v as f32), "f32, {threads} threads, {rows_per_fill} rows a fill");
                }
            }
        }
        Ok(())
    }

    /// Transposed and sliced views (chapter 5's backward passes `dy.t()` and `x.t()`): the
    /// `gemm` path reads the strides, the plain path copies nothing either; both equal ndarray.
    #[test]
    fn reads_transposed_and_strided_views() {
        let a = Array2::from_shape_fn((70, 90), |(i, j)| ((i * 3 + j * 7) % 9) as f64 - 4.0);
        let b = Array2::from_shape_fn((90, 50), |(i, j)| ((i + j * 11) % 5) as f64 * 0.25);
        let x = a.t(); // [90, 70], column-major
        let w = b.t(); // [50, 90] as [out, in]: x W^T needs in = 70, so take a [50, 70] slice
        let w = w.slice(ndarray::s![.., ..70]);
        let expected = x.dot(&w.t());
        for kernel in [GemmKernel::MatrixMultiply, GemmKernel::Gemm] {
            assert_eq!(matmul_t_with(kernel, x, w), expected, "{kernel:?}");
            let rev = x.slice(ndarray::s![..;-1, ..]); // negative row stride
            assert_eq!(matmul_t_with(kernel, rev, w), rev.dot(&w.t()), "{kernel:?}, reversed rows");
        }
    }

    #[test]
    fn the_f32_kernel_can_be_chosen() {
        assert_eq!(GemmKernel::Gemm.name(), "gemm");
        assert_eq!(GemmKernel::MatrixMultiply.name(), "matrixmultiply");
        // the only test that sets the kernel; both choices give the same exact products
        set_f32_gemm_kernel(GemmKernel::MatrixMultiply);
        assert_eq!(f32_gemm_kernel(), GemmKernel::MatrixMultiply);
        set_f32_gemm_kernel(GemmKernel::Gemm);
        assert_eq!(f32_gemm_kernel(), GemmKernel::Gemm);
    }
}
