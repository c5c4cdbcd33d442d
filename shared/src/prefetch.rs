//! Software prefetch in decode's dot products: asking for weights a few KiB before the kernel
//! reads them, on the CPUs where that helps.
//!
//! A decode step streams every weight once, and on 2 cores each core must keep enough cache-line
//! misses in flight to take its half of the memory's bandwidth (the performance page of the
//! book explains why one core reads only about half of what two read). The hardware prefetchers
//! follow a stream, but Intel's L2 streamer stops at every 4 KiB boundary, even inside a 2 MiB
//! page, and starts again only after a few misses there. A `prefetcht1` [`PREFETCH_AHEAD`]
//! bytes ahead of the row being read keeps the next 4 KiB coming into L2 before the kernel gets
//! there.
//!
//! Where it helps depends on the CPU, so the choice is made at run time:
//! - **Intel** (`GenuineIntel`): on. On a Xeon of the Sapphire Rapids class (family 6, model
//!   207; 2 threads), `gemv` over 490 MB of GPT-2's MLP matrices read 1.13x as fast with it
//!   (1.10x on one thread), the median of 15 interleaved rounds; 2 KiB and 8 KiB ahead, or into
//!   L1 (`prefetcht0`), gained less.
//! - **elsewhere**: off. On the AMD Zen 4 EPYC, `prefetcht0` 512 B to 4 KiB ahead made the same
//!   `gemv` slower (0.91-0.94x) and non-temporal prefetch did not help (0.83-1.04x).
//!
//! [`use_prefetch`] overrides the choice for the rest of the process (the bench's
//! `--prefetch`), to measure both side by side on one machine. Prefetching never changes a
//! result, only when the bytes arrive.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// How far ahead of the current read the kernels prefetch, in bytes: one 4 KiB page.
pub const PREFETCH_AHEAD: usize = 4096;

/// Whether decode's dot products prefetch on this CPU unless told otherwise: on Intel CPUs.
pub fn default_prefetch() -> bool {
    static DEFAULT: OnceLock<bool> = OnceLock::new();
    *DEFAULT.get_or_init(|| crate::simd_tier::cpu_vendor() == Some(*b"GenuineIntel"))
}

/// 0: the default; 1: off; 2: on.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// Prefetch (`true`) or not from now on in this process, whatever the CPU.
pub fn use_prefetch(on: bool) {
    CHOSEN.store(1 + on as u8, Ordering::Relaxed);
}

/// Whether decode's dot products prefetch now: [`default_prefetch`], or what [`use_prefetch`]
/// chose.
pub fn prefetch() -> bool {
    match CHOSEN.load(Ordering::Relaxed) {
        0 => default_prefetch(),
        n => n == 2,
    }
}

/// What [`prefetch`] means, for reports such as the bench tool's `kernels`.
pub fn prefetch_description() -> &'static str {
    if prefetch() { "4 KiB ahead into L2" } else { "none" }
}

/// Ask for the cache line [`PREFETCH_AHEAD`] bytes after `p` to be brought into L2. A hint: it
/// never faults, whatever the address, and changes no value. (The bench's bandwidth probe
/// calls it too, so that the roofline is read the way decode reads.)
#[inline(always)]
pub fn prefetch_ahead<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        let ahead = p.cast::<i8>().wrapping_add(PREFETCH_AHEAD);
        #[allow(unused_unsafe)] // safe on newer compilers
        // SAFETY: a prefetch reads nothing the program sees and cannot fault (SSE, on every x86-64)
        unsafe {
            _mm_prefetch::<_MM_HINT_T1>(ahead)
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetch_is_on_by_default_on_intel_only() {
        // independent: /proc/cpuinfo's `vendor_id`
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else { return };
        let Some(vendor) = cpuinfo.lines().find(|l| l.starts_with("vendor_id")).and_then(|l| l.split(':').nth(1)) else { return };
        assert_eq!(default_prefetch(), vendor.trim() == "GenuineIntel");
    }
}
