//! Every kernel widens as the `half` crate does and computes the dot product; `gemv_half` and
//! `gemv_half_rows` equal the f32 path on the widened matrix within f32 rounding, on 1 and 2
//! threads, on shapes that leave every remainder.

use super::*;
use crate::gemv::gemv;
use ndarray::Array1;

const FORMATS: [HalfFormat; 2] = [HalfFormat::Bf16, HalfFormat::F16];

/// Every dot product this CPU can run for `format`, with its name, worst tier first: the
/// portable one always, the AVX2 and AVX-512 ones where the CPU has their tier, each also in
/// its prefetching version (`+prefetch`).
fn kernels(format: HalfFormat) -> Vec<(&'static str, HalfDot)> {
    let best = crate::simd_tier::best_simd_tier();
    let mut all: Vec<(&'static str, HalfDot)> = match format {
        HalfFormat::Bf16 => vec![("portable", dot_bf16_portable)],
        HalfFormat::F16 => vec![("portable", dot_f16_portable)],
    };
    if best >= SimdTier::Avx2 {
        all.push(match format {
            HalfFormat::Bf16 => ("avx2", bf16_avx2::<false>),
            HalfFormat::F16 => ("avx2+f16c", f16_avx2::<false>),
        });
        all.push(match format {
            HalfFormat::Bf16 => ("avx2+prefetch", bf16_avx2::<true>),
            HalfFormat::F16 => ("avx2+f16c+prefetch", f16_avx2::<true>),
        });
    }
    if best >= SimdTier::Avx512 {
        all.push(match format {
            HalfFormat::Bf16 => ("avx512", bf16_avx512::<false>),
            HalfFormat::F16 => ("avx512", f16_avx512::<false>),
        });
        all.push(match format {
            HalfFormat::Bf16 => ("avx512+prefetch", bf16_avx512::<true>),
            HalfFormat::F16 => ("avx512+prefetch", f16_avx512::<true>),
        });
    } else {
        eprintln!("this CPU has no AVX-512F: the {} AVX-512 kernel not run", format.name());
    }
    all
}

/// The AVX-512 kernels return the AVX2 kernels' bits on rounding values, at every length
/// around their 32-wide step (on a CPU without AVX-512F: nothing to run, said on stderr).
#[test]
fn the_avx512_kernels_equal_the_avx2_kernels_bit_for_bit() {
    if crate::simd_tier::best_simd_tier() < SimdTier::Avx512 {
        eprintln!("this CPU has no AVX-512F: not run");
        return;
    }
    for format in FORMATS {
        let (narrow, wide, wide_prefetching): (HalfDot, HalfDot, HalfDot) = match format {
            HalfFormat::Bf16 => (bf16_avx2::<false>, bf16_avx512::<false>, bf16_avx512::<true>),
            HalfFormat::F16 => (f16_avx2::<false>, f16_avx512::<false>, f16_avx512::<true>),
        };
        let (w, x) = rounding_case(1, 3100, format);
        for len in (0..100).chain([767, 768, 769, 3072, 3073, 3100]) {
            let (w, x) = (&w.row(0)[..len], &x.as_slice().unwrap()[..len]);
            assert_eq!(wide(w, x).to_bits(), narrow(w, x).to_bits(), "{}, length {len}", format.name());
            assert_eq!(wide_prefetching(w, x).to_bits(), narrow(w, x).to_bits(), "{}, length {len}, prefetching", format.name());
        }
    }
}

/// Lengths around the 16 portable lanes and the AVX2 kernels' 8-wide loads and 32-wide step,
/// and the widths of GPT-2 and SmolLM2.
const LENGTHS: [usize; 16] = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 100, 576, 768, 771];

