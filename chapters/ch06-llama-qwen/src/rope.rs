//! Rotary position embedding (RoPE; "RoFormer", Su et al.), as Hugging Face applies it.
//!
//! GPT-2 adds a learned position vector to each token once, at the bottom. RoPE instead rotates
//! each query and key, in every layer, by an angle proportional to its position: pair `i` of the
//! head's dimensions turns by `position * inv_freq[i]`, with `inv_freq[i] = theta^(-2i/d)` for
//! `i < d/2`. A rotation keeps lengths, and the dot product of two rotated vectors depends only
//! on the difference of their angles: attention scores see *relative* positions.
//!
//! Conventions, as in transformers' `rotate_half` (Llama, Qwen, GPT-NeoX):
//! - pair `i` is the dimensions `(i, i + d/2)`, not the interleaved `(2i, 2i + 1)` of the paper;
//! - partial rotary (GPT-NeoX's `rotary_pct`, `partial_rotary_factor` in transformers 5): only the
//!   first `rotary_dim = int(head_dim * pct)` dimensions rotate, with `d = rotary_dim` in the
//!   frequencies; the rest of the head passes through unchanged;
//! - Llama 3's `"rope_type": "llama3"` stretches the low frequencies (see [`llama3_scaling`]).
//!
//! Angles and their cos/sin are computed here in f64 and then rounded to `F`. (Transformers
//! computes `position * inv_freq` and its cos/sin in f32, even in a `.double()` model; a
//! comparison with it in f64 must allow for that.)

use ndarray::{Array4, ArrayView4};
use shared::{Error, Float, Result};

// Exercise ch06-2 (the rotation at an offset): `--features ex-ch06-2` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch06-2", path = "../exercises/ch06_2_rope_apply.rs")]
mod apply;

/// Llama 3's frequency scaling (`rope_scaling` / `rope_parameters` with `"rope_type": "llama3"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Llama3Scaling {
    pub factor: f64,                             // 8 for Llama 3.1, 32 for Llama 3.2
    pub low_freq_factor: f64,                    // 1
    pub high_freq_factor: f64,                   // 4
    pub original_max_position_embeddings: usize, // 8192
}

/// What fixes the rotation: the head size, the base `theta`, the rotating fraction and the
/// optional Llama 3 scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeConfig {
    pub head_dim: usize,
    pub theta: f64, // `rope_theta`: 10000 (GPT-NeoX, Llama 2), 500000 (Llama 3)
    pub partial_rotary_factor: f64, // 1.0, or GPT-NeoX's `rotary_pct` (0.25 for Pythia)
    pub llama3: Option<Llama3Scaling>,
}

impl RopeConfig {
    /// Every dimension rotates, no scaling.
    pub fn new(head_dim: usize, theta: f64) -> Self {
        RopeConfig {
            head_dim,
            theta,
            partial_rotary_factor: 1.0,
            llama3: None,
        }
    }

    /// `int(head_dim * partial_rotary_factor)`, truncated as transformers does.
    pub fn rotary_dim(&self) -> usize {
        (self.head_dim as f64 * self.partial_rotary_factor) as usize
    }
}

// ANCHOR: inverse_frequencies
/// `inv_freq[i] = 1 / theta^(2i / d)` for `i < d/2`, `d = rotary_dim`: `[d/2]`.
pub fn inverse_frequencies(theta: f64, rotary_dim: usize) -> Vec<f64> {
    (0..rotary_dim / 2)
        .map(|i| 1.0 / theta.powf((2 * i) as f64 / rotary_dim as f64))
        .collect()
}
// ANCHOR_END: inverse_frequencies

// ANCHOR: llama3_scaling
/// Llama 3's rescaling of the inverse frequencies, the formula of `_compute_llama3_parameters`
/// in transformers' `modeling_rope_utils.py`. With `wavelen = 2 pi / f` and the original
/// context `L`:
/// - `wavelen < L / high_freq_factor` (high frequencies, short range): `f` unchanged;
/// - `wavelen > L / low_freq_factor` (low frequencies, long range): `f / factor`;
/// - in between, a linear blend with `smooth = (L / wavelen - low) / (high - low)`:
///   `(1 - smooth) f / factor + smooth f`.
pub fn llama3_scaling(inv_freq: &[f64], scaling: &Llama3Scaling) -> Vec<f64> {
    let Llama3Scaling {
        factor,
        low_freq_factor: low,
        high_freq_factor: high,
        original_max_position_embeddings,
    } = *scaling;
    let old_context = original_max_position_embeddings as f64;
    let low_freq_wavelen = old_context / low;
    let high_freq_wavelen = old_context / high;
    inv_freq
        .iter()
        .map(|&f| {
            let wavelen = 2.0 * std::f64::consts::PI / f;
            if wavelen < high_freq_wavelen {
                f
            } else if wavelen > low_freq_wavelen {
                f / factor
            } else {
                let smooth = (old_context / wavelen - low) / (high - low);
                (1.0 - smooth) * f / factor + smooth * f
            }
        })
        .collect()
}
// ANCHOR_END: llama3_scaling

