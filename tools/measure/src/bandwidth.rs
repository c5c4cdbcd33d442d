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
/// limited by memory, not by the latency of one chain of additions. With `PREFETCH`, each step
/// also asks for its two cache lines 4 KiB ahead, as decode's kernels do where
/// `shared::prefetch` is on: the probe reads the way decode reads.
#[inline(always)]
fn sum_lanes<const PREFETCH: bool>(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        if PREFETCH {
            shared::prefetch::prefetch_ahead(c.as_ptr()); // 32 f32: two 64-byte lines
            shared::prefetch::prefetch_ahead(c[16..].as_ptr());
        }
        for k in 0..LANES {
            acc[k] += c[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// [`sum_lanes`] compiled for AVX-512: 64-byte loads, one per cache line. The width matters: on
/// an Intel Xeon of the Sapphire Rapids class, the same sum compiled for the x86-64 baseline
/// (16-byte loads, four per line) read 1.33x slower (18.7 against 25.1 GB/s, medians of 11
/// interleaved passes; a C reader with 64-byte loads read 28.8 at best), so it understated the
/// roofline. A core keeps only so many instructions in flight, and with fewer per cache line
/// more lines are outstanding at once.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sum_lanes_avx512<const PREFETCH: bool>(xs: &[f32]) -> f32 {
    sum_lanes::<PREFETCH>(xs)
}

/// [`sum_lanes`] compiled for AVX2: 32-byte loads.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_lanes_avx2<const PREFETCH: bool>(xs: &[f32]) -> f32 {
    sum_lanes::<PREFETCH>(xs)
}

/// The sum the probe runs: in the SIMD width of decode's kernels (`shared::simd_tier`) and
/// prefetching as they do (`shared::prefetch`), so that the roofline is what decode's way of
/// reading could reach.
fn probe_sum() -> fn(&[f32]) -> f32 {
    use shared::simd_tier::{simd_tier, SimdTier};
    match (simd_tier(), shared::prefetch::prefetch()) {
        // SAFETY (all four): `simd_tier` returns only tiers whose features the CPU has
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx512, false) => |xs| unsafe { sum_lanes_avx512::<false>(xs) },
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx512, true) => |xs| unsafe { sum_lanes_avx512::<true>(xs) },
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx2, false) => |xs| unsafe { sum_lanes_avx2::<false>(xs) },
        #[cfg(target_arch = "x86_64")]
        (SimdTier::Avx2, true) => |xs| unsafe { sum_lanes_avx2::<true>(xs) },
        (_, false) => sum_lanes::<false>,
        (_, true) => sum_lanes::<true>,
    }
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
        let total: f32 = self.buf.par_chunks(CHUNK).map(probe_sum()).sum();
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
        assert_eq!(sum_lanes::<false>(&xs), xs.iter().sum::<f32>());
        assert_eq!(sum_lanes::<true>(&xs), xs.iter().sum::<f32>());
        assert_eq!(probe_sum()(&xs), xs.iter().sum::<f32>(), "this CPU's probe");
    }
}
