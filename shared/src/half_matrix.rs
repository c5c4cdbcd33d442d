//! A weight matrix kept in 16 bits: the numbers of a bf16 or f16 checkpoint, as they were
//! stored, never widened to f32 in memory.
//!
//! Decode at batch 1 reads every weight once per token, so its speed is the memory's speed
//! divided by the weights' size. Llama and Qwen ship bf16 checkpoints; read as f32 they take
//! twice the memory and twice the time per token. A [`HalfMatrix`] holds the 16-bit patterns
//! (`[out, in]`, row major) and which format they are in; [`gemv_half`](crate::gemv_half)
//! widens them to f32 inside the dot product, in registers, so memory carries 2 bytes a weight.
//!
//! Both formats widen to f32 exactly (every bf16 and every f16 is an f32):
//! - **bf16** is the top half of an f32: sign, the same 8-bit exponent, 7 bits of mantissa.
//!   Widening is a shift: `f32::from_bits((bits as u32) << 16)` ([`widen_bf16`]). Narrowing
//!   keeps the top 16 bits, rounded to nearest, ties to even ([`bf16_from_f32`]).
//! - **f16** (IEEE half) has a 5-bit exponent and 10 bits of mantissa: widening re-biases the
//!   exponent and normalises subnormals, which x86's F16C instructions do eight at a time;
//!   here it is the `half` crate's conversion.

use crate::error::{Error, Result};
use crate::huge_pages::onto_huge_pages;
use ndarray::{Array1, Array2, ArrayView2};

/// Which 16-bit float a [`HalfMatrix`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HalfFormat {
    /// bfloat16: the top 16 bits of an f32 (8-bit exponent, 7-bit mantissa).
    Bf16,
    /// IEEE 754 binary16 (5-bit exponent, 10-bit mantissa).
    F16,
}

impl HalfFormat {
    /// The name used in messages and reports (`"bf16"`, `"f16"`).
    pub fn name(self) -> &'static str {
        match self {
            HalfFormat::Bf16 => "bf16",
            HalfFormat::F16 => "f16",
        }
    }

    /// The f32 that the 16-bit pattern `bits` stands for (exact).
    #[inline(always)]
    pub fn widen(self, bits: u16) -> f32 {
        match self {
            HalfFormat::Bf16 => widen_bf16(bits),
            HalfFormat::F16 => half::f16::from_bits(bits).to_f32(),
        }
    }

    /// The 16-bit pattern nearest to `x` (ties to even; NaN stays NaN).
    pub fn narrow(self, x: f32) -> u16 {
        match self {
            HalfFormat::Bf16 => bf16_from_f32(x),
            HalfFormat::F16 => half::f16::from_f32(x).to_bits(),
        }
    }
}

/// `bits` in `format` widened into `out` (the same length), exactly.
pub fn widen_slice(format: HalfFormat, bits: &[u16], out: &mut [f32]) {
    assert_eq!(bits.len(), out.len(), "widen_slice: as many outputs as inputs");
    match format {
        // a plain loop of shifts, which the compiler turns into SIMD code
        HalfFormat::Bf16 => out.iter_mut().zip(bits).for_each(|(o, &b)| *o = widen_bf16(b)),
        // the `half` crate converts with F16C where the CPU has it (checked at run time)
        HalfFormat::F16 => {
            use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
            bits.reinterpret_cast::<half::f16>().convert_to_f32_slice(out)
        }
    }
}

// ANCHOR: bf16_bits
/// The f32 a bf16 pattern stands for: its 16 bits become the top half of the f32's 32.
#[inline(always)]
pub fn widen_bf16(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// The bf16 nearest to `x`: the top 16 bits of its f32 pattern, rounded to nearest with ties
/// to even (add just under half of the dropped range, plus the kept part's lowest bit).
/// A value past the largest bf16 rounds to infinity, as IEEE rounding does; a NaN stays a
/// (quiet) NaN instead of rounding into infinity.
pub fn bf16_from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) as u16) | 0x0040; // keep the sign, set the quiet bit
    }
    let lowest_kept_bit = (bits >> 16) & 1;
    ((bits + 0x7FFF + lowest_kept_bit) >> 16) as u16 // no overflow: NaNs left above; at most 0xFF7F_FFFF + 0x8000
}
// ANCHOR_END: bf16_bits

