//! How fast this machine reads memory: the ceiling of decoding at batch 1.
//!
//! Every decoded token reads every weight once, and the weights (500 MB for GPT-2 124M) do not
//! fit in any cache, so decode speed is at most `bandwidth / weight bytes`. The probe: fill a
//! buffer far larger than the CPU caches, then sum it on all cores with rayon and time it.

use crate::stats;
use rayon::prelude::*;
use serde::Serialize;
use std::hint::black_box;
use std::time::Instant;

/// Elements each rayon task sums (256 KiB of f32).
const CHUNK: usize = 64 * 1024;

/// The result of [`measure`].
#[derive(Debug, Clone, Serialize)]
pub struct Bandwidth {
    pub buffer_bytes: usize,
    /// GB/s (10^9 bytes per second) of every pass.
    pub passes_gbps: Vec<f64>,
    pub best_gbps: f64,
    pub median_gbps: f64,
    pub threads: usize,
}

/// Independent partial sums: enough additions in flight that the loop waits for memory, not
/// for the latency of the previous addition (with 8, one core tops out near 40 GB/s).
const LANES: usize = 32;

/// Sum with [`LANES`] independent accumulators, so the compiler can use SIMD and the loop is
/// limited by memory, not by the latency of one chain of additions.
fn sum_lanes(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..LANES {
            acc[k] += c[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// A buffer far larger than the CPU caches, kept so that passes can be taken again later
/// (`bench` interleaves them with the decode runs: the machine may be shared, and its
/// bandwidth can change from one minute to the next).
pub struct Probe {
    buf: Vec<f32>,
    passes_gbps: Vec<f64>,
}

impl Probe {
    /// Allocate `buffer_bytes` (rounded down to whole f32) and touch every page from the
    /// threads that will read it.
    pub fn new(buffer_bytes: usize) -> Self {
        let n = (buffer_bytes / 4).max(CHUNK);
        let mut buf = vec![0f32; n];
        // on 2 MiB pages, as the weights are (unless `--huge-pages off`): the roofline is the
        // fastest read, and the pages are not yet written, so this costs nothing
        shared::huge_pages::advise_huge_pages(&buf);
        buf.par_chunks_mut(CHUNK).enumerate().for_each(|(i, c)| c.fill((i % 7) as f32 * 0.25));
        Probe { buf, passes_gbps: vec![] }
    }

    /// Read the whole buffer `passes` times on all rayon threads, recording GB/s of each pass.
    pub fn read(&mut self, passes: usize) {
        for _ in 0..passes {
            let gbps = self.read_once();
            self.passes_gbps.push(gbps);
        }
    }

    /// Read the whole buffer once on the current rayon pool's threads; GB/s, not recorded.
    pub fn read_once(&self) -> f64 {
        let start = Instant::now();
        let total: f32 = self.buf.par_chunks(CHUNK).map(sum_lanes).sum();
        let secs = start.elapsed().as_secs_f64();
        black_box(total);
        (self.buf.len() * 4) as f64 / secs / 1e9
    }

    /// Best and median over every pass so far.
    pub fn summary(&self) -> Bandwidth {
        Bandwidth {
            buffer_bytes: self.buf.len() * 4,
            best_gbps: stats::max(&self.passes_gbps),
            median_gbps: stats::median(&self.passes_gbps),
            passes_gbps: self.passes_gbps.clone(),
            threads: rayon::current_num_threads(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_lanes_is_the_sum() {
        // small integers: every order of summation gives the exact result
        let xs: Vec<f32> = (0..1003).map(|i| (i % 5) as f32).collect();
        assert_eq!(sum_lanes(&xs), xs.iter().sum::<f32>());
    }
}