/// The rotation of one model: its inverse frequencies, checked once.
#[derive(Debug, Clone)]
pub struct Rope {
    head_dim: usize,
    inv_freq: Vec<f64>, // [rotary_dim / 2]
}

impl Rope {
    pub fn new(config: &RopeConfig) -> Result<Self> {
        let bad = |reason: String| Err(Error::InvalidConfig(format!("rope: {reason}")));
        let rotary_dim = config.rotary_dim();
        if !(config.theta.is_finite() && config.theta > 1.0) {
            return bad(format!(
                "rope_theta must be a finite number > 1, got {}",
                config.theta
            ));
        }
        if !(config.partial_rotary_factor > 0.0 && config.partial_rotary_factor <= 1.0) {
            return bad(format!(
                "partial_rotary_factor (rotary_pct) must be in (0, 1], got {}",
                config.partial_rotary_factor
            ));
        }
        if rotary_dim == 0 || !rotary_dim.is_multiple_of(2) {
            return bad(format!(
                "rotary_dim = int(head_dim {} * {}) = {rotary_dim} must be even and > 0",
                config.head_dim, config.partial_rotary_factor
            ));
        }
        let mut inv_freq = inverse_frequencies(config.theta, rotary_dim);
        if let Some(scaling) = &config.llama3 {
            if !(scaling.factor > 0.0
                && scaling.low_freq_factor > 0.0
                && scaling.high_freq_factor > scaling.low_freq_factor
                && scaling.original_max_position_embeddings > 0)
            {
                return bad(format!(
                    "llama3 scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and \
                     original_max_position_embeddings > 0, got {scaling:?}"
                ));
            }
            inv_freq = llama3_scaling(&inv_freq, scaling);
        }
        Ok(Rope {
            head_dim: config.head_dim,
            inv_freq,
        })
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
    }
    /// How many leading dimensions of a head rotate.
    pub fn rotary_dim(&self) -> usize {
        2 * self.inv_freq.len()
    }
    /// `[rotary_dim / 2]`, after any scaling.
    pub fn inv_freq(&self) -> &[f64] {
        &self.inv_freq
    }

    /// The cosines and sines of every pair's angle at `position` (`[rotary_dim / 2]` each),
    /// computed as [`apply_inplace`](Self::apply_inplace) computes them: for a decode path that
    /// rotates one token in every layer with the same angles (chapter 8's fast step).
    pub fn cos_sin_at<F: Float>(&self, position: usize, cos: &mut [F], sin: &mut [F]) {
        let position = F::cast(position as f64);
        for ((&f, c), s) in self.inv_freq.iter().zip(cos.iter_mut()).zip(sin.iter_mut()) {
            let angle = position * F::cast(f); // in F, as apply_inplace
            let (sa, ca) = angle.as_f64().sin_cos();
            (*c, *s) = (F::cast(ca), F::cast(sa));
        }
    }

    /// Rotate one token's heads, `head_dim` values each one after the other, by the angles of
    /// [`cos_sin_at`](Self::cos_sin_at): the same result as [`apply_inplace`](Self::apply_inplace).
    pub fn rotate_heads<F: Float>(&self, heads: &mut [F], cos: &[F], sin: &[F]) {
        let half = self.inv_freq.len();
        for head in heads.chunks_exact_mut(self.head_dim) {
            for i in 0..half {
                let (x1, x2) = (head[i], head[i + half]);
                head[i] = x1 * cos[i] - x2 * sin[i];
                head[i + half] = x2 * cos[i] + x1 * sin[i];
            }
        }
    }

    /// x: `[batch, heads, seq, head_dim]`, token `t` at position `start_pos + t` -> the same shape.
    pub fn apply<F: Float>(&self, x: ArrayView4<F>, start_pos: usize) -> Result<Array4<F>> {
        let mut y = x.to_owned();
        self.apply_inplace(y.view_mut(), start_pos)?;
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array4};
    use shared::init;

    fn random_x(shape: (usize, usize, usize, usize), seed: u64) -> Array4<f64> {
        init::normal(shape, 1.0, &mut init::rng(seed))
    }