/// A `[rows, cols]` matrix of 16-bit floats, row major, stored as their bit patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct HalfMatrix {
    format: HalfFormat,
    rows: usize,
    cols: usize,
    bits: Array1<u16>, // [rows, cols], row major, on 2 MiB pages where large enough
}

impl HalfMatrix {
    /// The one constructor: decode streams `bits` once a token, so they go onto huge pages
    /// ([`onto_huge_pages`]).
    fn new(format: HalfFormat, rows: usize, cols: usize, bits: Vec<u16>) -> Self {
        HalfMatrix { format, rows, cols, bits: onto_huge_pages(Array1::from_vec(bits)) }
    }

    /// A matrix from its bit patterns, row major; `bits` must hold `rows * cols` of them.
    pub fn from_bits(format: HalfFormat, rows: usize, cols: usize, bits: Vec<u16>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(bits.len()) {
            return Err(Error::Shape {
                op: "HalfMatrix::from_bits",
                expected: format!("{rows} x {cols} values"),
                found: format!("{}", bits.len()),
            });
        }
        Ok(HalfMatrix::new(format, rows, cols, bits))
    }

    /// Each number of `w` rounded to the nearest 16-bit value of `format` (ties to even).
    pub fn from_f32(format: HalfFormat, w: ArrayView2<f32>) -> Self {
        let (rows, cols) = w.dim();
        let bits = w.iter().map(|&v| format.narrow(v)).collect(); // ndarray iterates in logical order
        HalfMatrix::new(format, rows, cols, bits)
    }

    /// The same numbers as an f32 matrix (exact: every 16-bit value is an f32).
    pub fn to_f32(&self) -> Array2<f32> {
        let mut out = Array2::zeros((self.rows, self.cols));
        self.widen_rows_into(0..self.rows, out.as_slice_mut().expect("new array"));
        out
    }

    // ANCHOR: widen_rows_into
    /// Rows `rows` widened to f32 into `out` (`[rows.len(), cols]`, row major), on the calling
    /// thread. Prefill widens a 16-bit matrix a block at a time into a buffer it reuses
    /// ([`matmul_t_filled`](crate::matmul::matmul_t_filled)), so this copy must cost little
    /// beside the product: a bf16 weight is a shift, an f16 one a conversion that F16C does
    /// eight at a time.
    pub fn widen_rows_into(&self, rows: std::ops::Range<usize>, out: &mut [f32]) {
        assert!(rows.end <= self.rows, "widen_rows_into: rows {rows:?} of {}", self.rows);
        let bits = &self.bits()[rows.start * self.cols..rows.end * self.cols];
        widen_slice(self.format, bits, out);
    }
    // ANCHOR_END: widen_rows_into

    /// The transpose, `[cols, rows]`, in row-major order: GPT-2's `Conv1D` stores `[in, out]`,
    /// and the decode kernel wants `[out, in]`.
    pub fn transposed(&self) -> Self {
        let mut bits = Vec::with_capacity(self.bits.len());
        for c in 0..self.cols {
            bits.extend((0..self.rows).map(|r| self.bits[r * self.cols + c]));
        }
        HalfMatrix::new(self.format, self.cols, self.rows, bits)
    }

