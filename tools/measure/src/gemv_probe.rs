//! Where a decode step's time goes: decode's matrix x vector alone, beside a plain read of the
//! same number of bytes, on all threads and on one.
//!
//! Cached decode at batch 1 is mostly [`shared::gemv::gemv`] streaming every weight once. When
//! it falls short of the bandwidth roofline, three measurements say where:
//! - **read, 1 thread vs all threads**: how much memory one core can keep in flight. A core
//!   has a fixed number of outstanding cache-line misses (its fill buffers), so by Little's law
//!   one core reads at most `misses in flight x 64 bytes / memory latency`; a machine whose one
//!   core reads much less than half of what two read is limited per core, and needs every core
//!   streaming all the time.
//! - **gemv vs read, on the same threads**: what the kernel and the split of its rows across
//!   the threads cost beyond the bytes (waiting for the slower thread, restarting prefetch
//!   streams at every matrix, the arithmetic).
//! - **decode vs gemv** (in the bench's report): what the rest of a step costs (attention over
//!   the cache, layer norms, the sampling, the calls between them).
//!
//! The matrices are a GPT-2 block's MLP shapes, `[4d, d]` and `[d, 4d]`, as many as fill
//! `bytes`, each multiplied once per pass in turn, so every pass streams them from memory as a
//! decode step does. The whole pass runs on one of rayon's workers, as decode does
//! ([`shared::on_worker_thread`]).

use crate::bandwidth::Probe;
use crate::stats;
use ndarray::{Array1, Array2};
use serde::Serialize;
use std::time::Instant;

/// The result of [`measure`]: GB/s medians over the passes.
#[derive(Debug, Clone, Serialize)]
pub struct GemvProbe {
    /// Bytes of f32 weights each gemv pass streams (and each read pass reads).
    pub bytes: usize,
    /// Width `d` of the `[4d, d]` and `[d, 4d]` matrices.
    pub d_model: usize,
    /// rayon's threads for the "all" figures.
    pub threads: usize,
    pub read_all_gbps: f64,
    pub read_one_gbps: f64,
    pub gemv_all_gbps: f64,
    pub gemv_one_gbps: f64,
}

impl GemvProbe {
    /// gemv's share of the plain read's speed on all threads.
    pub fn gemv_vs_read(&self) -> f64 {
        self.gemv_all_gbps / self.read_all_gbps
    }
}

/// Measure `passes` passes of each (at least 3), over `bytes` of `[4d, d]`/`[d, 4d]` matrices.
/// `d` must be positive. Fails only if a one-thread pool cannot be built.
pub fn measure(bytes: usize, d: usize, passes: usize) -> Result<GemvProbe, rayon::ThreadPoolBuildError> {
    let passes = passes.max(3);
    let per_matrix = 4 * d * d * 4;
    let count = (bytes / per_matrix).max(2);
    let matrices: Vec<Array2<f32>> = (0..count)
        .map(|m| {
            let shape = if m % 2 == 0 { (4 * d, d) } else { (d, 4 * d) };
            let w = Array2::from_shape_fn(shape, |(i, j)| ((i * 31 + j * 7 + m) % 13) as f32 * 0.01 - 0.06);
            shared::huge_pages::onto_huge_pages(w) // where weights are
        })
        .collect();
    let (x_narrow, x_wide) = (Array1::from_elem(d, 0.5f32), Array1::from_elem(4 * d, 0.25f32));
    let (mut y_wide, mut y_narrow) = (Array1::zeros(4 * d), Array1::zeros(d));
    let total_bytes = count * per_matrix;

    let mut gemv_pass = || {
        let start = Instant::now();
        shared::on_worker_thread(|| {
            for w in &matrices {
                if w.ncols() == d {
                    shared::gemv::gemv(w.view(), x_narrow.view(), y_wide.view_mut());
                } else {
                    shared::gemv::gemv(w.view(), x_wide.view(), y_narrow.view_mut());
                }
            }
        });
        std::hint::black_box((&y_wide, &y_narrow));
        total_bytes as f64 / start.elapsed().as_secs_f64() / 1e9
    };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let probe = Probe::new(total_bytes);
    let (mut gemv_all, mut gemv_one) = (vec![], vec![]);
    let (mut read_all, mut read_one) = (vec![], vec![]);
    // interleaved, so that a slow minute weighs on every figure alike
    for _ in 0..passes {
        gemv_all.push(gemv_pass());
        gemv_one.push(one.install(&mut gemv_pass));
        read_all.push(probe.read_once());
        read_one.push(one.install(|| probe.read_once()));
    }
    Ok(GemvProbe {
        bytes: total_bytes,
        d_model: d,
        threads: rayon::current_num_threads(),
        read_all_gbps: stats::median(&read_all),
        read_one_gbps: stats::median(&read_one),
        gemv_all_gbps: stats::median(&gemv_all),
        gemv_one_gbps: stats::median(&gemv_one),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_positive_speeds_on_a_tiny_buffer() -> Result<(), rayon::ThreadPoolBuildError> {
        let p = measure(1 << 20, 32, 3)?;
        assert_eq!(p.bytes, (1 << 20) / (4 * 32 * 32 * 4) * (4 * 32 * 32 * 4));
        for gbps in [p.read_all_gbps, p.read_one_gbps, p.gemv_all_gbps, p.gemv_one_gbps] {
            assert!(gbps.is_finite() && gbps > 0.0, "{p:?}");
        }
        Ok(())
    }
}
