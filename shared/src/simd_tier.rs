//! Which SIMD instructions decode's dot products use: chosen once, at run time, for the CPU the
//! program runs on, so one binary runs well on every x86-64 machine.
//!
//! Three tiers, best first:
//! - **AVX-512** (`avx512f`): 16 f32 lanes per register. Intel Xeons since Skylake-SP (Sapphire
//!   Rapids among them) and AMD Zen 4 have it.
//! - **AVX2** with FMA and F16C: 8 lanes. Nearly every x86-64 CPU since 2013.
//! - **portable**: plain Rust loops the compiler vectorises for whatever the build targets (any
//!   CPU, and every architecture that is not x86-64).
//!
//! The kernels of the two x86 tiers group their sums the same way, so they return the same
//! bits: the tier changes how many instructions a dot product takes, never its result. Decode at
//! batch 1 waits for memory, not arithmetic, so AVX-512 does not make it faster by itself; it
//! halves the loads and multiplies a core issues for each byte it streams.
//!
//! [`limit_simd_tier`] caps the tier for the rest of the process (the bench's `--simd`), to
//! measure two tiers side by side on one machine.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// An instruction set for decode's dot products.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdTier {
    /// Plain loops, on any CPU.
    Portable,
    /// AVX2 (8 f32 lanes), with FMA and F16C.
    Avx2,
    /// AVX-512F (16 f32 lanes).
    Avx512,
}

impl SimdTier {
    /// Every tier, worst first.
    pub const ALL: [SimdTier; 3] = [SimdTier::Portable, SimdTier::Avx2, SimdTier::Avx512];

    /// The name reports print: `"avx512"`, `"avx2"` or `"portable"`.
    pub fn name(self) -> &'static str {
        match self {
            SimdTier::Portable => "portable",
            SimdTier::Avx2 => "avx2",
            SimdTier::Avx512 => "avx512",
        }
    }

    /// The tier called `name` (as [`SimdTier::name`] spells it).
    pub fn from_name(name: &str) -> Option<SimdTier> {
        SimdTier::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The best tier this CPU runs, detected at the first call (x86-64: `cpuid`, and whether the
/// operating system saves the wide registers).
pub fn best_simd_tier() -> SimdTier {
    static BEST: OnceLock<SimdTier> = OnceLock::new();
    *BEST.get_or_init(detect)
}

fn detect() -> SimdTier {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let avx2 = has!("avx2") && has!("fma") && has!("f16c");
        if avx2 && has!("avx512f") {
            return SimdTier::Avx512;
        }
        if avx2 {
            return SimdTier::Avx2;
        }
    }
    SimdTier::Portable
}

/// 0: no limit; otherwise `1 + tier as u8`.
static LIMIT: AtomicU8 = AtomicU8::new(0);

/// Use at most `tier` from now on in this process (a tier the CPU lacks is never used: the
/// limit only lowers). For measuring tiers side by side; results do not change between the x86
/// tiers, only between them and the portable loops.
pub fn limit_simd_tier(tier: SimdTier) {
    LIMIT.store(1 + tier as u8, Ordering::Relaxed);
}

/// The tier decode's dot products run now: the best this CPU has, lowered by any
/// [`limit_simd_tier`].
pub fn simd_tier() -> SimdTier {
    let best = best_simd_tier();
    match LIMIT.load(Ordering::Relaxed) {
        0 => best,
        n => best.min(SimdTier::ALL[(n - 1) as usize]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_both_ways_and_tiers_are_ordered() {
        for tier in SimdTier::ALL {
            assert_eq!(SimdTier::from_name(tier.name()), Some(tier));
        }
        assert_eq!(SimdTier::from_name("sse2"), None);
        assert!(SimdTier::Portable < SimdTier::Avx2 && SimdTier::Avx2 < SimdTier::Avx512);
    }

    #[test]
    fn the_best_tier_matches_the_cpu_flags() {
        // an independent reading of the same fact: the `flags` line of /proc/cpuinfo
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else { return };
        let Some(flags) = cpuinfo.lines().find(|l| l.starts_with("flags")) else { return };
        let has = |f: &str| flags.split_whitespace().any(|g| g == f);
        let expected = match (has("avx2") && has("fma") && has("f16c"), has("avx512f")) {
            (true, true) => SimdTier::Avx512,
            (true, false) => SimdTier::Avx2,
            (false, _) => SimdTier::Portable,
        };
        assert_eq!(best_simd_tier(), expected);
    }
}