    pub fn format(&self) -> HalfFormat {
        self.format
    }
    pub fn nrows(&self) -> usize {
        self.rows
    }
    pub fn ncols(&self) -> usize {
        self.cols
    }
    /// Every bit pattern, row major: `[rows, cols]`.
    pub fn bits(&self) -> &[u16] {
        self.bits.as_slice().expect("built contiguous")
    }
    /// Row `r`'s bit patterns: `[cols]`.
    pub fn row(&self, r: usize) -> &[u16] {
        &self.bits()[r * self.cols..(r + 1) * self.cols]
    }
    /// The bytes the weights take in memory (2 a number; an f32 matrix takes twice as many).
    pub fn size_bytes(&self) -> usize {
        self.bits.len() * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Whether two f32 are the same value: equal bit patterns, or both NaN.
    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// The value an IEEE binary16 pattern stands for, from the standard's formula (an
    /// independent reference for the F16C path): `(-1)^s 2^(e-15) (1 + m/1024)`, subnormals
    /// `(-1)^s 2^-14 (m/1024)`, exponent 31 for infinities and NaNs.
    fn f16_by_formula(bits: u16) -> f32 {
        let sign = if bits & 0x8000 != 0 { -1.0f64 } else { 1.0 };
        let (e, m) = (((bits >> 10) & 0x1f) as i32, (bits & 0x3ff) as f64);
        let magnitude = match e {
            0 => 2f64.powi(-14) * (m / 1024.0),
            31 if m == 0.0 => f64::INFINITY,
            31 => f64::NAN,
            _ => 2f64.powi(e - 15) * (1.0 + m / 1024.0),
        };
        (sign * magnitude) as f32 // exact: every f16 is an f32
    }

    /// Every pattern through the slice conversion prefill uses (SIMD, F16C where the CPU has
    /// it), whole and from an odd offset so that no block boundary lines up: the value the
    /// formula gives (f16) or the top half of an f32 (bf16).
    #[test]
    fn widening_a_slice_gives_every_pattern_its_value() {
        let all: Vec<u16> = (0..=u16::MAX).collect();
        for offset in [0, 3] {
            let bits = &all[offset..];
            let mut out = vec![0f32; bits.len()];
            widen_slice(HalfFormat::F16, bits, &mut out);
            for (&b, &v) in bits.iter().zip(&out) {
                assert!(same(v, f16_by_formula(b)), "f16 {b:#06x}: {v:e}");
            }
            widen_slice(HalfFormat::Bf16, bits, &mut out);
            for (&b, &v) in bits.iter().zip(&out) {
                assert_eq!(v.to_bits() >> 16, b as u32, "bf16 {b:#06x}: the top half");
                assert_eq!(v.to_bits() & 0xffff, 0, "bf16 {b:#06x}: the low half is zero");
            }
        }
    }

    #[test]
    fn widening_every_16_bit_pattern_equals_the_half_crate() {
        for bits in 0..=u16::MAX {
            let (ours, theirs) = (HalfFormat::Bf16.widen(bits), half::bf16::from_bits(bits).to_f32());
            assert!(same(ours, theirs), "bf16 {bits:#06x}: {ours:e} vs {theirs:e}");
            let (ours, theirs) = (HalfFormat::F16.widen(bits), half::f16::from_bits(bits).to_f32());
            assert!(same(ours, theirs), "f16 {bits:#06x}: {ours:e} vs {theirs:e}");
        }
    }

    #[test]
    fn bf16_widens_known_patterns_to_their_ieee_values() {
        // 1, -2.5, -0, the smallest subnormal 2^-133, the largest finite (2 - 2^-7) 2^127, +-inf
        let cases: [(u16, f32); 7] = [
            (0x3F80, 1.0),
            (0xC020, -2.5),
            (0x8000, -0.0),
            (0x0001, 2f32.powi(-133)),
            (0x7F7F, (2.0 - 2f32.powi(-7)) * 2f32.powi(127)),
            (0x7F80, f32::INFINITY),
            (0xFF80, f32::NEG_INFINITY),
        ];
        for (bits, value) in cases {
            assert_eq!(widen_bf16(bits).to_bits(), value.to_bits(), "{bits:#06x}");
        }
        assert!(widen_bf16(0x7FC0).is_nan());
    }

    #[test]
    fn bf16_rounds_to_nearest_with_ties_to_even() {
        let ulp = 2f32.powi(-7); // bf16's spacing in [1, 2)
        let cases: [(f32, u16); 12] = [
            (1.0, 0x3F80),
            (1.0 + ulp / 2.0, 0x3F80),                     // tie, 0x3F80 is even: down
            (1.0 + ulp / 2.0 + 2f32.powi(-23), 0x3F81),    // just past the tie: up
            (1.0 + ulp + ulp / 2.0, 0x3F82),               // tie, 0x3F81 is odd: up to even
            (1.0 + ulp / 2.0 - 2f32.powi(-23), 0x3F80),    // just below the tie: down
            (-0.0, 0x8000),
            (f32::from_bits(0x0000_8000), 0x0000),         // f32 subnormal, a tie: down to +0
            (f32::from_bits(0x0001_8000), 0x0002),         // subnormal tie, odd: up to even
            (f32::MAX, 0x7F80),                            // past the largest bf16: infinity
            (f32::INFINITY, 0x7F80),
            (f32::NEG_INFINITY, 0xFF80),
            (-2.5, 0xC020),
        ];
        for (x, bits) in cases {
            assert_eq!(bf16_from_f32(x), bits, "{x:e} ({:#010x})", x.to_bits());
        }
        let nan = bf16_from_f32(f32::from_bits(0x7F80_0001)); // a NaN whose payload is in the dropped bits
        assert!(widen_bf16(nan).is_nan(), "{nan:#06x}");
    }

    #[test]
    fn bf16_narrowing_equals_the_half_crate_on_a_sweep_of_f32_patterns() {
        // every 65,537th pattern (odd stride: all residues of the low 16 bits appear), and the
        // patterns next to every tie and every infinity
        let strided = (0..=u32::MAX / 65_537).map(|k| k * 65_537);
        let near_ties = (0..=u16::MAX as u32).flat_map(|hi| [0x7FFF, 0x8000, 0x8001].map(|lo| (hi << 16) | lo));
        for bits in strided.chain(near_ties) {
            let x = f32::from_bits(bits);
            let (ours, theirs) = (bf16_from_f32(x), half::bf16::from_f32(x).to_bits());
            assert!(ours == theirs || (x.is_nan() && widen_bf16(ours).is_nan()), "{bits:#010x}: {ours:#06x} vs {theirs:#06x}");
        }
    }

    #[test]
    fn from_f32_rounds_each_value_and_to_f32_gives_it_back() {
        let w = array![[1.0f32, -2.5, 1.0 + 2f32.powi(-9)], [65504.0, -0.0, 3.0e-8]]; // [2, 3]
        for format in [HalfFormat::Bf16, HalfFormat::F16] {
            let m = HalfMatrix::from_f32(format, w.view());
            assert_eq!((m.nrows(), m.ncols(), m.format(), m.size_bytes()), (2, 3, format, 12));
            let expect: Vec<u16> = w.iter().map(|&v| match format {
                HalfFormat::Bf16 => half::bf16::from_f32(v).to_bits(),
                HalfFormat::F16 => half::f16::from_f32(v).to_bits(),
            }).collect();
            assert_eq!(m.bits(), &expect[..], "{format:?}");
            assert_eq!(m.row(1), &expect[3..], "{format:?}");
            let back = m.to_f32();
            for (b, &bits) in back.iter().zip(&expect) {
                assert!(same(*b, format.widen(bits)));
            }
            // a round trip through 16 bits is exact for numbers that fit
            let fits = array![[1.0f32, -2.5], [0.125, -0.0]];
            assert_eq!(HalfMatrix::from_f32(format, fits.view()).to_f32(), fits);
        }
        // a column-major view is read in logical order
        let t = w.t(); // [3, 2]
        assert_eq!(HalfMatrix::from_f32(HalfFormat::F16, t).to_f32(), HalfMatrix::from_f32(HalfFormat::F16, w.view()).to_f32().t());
    }

    #[test]
    fn transposed_swaps_rows_and_columns() {
        let m = HalfMatrix::from_bits(HalfFormat::Bf16, 2, 3, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let t = m.transposed();
        assert_eq!((t.nrows(), t.ncols()), (3, 2));
        assert_eq!(t.bits(), &[1, 4, 2, 5, 3, 6]);
        assert_eq!(t.transposed(), m);
    }

    #[test]
    fn from_bits_checks_the_length() {
        let err = HalfMatrix::from_bits(HalfFormat::F16, 2, 3, vec![0; 5]).unwrap_err();
        assert!(matches!(err, Error::Shape { .. }), "{err}");
        assert!(HalfMatrix::from_bits(HalfFormat::F16, usize::MAX, 2, vec![]).is_err());
        assert!(HalfMatrix::from_bits(HalfFormat::F16, 0, 7, vec![]).is_ok());
    }
}
