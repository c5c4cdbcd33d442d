//! Which SIMD instructions decode's dot products use: chosen once, at run time, for the CPU the
//! program runs on, so one binary runs well on every x86-64 machine.
//!
//! Three tiers, widest first:
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
//! The widest tier is not always the fastest. AMD Zen 4 (family 19h) has AVX-512 but runs each
//! 512-bit operation as two 256-bit halves, and there the f32 kernel streamed weights slower in
//! 512-bit registers than in 256-bit ones (cached decode of GPT-2 124M after 8 tokens: AVX2 at
//! 1.15x the tokens/s of AVX-512, 1.01-1.17x over 5 interleaved rounds; the bf16 kernel, whose
//! loads are 256 bits wide in both tiers, 0.99x). The book's performance page has the figures. So [`default_simd_tier`] is AVX2 on Zen 4 and the widest tier elsewhere.
//!
//! [`use_simd_tier`] overrides the choice for the rest of the process (the bench's `--simd`), to
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

/// Whether this CPU runs 512-bit operations as two 256-bit halves: AMD's family 19h (Zen 3 and
/// Zen 4; only Zen 4 has AVX-512). Zen 5 (family 1Ah) and Intel's AVX-512 CPUs have full-width
/// units.
pub fn avx512_in_halves() -> bool {
    cpu_vendor() == Some(*b"AuthenticAMD") && cpu_family() == Some(0x19)
}

/// The CPU's vendor string from `cpuid` (`GenuineIntel`, `AuthenticAMD`, ...); `None` off x86-64.
pub(crate) fn cpu_vendor() -> Option<[u8; 12]> {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unused_unsafe)] // `__cpuid` is safe on newer compilers
        // SAFETY: `cpuid` exists on every x86-64 CPU; leaf 0 always does
        let leaf0 = unsafe { std::arch::x86_64::__cpuid(0) };
        let mut vendor = [0u8; 12];
        for (part, bytes) in [leaf0.ebx, leaf0.edx, leaf0.ecx].into_iter().zip(vendor.chunks_mut(4)) {
            bytes.copy_from_slice(&part.to_le_bytes());
        }
        return Some(vendor);
    }
    #[allow(unreachable_code)]
    None
}

/// The CPU's family from `cpuid` (base family, plus the extended family when the base is 0xf);
/// `None` off x86-64.
fn cpu_family() -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unused_unsafe)]
        // SAFETY: as in `cpu_vendor`; leaf 1 always exists
        let signature = unsafe { std::arch::x86_64::__cpuid(1).eax };
        let base_family = (signature >> 8) & 0xf;
        return Some(if base_family == 0xf { base_family + ((signature >> 20) & 0xff) } else { base_family });
    }
    #[allow(unreachable_code)]
    None
}

/// The tier decode's kernels run unless told otherwise: the widest this CPU has, but AVX2
/// where AVX-512 runs in halves ([`avx512_in_halves`]).
pub fn default_simd_tier() -> SimdTier {
    static DEFAULT: OnceLock<SimdTier> = OnceLock::new();
    *DEFAULT.get_or_init(|| match best_simd_tier() {
        SimdTier::Avx512 if avx512_in_halves() => SimdTier::Avx2,
        best => best,
    })
}

/// 0: the default; otherwise `1 + tier as u8`.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// Use `tier` from now on in this process, or the widest tier below it that the CPU has (a
/// tier the CPU lacks is never used). For measuring tiers side by side; results do not change
/// between the x86 tiers, only between them and the portable loops.
pub fn use_simd_tier(tier: SimdTier) {
    CHOSEN.store(1 + tier as u8, Ordering::Relaxed);
}

/// The tier decode's dot products run now: [`default_simd_tier`], or what [`use_simd_tier`]
/// chose (within what the CPU has).
pub fn simd_tier() -> SimdTier {
    match CHOSEN.load(Ordering::Relaxed) {
        0 => default_simd_tier(),
        n => best_simd_tier().min(SimdTier::ALL[(n - 1) as usize]),
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

    #[test]
    fn avx512_runs_in_halves_on_amd_family_19h_only() {
        // independent: /proc/cpuinfo's `vendor_id` and `cpu family` (decimal: 25 = 19h)
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else { return };
        let field = |name: &str| cpuinfo.lines().find(|l| l.starts_with(name)).and_then(|l| l.split(':').nth(1)).map(|v| v.trim().to_string());
        let (Some(vendor), Some(family)) = (field("vendor_id"), field("cpu family")) else { return };
        assert_eq!(avx512_in_halves(), vendor == "AuthenticAMD" && family == "25");
        let expected = match best_simd_tier() {
            SimdTier::Avx512 if vendor == "AuthenticAMD" && family == "25" => SimdTier::Avx2,
            best => best,
        };
        assert_eq!(default_simd_tier(), expected);
    }
}