    #[test]
    fn reference_values_for_head_dim_4() {
        // theta 10000, d 4: inv_freq = [10000^0, 10000^(-2/4)] = [1, 0.01].
        let rope = Rope::new(&RopeConfig::new(4, 10000.0)).unwrap();
        assert_eq!(rope.inv_freq()[0], 1.0);
        assert!((rope.inv_freq()[1] - 0.01).abs() < 1e-18);
        // x = [1, 2, 3, 4] at position 1: pairs (x0, x2) = (1, 3) by angle 1,
        // (x1, x3) = (2, 4) by angle 0.01.
        // cos 1 = 0.5403023058681398, sin 1 = 0.8414709848078965
        // cos 0.01 = 0.9999500004166653, sin 0.01 = 0.009999833334166664
        let x = Array4::<f64>::from_shape_vec(
            (1, 1, 2, 4),
            vec![9.0, 9.0, 9.0, 9.0, 1.0, 2.0, 3.0, 4.0],
        )
        .unwrap();
        let y = rope.apply(x.view(), 0).unwrap(); // row 1 is at position 1
        let (c1, s1) = (0.540_302_305_868_139_8, 0.841_470_984_807_896_5);
        let (c2, s2) = (0.999_950_000_416_665_3, 0.009_999_833_334_166_664);
        let want = [
            1.0 * c1 - 3.0 * s1,
            2.0 * c2 - 4.0 * s2,
            3.0 * c1 + 1.0 * s1,
            4.0 * c2 + 2.0 * s2,
        ];
        for (i, w) in want.iter().enumerate() {
            assert!(
                (y[[0, 0, 1, i]] - w).abs() < 1e-15,
                "dim {i}: {} vs {w}",
                y[[0, 0, 1, i]]
            );
        }
        // by hand: 1 cos 1 - 3 sin 1 = -1.9841106485555497
        assert!((y[[0, 0, 1, 0]] + 1.984_110_648_555_549_7).abs() < 1e-14);
    }

    #[test]
    fn position_zero_is_the_identity() {
        let rope = Rope::new(&RopeConfig::new(8, 10000.0)).unwrap();
        let x = random_x((2, 3, 1, 8), 1);
        assert_eq!(rope.apply(x.view(), 0).unwrap(), x);
    }

    #[test]
    fn each_pair_keeps_its_norm() {
        let rope = Rope::new(&RopeConfig::new(8, 10000.0)).unwrap();
        let x = random_x((1, 2, 5, 8), 2);
        let y = rope.apply(x.view(), 17).unwrap();
        for b in 0..1 {
            for h in 0..2 {
                for t in 0..5 {
                    for i in 0..4 {
                        let n_x = x[[b, h, t, i]].hypot(x[[b, h, t, i + 4]]);
                        let n_y = y[[b, h, t, i]].hypot(y[[b, h, t, i + 4]]);
                        assert!((n_x - n_y).abs() < 1e-12, "pair {i}: {n_x} vs {n_y}");
                    }
                }
            }
        }
        // and it did move something
        assert!((&y - &x).iter().any(|d| d.abs() > 1e-3));
    }

    #[test]
    fn scores_depend_only_on_the_relative_position() {
        // <rope(q, m), rope(k, n)> = <rope(q, m + 5), rope(k, n + 5)>
        let rope = Rope::new(&RopeConfig::new(8, 10000.0)).unwrap();
        let q = random_x((1, 1, 1, 8), 3);
        let k = random_x((1, 1, 1, 8), 4);
        let dot = |m: usize, n: usize| {
            let a = rope.apply(q.view(), m).unwrap();
            let b = rope.apply(k.view(), n).unwrap();
            a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>()
        };
        for (m, n) in [(3, 1), (0, 7), (10, 10), (40, 2)] {
            let (d0, d5) = (dot(m, n), dot(m + 5, n + 5));
            assert!((d0 - d5).abs() < 1e-12, "m {m}, n {n}: {d0} vs {d5}");
        }
        // a different distance gives a different score: the test can fail
        assert!((dot(3, 1) - dot(4, 1)).abs() > 1e-6);
    }

    #[test]
    fn one_token_at_offset_p_equals_row_p_of_the_whole_sequence() {
        // What a KV cache relies on: the decode step at position p rotates exactly as the
        // prefill rotated row p.
        let rope = Rope::new(&RopeConfig::new(6, 10000.0)).unwrap();
        let x = random_x((2, 2, 7, 6), 5);
        let whole = rope.apply(x.view(), 0).unwrap();
        for p in 0..7 {
            let one = x.slice(s![.., .., p..p + 1, ..]);
            let got = rope.apply(one, p).unwrap();
            assert_eq!(
                got.slice(s![.., .., 0, ..]),
                whole.slice(s![.., .., p, ..]),
                "p = {p}"
            );
        }
        // and a chunk [3..7) at offset 3 equals rows 3..7
        let chunk = rope.apply(x.slice(s![.., .., 3.., ..]), 3).unwrap();
        assert_eq!(chunk, whole.slice(s![.., .., 3.., ..]));
    }