#[test]
fn the_avx2_widening_of_every_16_bit_pattern_equals_the_half_crate() {
    #[cfg(target_arch = "x86_64")]
    {
        /// Eight patterns widened by the SIMD code (through a function that enables its features).
        #[target_feature(enable = "avx2,f16c")]
        fn widen8(format: HalfFormat, bits: &[u16; 8]) -> [f32; 8] {
            // SAFETY: 8 readable u16; the features are checked before this function is called
            let wide = unsafe {
                match format {
                    HalfFormat::Bf16 => widen8_bf16(bits.as_ptr()),
                    HalfFormat::F16 => widen8_f16(bits.as_ptr()),
                }
            };
            let mut out = [0f32; 8];
            // SAFETY: `out` holds 8 f32
            unsafe { std::arch::x86_64::_mm256_storeu_ps(out.as_mut_ptr(), wide) };
            out
        }
        if crate::simd_tier::best_simd_tier() >= SimdTier::Avx2 {
            for format in FORMATS {
                for first in (0..=u16::MAX).step_by(8) {
                    let bits: [u16; 8] = std::array::from_fn(|k| first + k as u16);
                    // SAFETY: AVX2 and F16C checked just above
                    let wide = unsafe { widen8(format, &bits) };
                    for (b, w) in bits.into_iter().zip(wide) {
                        let expect = match format {
                            HalfFormat::Bf16 => half::bf16::from_bits(b).to_f32(),
                            HalfFormat::F16 => half::f16::from_bits(b).to_f32(),
                        };
                        let same = w.to_bits() == expect.to_bits() || (w.is_nan() && expect.is_nan());
                        assert!(same, "{} {b:#06x}: {w:e} vs {expect:e}", format.name());
                    }
                }
            }
            return;
        }
    }
    eprintln!("this CPU has no AVX2 and F16C: the SIMD widening not run");
}

/// Small integers, exact in bf16 (up to 256) and f16 (up to 2048), and every partial sum
/// exact in f32: any grouping of the additions gives the exact result.
fn integer_row(len: usize, format: HalfFormat) -> (Vec<u16>, Vec<f32>, f32) {
    let w: Vec<f32> = (0..len).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
    let x: Vec<f32> = (0..len).map(|i| ((i * 3) % 5) as f32 - 2.0).collect();
    let exact = w.iter().zip(&x).map(|(a, b)| a * b).sum();
    (w.iter().map(|&v| format.narrow(v)).collect(), x, exact)
}

#[test]
fn every_kernel_computes_integer_dot_products_exactly_at_every_length() {
    for format in FORMATS {
        for (name, dot) in kernels(format) {
            for len in LENGTHS {
                let (w, x, exact) = integer_row(len, format);
                assert_eq!(dot(&w, &x), exact, "{} {name}, length {len}", format.name());
            }
        }
        let (w, x, exact) = integer_row(771, format);
        assert_eq!(half_dot_kernel(format)(&w, &x), exact, "the chosen {} kernel", format.name());
    }
}

/// A `[out, in]` matrix of values that round, in `format`, and an `x` of values that round.
fn rounding_case(out: usize, n_in: usize, format: HalfFormat) -> (HalfMatrix, Array1<f32>) {
    let w = Array2::from_shape_fn((out, n_in), |(i, j)| ((i * 131 + j * 17) as f32 * 0.37).sin() * 0.2);
    let x = Array1::from_shape_fn(n_in, |j| ((j as f32) * 0.11).cos() * 3.0);
    (HalfMatrix::from_f32(format, w.view()), x)
}

/// `W x` in f64 from the widened weights, and the error bound of an f32 sum of `n_in` products
/// in any grouping: `n_in * eps * sum_i |w_i x_i|`, per row.
fn reference(w: &HalfMatrix, x: &Array1<f32>) -> (Vec<f64>, Vec<f64>) {
    let wide = w.to_f32();
    let n = w.ncols() as f64;
    wide.rows()
        .into_iter()
        .map(|row| {
            let products = row.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64);
            let sum: f64 = products.clone().sum();
            let magnitude: f64 = products.map(f64::abs).sum();
            (sum, n * f32::EPSILON as f64 * magnitude)
        })
        .unzip()
}

/// (out, in): fewer rows than a task, a few tasks of uneven length, in not a multiple of 8 or
/// 16, one row, one column, no columns.
const SHAPES: [(usize, usize); 8] = [(5, 37), (131, 37), (67, 8), (200, 771), (257, 100), (1, 1), (3, 1), (4, 0)];

#[test]
fn every_kernel_is_within_f32_rounding_of_the_f64_sum() {
    for format in FORMATS {
        let (w, x) = rounding_case(7, 771, format);
        let (exact, bound) = reference(&w, &x);
        for (name, dot) in kernels(format) {
            for r in 0..w.nrows() {
                let err = (dot(w.row(r), x.as_slice().unwrap()) as f64 - exact[r]).abs();
                assert!(err <= bound[r], "{} {name}, row {r}: error {err:e} > {:e}", format.name(), bound[r]);
            }
        }
    }
}

