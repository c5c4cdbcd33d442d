//! The fast path of batched decode: a few vectors times the same matrix, streaming it once.
//!
//! A decode step of a batch of `n` sequences multiplies `n` vectors, `x: [n, in]`, by every
//! weight `W: [out, in]`. Run as `n` calls of [`gemv`](crate::gemv::gemv) it would read
//! every weight `n` times; here each row of `W` is read from memory once and, while it sits in
//! the core's cache, dotted with all `n` vectors. The work grows with `n`, the memory traffic
//! does not: this is why a batch of 8 costs little more time per step than a batch of 1.
//!
//! Each output is the same [`dot_kernel`] over the same two slices as `gemv` computes, so row
//! `b` of the result equals `gemv` of `x[b]` bit for bit.

use crate::gemv::dot_kernel;
use crate::Float;
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// Up to this many rows, [`linear`](crate::linear) runs [`gemv_rows`]; beyond it,
/// [`matmul_t`](crate::matmul_t)'s blocked kernel, which reuses each loaded number more often.
pub const GEMV_ROWS_MAX: usize = 16;

/// Rows of `W` handed to one rayon task.
const ROWS_PER_TASK: usize = 32;

// ANCHOR: gemv_rows
/// `x W^T` for a few rows: x `[n, in]`, w `[out, in]` -> `[n, out]`, every row of `W` read once.
pub fn gemv_rows<F: Float>(x: ArrayView2<F>, w: ArrayView2<F>) -> Array2<F> {
    let (n, n_in) = x.dim();
    let n_out = w.nrows();
    assert_eq!(w.ncols(), n_in, "gemv_rows: x is [n, in], w must be [out, in]");
    let (x, w) = (x.as_standard_layout(), w.as_standard_layout());
    let (x, w) = (x.as_slice().expect("standard layout"), w.as_slice().expect("standard layout"));
    let dot = dot_kernel::<F>(); // gemv's dot product (AVX2 for f32 where the CPU has it)
    let mut y_t = vec![F::zero(); n_out * n]; // [out, n]: each task writes whole rows
    if n_in > 0 && n > 0 {
        y_t.par_chunks_mut(ROWS_PER_TASK * n).enumerate().for_each(|(task, ys)| {
            for (r, y_row) in ys.chunks_mut(n).enumerate() {
                let o = task * ROWS_PER_TASK + r;
                let w_row = &w[o * n_in..(o + 1) * n_in]; // read from memory once...
                for (b, y) in y_row.iter_mut().enumerate() {
                    *y = dot(w_row, &x[b * n_in..(b + 1) * n_in]); // ...then used n times from cache
                }
            }
        });
    }
    let y_t = Array2::from_shape_vec((n_out, n), y_t).expect("n_out * n values");
    y_t.reversed_axes().as_standard_layout().into_owned() // [n, out]
}
// ANCHOR_END: gemv_rows

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    /// Each row equals gemv of that row bit for bit, in f32 and f64, on pools of 1 and 2 threads,
    /// and the product equals ndarray's `dot` exactly on small integers.
    #[test]
    fn each_row_is_gemv_of_that_row_and_the_product_is_exact_on_integers() -> Result<(), rayon::ThreadPoolBuildError> {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            for (n, n_in, n_out) in [(1, 3, 2), (3, 37, 70), (16, 64, 33), (5, 0, 4)] {
                let x = Array2::from_shape_fn((n, n_in), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
                let w = Array2::from_shape_fn((n_out, n_in), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.5 - 3.0);
                let y = pool.install(|| gemv_rows(x.view(), w.view()));
                assert_eq!(y, x.dot(&w.t()), "{threads} threads, n={n} in={n_in} out={n_out}");
                let (x32, w32) = (x.mapv(|v| v as f32 * 0.37), w.mapv(|v| v as f32 * 1.3));
                let y32 = pool.install(|| gemv_rows(x32.view(), w32.view()));
                for b in 0..n {
                    let mut one = Array1::zeros(n_out);
                    crate::gemv::gemv(w32.view(), x32.row(b), one.view_mut());
                    assert_eq!(y32.row(b), one, "row {b}");
                }
            }
        }
        Ok(())
    }
}