    #[test]
    fn partial_rotary_rotates_the_head_and_leaves_the_tail_bit_identical() {
        // Pythia: rotary_pct 0.25. head_dim 16 -> rotary_dim 4, pairs (0, 2), (1, 3).
        let config = RopeConfig {
            partial_rotary_factor: 0.25,
            ..RopeConfig::new(16, 10000.0)
        };
        let rope = Rope::new(&config).unwrap();
        assert_eq!(rope.rotary_dim(), 4);
        // the frequencies use d = rotary_dim: [1, 10000^(-2/4)] = [1, 0.01]
        assert_eq!(rope.inv_freq().len(), 2);
        assert!((rope.inv_freq()[1] - 0.01).abs() < 1e-18);
        let x = random_x((1, 2, 4, 16), 6);
        let y = rope.apply(x.view(), 9).unwrap();
        assert_eq!(y.slice(s![.., .., .., 4..]), x.slice(s![.., .., .., 4..]));
        // the first 4 equal a full rotary of head_dim 4 on those 4 dimensions
        let full = Rope::new(&RopeConfig::new(4, 10000.0)).unwrap();
        let head = full.apply(x.slice(s![.., .., .., ..4]), 9).unwrap();
        assert_eq!(y.slice(s![.., .., .., ..4]), head);
        assert!((&head - &x.slice(s![.., .., .., ..4]))
            .iter()
            .any(|d| d.abs() > 1e-3));
    }

    #[test]
    fn llama3_scaling_in_its_three_regimes() {
        // L = 8192, low 1, high 4, factor 8: wavelengths below 8192/4 = 2048 are kept, above
        // 8192/1 = 8192 divided by 8, in between blended.
        let scaling = Llama3Scaling {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192,
        };
        let two_pi = 2.0 * std::f64::consts::PI;
        // wavelengths 100 (high), 20000 (low), 4096 (middle)
        let inv_freq = [two_pi / 100.0, two_pi / 20000.0, two_pi / 4096.0];
        let got = llama3_scaling(&inv_freq, &scaling);
        assert_eq!(got[0], inv_freq[0]);
        assert!((got[1] - inv_freq[1] / 8.0).abs() < 1e-18);
        // middle: smooth = (8192 / 4096 - 1) / (4 - 1) = 1/3
        // -> (2/3) f / 8 + (1/3) f = f (1/12 + 1/3) = f 5/12
        assert!(
            (got[2] - inv_freq[2] * 5.0 / 12.0).abs() < 1e-15,
            "{} vs {}",
            got[2],
            inv_freq[2] * 5.0 / 12.0
        );
        // at the band's edges the blend meets the two outer regimes
        let edges = llama3_scaling(&[two_pi / 2048.0, two_pi / 8192.0], &scaling);
        assert!((edges[0] - two_pi / 2048.0).abs() < 1e-15); // smooth = 1
        assert!((edges[1] - two_pi / 8192.0 / 8.0).abs() < 1e-15); // smooth = 0

        // through Rope: Llama 3.1's shape (head_dim 128, theta 500000)
        let config = RopeConfig {
            llama3: Some(scaling),
            ..RopeConfig::new(128, 500000.0)
        };
        let scaled = Rope::new(&config).unwrap();
        let plain = inverse_frequencies(500000.0, 128);
        assert_eq!(scaled.inv_freq()[0], plain[0]); // 1.0, wavelength 2 pi
        assert!((scaled.inv_freq()[63] - plain[63] / 8.0).abs() < 1e-20); // the lowest frequency
    }

    #[test]
    fn bad_configs_and_shapes_are_errors() {
        let odd = RopeConfig::new(5, 10000.0);
        assert!(matches!(Rope::new(&odd), Err(Error::InvalidConfig(_))));
        let zero_pct = RopeConfig {
            partial_rotary_factor: 0.0,
            ..RopeConfig::new(8, 10000.0)
        };
        assert!(matches!(Rope::new(&zero_pct), Err(Error::InvalidConfig(_))));
        assert!(matches!(
            Rope::new(&RopeConfig::new(8, f64::NAN)),
            Err(Error::InvalidConfig(_))
        ));
        let flat = RopeConfig {
            llama3: Some(Llama3Scaling {
                factor: 8.0,
                low_freq_factor: 4.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 8192,
            }),
            ..RopeConfig::new(8, 10000.0)
        };
        assert!(matches!(Rope::new(&flat), Err(Error::InvalidConfig(_))));
        let rope = Rope::new(&RopeConfig::new(8, 10000.0)).unwrap();
        let err = rope
            .apply(Array4::<f32>::zeros((1, 1, 2, 6)).view(), 0)
            .unwrap_err();
        assert!(matches!(err, Error::Shape { op: "rope", .. }), "{err}");
    }
}
