//! The fast path of prefill: matrix x matrix on every core.
//!
//! A prefill multiplies the activations of all `n` prompt tokens, `x: [n, in]`, by each
//! weight `W: [out, in]`. Every weight is reused `n` times, so this is limited by arithmetic,
//! not memory. The arithmetic is `matrixmultiply`'s sgemm/dgemm kernel (what ndarray's `dot`
//! calls, with packing and SIMD); this module adds the parallelism: the rows of `W` (the output
//! features) are split into one block per rayon thread, and each thread multiplies all of `x` by
//! its block. Each thread reads only its part of the weights, which matters when `n` is small
//! (an uncached step over a short sequence is nearly as memory-bound as decode).
//! Everything parallel in the workspace then runs on rayon's threads, so attention's per-head
//! tasks never compete with a second thread pool inside the matrix multiply.

use crate::parallel::{MATMUL_MIN_FEATURES_PER_THREAD, MATMUL_MIN_WORK};
use crate::Float;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

// ANCHOR: matmul_t
/// `x W^T`: x `[n, in]`, w `[out, in]` -> `[n, out]`, blocks of output features on all cores.
pub fn matmul_t<F: Float>(x: ArrayView2<F>, w: ArrayView2<F>) -> Array2<F> {
    let (n, n_in) = x.dim();
    let n_out = w.nrows();
    assert_eq!(w.ncols(), n_in, "matmul_t: x is [n, in], w must be [out, in]");
    let mut y = Array2::zeros((n, n_out));
    let threads = rayon::current_num_threads();
    if n_out < MATMUL_MIN_FEATURES_PER_THREAD * threads || n * n_in * n_out < MATMUL_MIN_WORK {
        general_mat_mul(F::one(), &x, &w.t(), F::zero(), &mut y);
        return y;
    }
    // output features per thread, rounded to a multiple of 16 (the kernel's tile width)
    let per_block = n_out.div_ceil(threads).div_ceil(16) * 16;
    y.axis_chunks_iter_mut(Axis(1), per_block)
        .into_par_iter()
        .zip(w.axis_chunks_iter(Axis(0), per_block).into_par_iter())
        .for_each(|(mut y_block, w_block)| {
            // y_block: [n, block], w_block: [block, in]
            general_mat_mul(F::one(), &x, &w_block.t(), F::zero(), &mut y_block);
        });
    y
}
// ANCHOR_END: matmul_t

#[cfg(test)]
mod tests {
    use super::*;

    /// Both branches in pools of 1, 2 and 8 threads, shapes chosen from the thresholds:
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
                let x = Array2::from_shape_fn((n, n_in), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
                let w = Array2::from_shape_fn((n_out, n_in), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.5 - 3.0);
                // small integers times halves: every sum is exact in f64, whatever the order
                let y = pool.install(|| matmul_t(x.view(), w.view()));
                assert_eq!(y, x.dot(&w.t()), "{threads} threads, n={n} in={n_in} out={n_out}");
            }
        }
        Ok(())
    }
}
