//! How fast this machine multiplies fp32 matrices: the ceiling of prefill.
//!
//! A prefill multiplies `[T, d_model]` activations by every weight matrix, which is a matrix
//! multiply (sgemm) with plenty of reuse: it is limited by arithmetic, not by memory. We time
//! [`shared::matmul_t`] (the `matrixmultiply` crate's kernel, on every core) on the shapes
//! GPT-2 124M uses, with the weight as the model stores it (`x W^T`, `W: [out, in]`): the same
//! function every prefill runs.

use crate::stats;
use ndarray::Array2;
use serde::Serialize;
use std::hint::black_box;
use std::time::Instant;

/// `[m, k] x [k, n]`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GemmShape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl GemmShape {
    /// 2 FLOPs (a multiply and an add) per `m x k x n`.
    pub fn flops(self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }
}

/// Shapes of GPT-2 124M: a square one, and the MLP of a 512-token prefill (up and down).
pub const SHAPES: [GemmShape; 3] = [
    GemmShape { m: 768, k: 768, n: 768 },
    GemmShape { m: 512, k: 768, n: 3072 },
    GemmShape { m: 512, k: 3072, n: 768 },
];

/// One shape's result.
#[derive(Debug, Clone, Serialize)]
pub struct GemmResult {
    pub shape: GemmShape,
    pub best_gflops: f64,
    pub median_gflops: f64,
}

/// Time `x . w^T` for `shape`, `repeats` times after one warm-up; GFLOP/s (10^9 FLOP/s).
pub fn measure(shape: GemmShape, repeats: usize) -> GemmResult {
    let x = Array2::from_shape_fn((shape.m, shape.k), |(i, j)| ((i * 3 + j) % 17) as f32 * 0.01);
    let w = Array2::from_shape_fn((shape.n, shape.k), |(i, j)| ((i + j * 5) % 13) as f32 * 0.01); // [out, in]
    black_box(shared::matmul_t(x.view(), w.view())); // warm-up: threads started, memory touched
    let gflops: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            let y = shared::matmul_t(x.view(), w.view()); // [m, n]
            let secs = start.elapsed().as_secs_f64();
            black_box(y);
            shape.flops() / secs / 1e9
        })
        .collect();
    GemmResult { shape, best_gflops: stats::max(&gflops), median_gflops: stats::median(&gflops) }
}
