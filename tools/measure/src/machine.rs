//! Which machine the figures come from: the CPU model, and the kernels chosen at run time.
//!
//! Speed figures mean little without the CPU they were measured on (the same commit decodes
//! at 92% of the roofline on one x86-64 machine and 64% on another), so `bench` prints both.

use serde::Serialize;

/// The CPU model name, as the kernel reports it (`/proc/cpuinfo`'s `model name` on x86-64,
/// `Hardware` or `CPU part` lines elsewhere), else the architecture.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| model_name(&text))
        .unwrap_or_else(|| format!("unknown {} CPU", std::env::consts::ARCH))
}

/// The first non-empty `model name`, `Hardware` or `Processor` value of `/proc/cpuinfo` text.
fn model_name(cpuinfo: &str) -> Option<String> {
    for key in ["model name", "Hardware", "Processor"] {
        let value = cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
        });
        if value.is_some() {
            return value;
        }
    }
    None
}

/// The kernels this run uses, as chosen at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kernels {
    /// The f32 dot product inside decode's matrix x vector (`shared::gemv`): `avx512`, `avx2`
    /// or `portable` (`shared::simd_tier`).
    pub gemv_dot_f32: &'static str,
    /// The f32 matrix-multiply kernel of prefill (`shared::matmul_t`): `matrixmultiply`, or
    /// `gemm` with the instruction set it runs (`gemm avx512`, `gemm avx2+fma`).
    pub sgemm: &'static str,
    /// The dot product of decode with bf16 weights (`shared::gemv_half`): `avx512`, `avx2` or
    /// `portable`.
    pub gemv_dot_bf16: &'static str,
    /// The dot product of decode with f16 weights: `avx512`, `avx2+f16c` or `portable`.
    pub gemv_dot_f16: &'static str,
    /// Whether those dot products prefetch weights ahead (`shared::prefetch`): `4 KiB ahead
    /// into L2` or `none`.
    pub gemv_prefetch: &'static str,
    /// The widest SIMD tier the CPU has (`shared::simd_tier::best_simd_tier`), which decode's
    /// kernels may not use: AMD Zen 4 runs AVX-512 in 256-bit halves and gets AVX2.
    pub cpu_simd: &'static str,
}

impl std::fmt::Display for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "decode dot product {} (bf16 {}, f16 {}", self.gemv_dot_f32, self.gemv_dot_bf16, self.gemv_dot_f16)?;
        if self.cpu_simd != self.gemv_dot_f32 {
            let why = if shared::simd_tier::avx512_in_halves() { ", which runs in 256-bit halves here" } else { "" };
            write!(f, "; the CPU has {}{why}", self.cpu_simd)?;
        }
        write!(f, "; prefetch {}), prefill sgemm {}", self.gemv_prefetch, self.sgemm)
    }
}

/// The kernels `shared` picks on this CPU: decode's dot products by `shared::simd_tier` (the
/// widest of AVX-512, AVX2 and portable loops this CPU runs at full width, unless `--simd`
/// chose another).
pub fn kernels() -> Kernels {
    use shared::gemv_half::half_dot_kernel_name;
    use shared::half_matrix::HalfFormat;
    Kernels {
        gemv_dot_f32: shared::gemv::f32_dot_kernel_name(),
        sgemm: shared::matmul::f32_gemm_kernel_description(),
        gemv_dot_bf16: half_dot_kernel_name(HalfFormat::Bf16),
        gemv_dot_f16: half_dot_kernel_name(HalfFormat::F16),
        gemv_prefetch: shared::prefetch::prefetch_description(),
        cpu_simd: shared::simd_tier::best_simd_tier().name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_model_name_of_each_architecture() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz\nflags\t: fpu\n";
        assert_eq!(model_name(x86).as_deref(), Some("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"));
        let arm = "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd0c\n\nHardware\t: BCM2835\n";
        assert_eq!(model_name(arm).as_deref(), Some("BCM2835"));
        assert_eq!(model_name("processor\t: 0\nmodel name\t:\n"), None, "an empty value is no name");
        assert_eq!(model_name(""), None);
    }

    #[test]
    fn the_dot_kernel_matches_the_cpu_flags() {
        // an independent reading of the same fact: the `flags` line of /proc/cpuinfo
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else { return };
        let Some(flags) = cpuinfo.lines().find(|l| l.starts_with("flags")) else { return };
        let has = |f: &str| flags.split_whitespace().any(|g| g == f);
        let tier = match (has("avx2") && has("fma") && has("f16c"), has("avx512f")) {
            (true, true) => "avx512",
            (true, false) => "avx2",
            (false, _) => "portable",
        };
        assert_eq!(kernels().cpu_simd, tier);
        // AMD family 19h (Zen 4) runs AVX-512 in 256-bit halves: decode uses AVX2 there
        let field = |name: &str| cpuinfo.lines().find(|l| l.starts_with(name)).and_then(|l| l.split(':').nth(1)).map(str::trim);
        let zen4 = field("vendor_id") == Some("AuthenticAMD") && field("cpu family") == Some("25");
        assert_eq!(kernels().gemv_dot_f32, if tier == "avx512" && zen4 { "avx2" } else { tier });
        // gemm's AVX-512 kernels only where the CPU has AVX-512F; its AVX2 ones where it has FMA
        let (fma, avx512f) = (flags.split_whitespace().any(|f| f == "fma"), flags.split_whitespace().any(|f| f == "avx512f"));
        let sgemm = kernels().sgemm;
        if shared::matmul::f32_gemm_kernel() == shared::matmul::GemmKernel::Gemm {
            match (avx512f, fma) {
                (false, true) => assert_eq!(sgemm, "gemm avx2+fma"),
                (false, false) => assert_eq!(sgemm, "gemm"),
                (true, _) => assert_eq!(sgemm, "gemm avx512"),
            }
        }
    }
}