#[test]
fn gemv_half_equals_the_f32_path_on_the_widened_matrix_on_1_and_2_threads() -> Result<(), rayon::ThreadPoolBuildError> {
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        for format in FORMATS {
            for (out, n_in) in SHAPES {
                // small integers: exactly the naive sum, whatever the order and the row split
                let w_int = Array2::from_shape_fn((out, n_in), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
                let w_int = HalfMatrix::from_f32(format, w_int.view());
                let x_int = Array1::from_shape_fn(n_in, |j| (j % 5) as f32 * 0.5 - 1.0);
                let naive = w_int.to_f32().dot(&x_int); // exact: small integers times halves
                let mut y = Array1::zeros(out);
                pool.install(|| gemv_half(&w_int, x_int.view(), y.view_mut()));
                assert_eq!(y, naive, "{} integers, {threads} threads, [{out}, {n_in}]", format.name());

                // rounding values: within f32 rounding of the f64 sum, as the f32 path is
                let (w, x) = rounding_case(out, n_in, format);
                let (exact, bound) = reference(&w, &x);
                let mut y16 = Array1::zeros(out);
                pool.install(|| gemv_half(&w, x.view(), y16.view_mut()));
                let mut y32 = Array1::zeros(out);
                pool.install(|| gemv(w.to_f32().view(), x.view(), y32.view_mut()));
                for r in 0..out {
                    let case = format!("{}, {threads} threads, [{out}, {n_in}], row {r}", format.name());
                    assert!((y16[r] as f64 - exact[r]).abs() <= bound[r], "gemv_half {case}");
                    assert!((y32[r] as f64 - exact[r]).abs() <= bound[r], "gemv {case}");
                    assert!((y16[r] as f64 - y32[r] as f64).abs() <= 2.0 * bound[r], "{case}");
                }
            }
        }
    }
    Ok(())
}

#[test]
fn gemv_half_rows_equals_gemv_half_row_by_row_on_1_and_2_threads() -> Result<(), rayon::ThreadPoolBuildError> {
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        for format in FORMATS {
            for (out, n_in) in SHAPES {
                let (w, _) = rounding_case(out, n_in, format);
                for n in [0, 1, 3, 16] {
                    let x = Array2::from_shape_fn((n, n_in), |(b, j)| ((b * 5 + j) as f32 * 0.23).sin());
                    let y = pool.install(|| gemv_half_rows(x.view(), &w));
                    assert_eq!(y.dim(), (n, out));
                    for b in 0..n {
                        let x_b = x.row(b).to_owned();
                        let (exact, bound) = reference(&w, &x_b);
                        let mut one = Array1::zeros(out);
                        pool.install(|| gemv_half(&w, x_b.view(), one.view_mut()));
                        assert_eq!(y.row(b), one, "{} {threads} threads, [{out}, {n_in}], x row {b} of {n}", format.name());
                        for r in 0..out {
                            assert!((y[[b, r]] as f64 - exact[r]).abs() <= bound[r]);
                        }
                    }
                }
            }
        }
        // x in column-major order is read by its logical rows
        let (w, _) = rounding_case(9, 20, HalfFormat::Bf16);
        let x = Array2::from_shape_fn((20, 3), |(j, b)| (b * 20 + j) as f32 * 0.01);
        let x_t = x.t(); // [3, 20], not standard layout
        let y = pool.install(|| gemv_half_rows(x_t, &w));
        assert_eq!(y, pool.install(|| gemv_half_rows(x_t.as_standard_layout().view(), &w)));
    }
    Ok(())
}

#[test]
fn kernel_names_say_what_runs() {
    for format in FORMATS {
        let name = half_dot_kernel_name(format);
        // one per tier, worst first (the prefetching versions carry their tier's name)
        let names: Vec<&str> = kernels(format).into_iter().map(|(n, _)| n).filter(|n| !n.ends_with("+prefetch")).collect();
        // the kernel of the tier decode uses (the widest the CPU has, but AVX2 on AMD Zen 4,
        // which runs AVX-512 in halves: simd_tier's tests check that choice against /proc/cpuinfo)
        let tier = crate::simd_tier::default_simd_tier();
        assert_eq!(name, names[tier as usize], "the kernel of the {} tier is the one named", tier.name());
    }
}
