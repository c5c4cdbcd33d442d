//! Rotary attention: chapter 3's grouped-query attention with RoPE on queries and keys (and, for
//! Qwen3, an RMSNorm on each head's queries and keys before the rotation).
//!
//! Nothing is new in the attention itself: the fused `c_attn` projection, the heads, the causal
//! softmax and `c_proj` are chapter 3's [`MultiHeadAttention`]. What changes is what happens
//! between projecting and attending, which is exactly where chapter 8 puts the cache:
//! [`QkvAttention::project_qkv`] rotates q and k to their positions, so cached keys are stored
//! already rotated and never touched again.

use crate::config::DecoderConfig;
use crate::rms_norm::RmsNorm;
use crate::rope::Rope;
use ch03_attention::{MultiHeadAttention, Qkv};
use ch04_gpt::attention::{check_positions, no_cache};
use ch04_gpt::{Attention, QkvAttention};
use ndarray::{s, Array1, Array2, Array3, ArrayView2, ArrayView3, ArrayView4, Axis};
use ndarray_rand::rand::Rng;
use shared::{Checkpoint, Error, Float, Linear, Result};

/// Self-attention with rotary position embedding.
#[derive(Debug, Clone)]
pub struct RotaryAttention<F> {
    /// Chapter 3's attention: `c_attn` rows are `[q heads | k heads | v heads]`, then `c_proj`.
    pub mha: MultiHeadAttention<F>,
    /// Qwen3's `q_norm` and `k_norm`: RMSNorm over each head's `head_dim`.
    pub q_norm: Option<RmsNorm<F>>,
    pub k_norm: Option<RmsNorm<F>>,
    pub rope: Rope,
}

impl<F: Float> RotaryAttention<F> {
    /// Weights from N(0, std^2), biases zero, norms one.
    pub fn random<R: Rng>(config: &DecoderConfig, std: f64, rng: &mut R) -> Result<Self> {
        let c = config;
        let qkv_width = (c.n_heads + 2 * c.n_kv_heads) * c.head_dim;
        let mha = MultiHeadAttention {
            c_attn: Linear::random(c.d_model, qkv_width, c.qkv_bias, std, rng),
            c_proj: Linear::random(c.n_heads * c.head_dim, c.d_model, c.o_bias, std, rng),
            n_heads: c.n_heads,
            n_kv_heads: c.n_kv_heads,
            head_dim: c.head_dim,
        };
        Self::new(mha, c)
    }

    /// Chapter 3's attention plus this config's rotation and q/k norms.
    pub fn new(mha: MultiHeadAttention<F>, config: &DecoderConfig) -> Result<Self> {
        mha.validate()?;
        let norm = || config.qk_norm.then(|| RmsNorm::new(config.head_dim, config.norm_eps));
        Ok(RotaryAttention { mha, q_norm: norm(), k_norm: norm(), rope: Rope::new(&config.rope)? })
    }

    // ANCHOR: load
    /// Load one layer's attention. Llama and Qwen store `{prefix}.q_proj`, `k_proj`, `v_proj`
    /// (+ biases) and `o_proj`, fused here into chapter 3's `c_attn` rows `[q | k | v]`;
    /// Qwen3 adds `q_norm` and `k_norm`. GPT-NeoX stores one `query_key_value` laid out per
    /// head (see [`neox_qkv_to_fused`]) and `dense`.
    pub fn load(ckpt: &Checkpoint, prefix: &str, config: &DecoderConfig) -> Result<Self> {
        let c = config;
        let (d, hd) = (c.d_model, c.head_dim);
        let (q_rows, kv_rows) = (c.n_heads * hd, c.n_kv_heads * hd);
        let bias = |name: &str, len: usize, present: bool| -> Result<Option<Array1<F>>> {
            present.then(|| ckpt.vector(&format!("{prefix}.{name}.bias"), len)).transpose()
        };
        let (c_attn, c_proj) = if c.family == crate::config::Family::GptNeoX {
            let w: Array2<F> = ckpt.matrix(&format!("{prefix}.query_key_value.weight"), 3 * q_rows, d)?;
            let b = bias("query_key_value", 3 * q_rows, c.qkv_bias)?;
            let c_attn = Linear::new(
                neox_qkv_to_fused(w.view(), c.n_heads, hd)?, // widened: its rows are reordered (16-bit weights stay 16-bit elsewhere)
                b.map(|b| neox_qkv_to_fused(b.insert_axis(Axis(1)).view(), c.n_heads, hd).map(|b| b.remove_axis(Axis(1)))).transpose()?,
            );
            (c_attn, Linear::load(ckpt, &format!("{prefix}.dense"), q_rows, d, c.o_bias)?)
        } else {
            let lin = |name: &str, n_in: usize, n_out: usize, bias: bool| Linear::load(ckpt, &format!("{prefix}.{name}"), n_in, n_out, bias);
            let (q, k, v) = (lin("q_proj", d, q_rows, c.qkv_bias)?, lin("k_proj", d, kv_rows, c.qkv_bias)?, lin("v_proj", d, kv_rows, c.qkv_bias)?);
            (Linear::stack(&[q, k, v])?, lin("o_proj", q_rows, d, c.o_bias)?) // c_attn: [q + 2 kv, d]
        };
        let mha = MultiHeadAttention { c_attn, c_proj, n_heads: c.n_heads, n_kv_heads: c.n_kv_heads, head_dim: hd };
        let mut attn = Self::new(mha, c)?;
        if c.qk_norm {
            let eps = F::cast(c.norm_eps);
            attn.q_norm = Some(RmsNorm { weight: ckpt.vector(&format!("{prefix}.q_norm.weight"), hd)?, eps });
            attn.k_norm = Some(RmsNorm { weight: ckpt.vector(&format!("{prefix}.k_norm.weight"), hd)?, eps });
        }
        Ok(attn)
    }
    // ANCHOR_END: load
}

impl<F: Float> RotaryAttention<F> {
    // ANCHOR: project_normed
    /// Chapter 3's projection, then (Qwen3) an RMSNorm on each head's queries and keys; not
    /// rotated yet. x: `[batch, t, d_model]` -> q `[batch, n_heads, t, head_dim]`, k and v
    /// `[batch, n_kv_heads, t, head_dim]`.
    fn project_normed(&self, x: ArrayView3<F>) -> Result<Qkv<F>> {
        let Qkv { mut q, mut k, v } = self.mha.project_qkv(x)?; // chapter 3
        if let Some(norm) = &self.q_norm {
            q = norm.forward(q.view())?; // [batch, n_heads, t, head_dim]
        }
        if let Some(norm) = &self.k_norm {
            k = norm.forward(k.view())?; // [batch, n_kv_heads, t, head_dim]
        }
        Ok(Qkv { q, k, v })
    }
    // ANCHOR_END: project_normed
}

// ANCHOR: neox_relayout
/// GPT-NeoX's `query_key_value` rows are grouped per head, `[h0: q k v | h1: q k v | ...]`, each
/// `head_dim` rows (transformers views its output as `[.., n_heads, 3 head_dim]`). Chapter 3's
/// `c_attn` wants `[q h0 h1 .. | k h0 h1 .. | v h0 h1 ..]`. w: `[3 n_heads head_dim, cols]` ->
/// the same rows, reordered.
pub fn neox_qkv_to_fused<F: Float>(w: ndarray::ArrayView2<F>, n_heads: usize, head_dim: usize) -> Result<Array2<F>> {
    if w.nrows() != 3 * n_heads * head_dim {
        return Err(Error::Shape {
            op: "neox_qkv_to_fused",
            expected: format!("[3 * {n_heads} * {head_dim}, ..]"),
            found: format!("{:?}", w.shape()),
        });
    }
    let mut out = Array2::zeros(w.dim());
    for part in 0..3 {
        // part 0 = q, 1 = k, 2 = v
        for h in 0..n_heads {
            let from = (3 * h + part) * head_dim; // head h's block, then its q, k or v
            let to = (part * n_heads + h) * head_dim; // all q heads, then all k, then all v
            out.slice_mut(s![to..to + head_dim, ..]).assign(&w.slice(s![from..from + head_dim, ..]));
        }
    }
    Ok(out)
}
// ANCHOR_END: neox_relayout

// ANCHOR: project_qkv
impl<F: Float> QkvAttention<F> for RotaryAttention<F> {
    /// x: `[batch, t, d_model]` at positions `start_pos..start_pos + t` ->
    /// q `[batch, n_heads, t, head_dim]`, k and v `[batch, n_kv_heads, t, head_dim]`,
    /// q and k normalised per head (Qwen3) and rotated to their positions.
    fn project_qkv(&self, x: ArrayView3<F>, start_pos: usize) -> Result<Qkv<F>> {
        let Qkv { mut q, mut k, v } = self.project_normed(x)?; // chapter 3, then Qwen3's norms
        self.rope.apply_inplace(q.view_mut(), start_pos)?; // exercise ch06-2
        self.rope.apply_inplace(k.view_mut(), start_pos)?;
        Ok(Qkv { q, k, v })
    }

    /// Chapter 3's causal attention over k and v (which may hold earlier positions), then
    /// `c_proj` -> `[batch, q_len, d_model]`.
    fn attend(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<Array3<F>> {
        self.mha.attend(q, k, v)
    }

    // ANCHOR: project_qkv_at
    /// Chapter 9: token `t` of row `b` rotated to `positions[[b, t]]`, one token at a time.
    fn project_qkv_at(&self, x: ArrayView3<F>, positions: ArrayView2<usize>) -> Result<Qkv<F>> {
        check_positions(x, positions)?;
        let Qkv { mut q, mut k, v } = self.project_normed(x)?; // all rows at once
        for ((b, t), &position) in positions.indexed_iter() {
            self.rope.apply_inplace(q.slice_mut(s![b..=b, .., t..=t, ..]), position)?; // [1, n_heads, 1, head_dim]
            self.rope.apply_inplace(k.slice_mut(s![b..=b, .., t..=t, ..]), position)?;
        }
        Ok(Qkv { q, k, v })
    }
    // ANCHOR_END: project_qkv_at

    fn attend_masked(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>, mask: ArrayView3<F>) -> Result<Array3<F>> {
        self.mha.attend_masked(q, k, v, mask)
    }
}
// ANCHOR_END: project_qkv

/// Uncached, as chapter 4's blocks call it: the whole sequence, from position 0.
impl<F: Float> Attention<F> for RotaryAttention<F> {
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>> {
        if use_cache {
            return Err(no_cache());
        }
        let Qkv { q, k, v } = self.project_qkv(x, 0)?;
        self.attend(q.view(), k.view(), v.view())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Family;
    use ndarray::{Array4, ArrayView2};
    use shared::init;

    fn config(family: Family) -> DecoderConfig {
        DecoderConfig::tiny(family, 50, 16, 1, 4, 2)
    }

    #[test]
    fn neox_relayout_against_a_hand_built_tensor() {
        // 2 heads, head_dim 1: rows [h0q, h0k, h0v, h1q, h1k, h1v] -> [h0q, h1q, h0k, h1k, h0v, h1v]
        let w = ndarray::array![[0.0f64, 0.5], [1.0, 1.5], [2.0, 2.5], [3.0, 3.5], [4.0, 4.5], [5.0, 5.5]];
        let got = neox_qkv_to_fused(w.view(), 2, 1).unwrap();
        let want = ndarray::array![[0.0, 0.5], [3.0, 3.5], [1.0, 1.5], [4.0, 4.5], [2.0, 2.5], [5.0, 5.5]];
        assert_eq!(got, want);
        // head_dim 2: row r of head h, part p sits at (3h + p) 2 + r and goes to (p n + h) 2 + r
        let w = Array2::from_shape_fn((12, 1), |(r, _)| r as f64);
        let got = neox_qkv_to_fused(w.view(), 2, 2).unwrap();
        let order: Vec<f64> = got.iter().copied().collect();
        assert_eq!(order, [0., 1., 6., 7., 2., 3., 8., 9., 4., 5., 10., 11.]);
        assert!(neox_qkv_to_fused(w.view(), 3, 2).is_err());
    }

    /// The rotation computes its angles in the model's float type, as transformers does: for f32
    /// the result differs from the f64 rotation only by the rounding of the angle.
    #[test]
    fn f32_rotation_rounds_the_angle_to_f32() {
        let rope = Rope::new(&crate::rope::RopeConfig { partial_rotary_factor: 0.5, ..crate::rope::RopeConfig::new(8, 10000.0) }).unwrap();
        let x: Array4<f64> = init::normal((2, 3, 5, 8), 1.0, &mut init::rng(1));
        let want = rope.apply(x.view(), 1000).unwrap(); // f64
        assert_eq!(want.slice(s![.., .., .., 4..]), x.slice(s![.., .., .., 4..])); // tail untouched
        // f32 at position 1000: angle 1000 rad has an f32 spacing of 6e-5
        let x32 = x.mapv(|v| v as f32);
        let mut got32 = x32.clone();
        rope.apply_inplace(got32.view_mut(), 1000).unwrap();
        let diff = (&got32.mapv(f64::from) - &want).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
        assert!(diff < 1e-3, "f32: {diff}");
        assert!(diff > 1e-7, "f32 angles are rounded: {diff}");
        // by hand for one pair: the f32 angle of position 1000 and inv_freq 1 is exactly 1000
        let (s, c) = (1000.0f64.sin() as f32, 1000.0f64.cos() as f32);
        let (x1, x2) = (x32[[0, 0, 0, 0]], x32[[0, 0, 0, 2]]);
        assert_eq!(got32[[0, 0, 0, 0]], x1 * c - x2 * s);
        // pair 1: inv_freq = 10000^(-1/2) = 0.01, rounded to f32, times 1000 in f32
        let angle = 1000.0f32 * (0.01f64 as f32);
        let (s, c) = (f64::from(angle).sin() as f32, f64::from(angle).cos() as f32);
        let (x1, x2) = (x32[[0, 0, 0, 1]], x32[[0, 0, 0, 3]]);
        assert_eq!(got32[[0, 0, 0, 1]], x1 * c - x2 * s);
    }

    #[test]
    fn projection_rotates_q_and_k_at_the_start_position_and_leaves_v() {
        let c = config(Family::Llama);
        let attn = RotaryAttention::<f64>::random(&c, 0.5, &mut init::rng(2)).unwrap();
        let x: Array3<f64> = init::normal((1, 3, 16), 1.0, &mut init::rng(3));
        let plain = attn.mha.project_qkv(x.view()).unwrap();
        let got = attn.project_qkv(x.view(), 7).unwrap();
        assert_eq!(got.v, plain.v);
        assert_eq!(got.q, attn.rope.apply(plain.q.view(), 7).unwrap());
        let k_want = attn.rope.apply(plain.k.view(), 7).unwrap();
        assert!((&got.k - &k_want).iter().all(|d| d.abs() < 1e-14));
        assert_eq!(got.k.dim(), (1, 2, 3, 4)); // 2 kv heads
    }

    #[test]
    fn qwen3_normalises_each_head_before_rotating() {
        let c = config(Family::Qwen3);
        let mut attn = RotaryAttention::<f64>::random(&c, 0.5, &mut init::rng(4)).unwrap();
        attn.q_norm.as_mut().unwrap().weight = ndarray::array![1.0, 2.0, 0.5, -1.0];
        let x: Array3<f64> = init::normal((1, 2, 16), 1.0, &mut init::rng(5));
        let plain = attn.mha.project_qkv(x.view()).unwrap();
        let got = attn.project_qkv(x.view(), 0).unwrap(); // position 0 and 1
        // row 0 is at position 0, where the rotation is the identity: just the norm, by hand
        for h in 0..4 {
            let row = plain.q.slice(s![0, h, 0, ..]);
            let rms = (row.iter().map(|v| v * v).sum::<f64>() / 4.0 + c.norm_eps).sqrt();
            for (i, w) in [1.0, 2.0, 0.5, -1.0].iter().enumerate() {
                assert!((got.q[[0, h, 0, i]] - row[i] / rms * w).abs() < 1e-14);
            }
        }
        // row 1 is normalised, then rotated: the rotation keeps each pair's length
        let normed = attn.q_norm.as_ref().unwrap().forward(plain.q.view()).unwrap();
        for i in 0..2 {
            let (a, b) = (normed[[0, 1, 1, i]], normed[[0, 1, 1, i + 2]]);
            let (p, q) = (got.q[[0, 1, 1, i]], got.q[[0, 1, 1, i + 2]]);
            assert!((a.hypot(b) - p.hypot(q)).abs() < 1e-14);
        }
        assert!((&got.q.slice(s![.., .., 1, ..]) - &normed.slice(s![.., .., 1, ..])).iter().any(|d| d.abs() > 1e-3));
    }

    #[test]
    fn outputs_do_not_depend_on_later_tokens_and_scores_are_relative() {
        let c = config(Family::Llama);
        let mut attn = RotaryAttention::<f64>::random(&c, 0.5, &mut init::rng(6)).unwrap();
        let x: Array3<f64> = init::normal((1, 5, 16), 1.0, &mut init::rng(7));
        let mut y = x.clone();
        y.slice_mut(s![0, 4, ..]).fill(3.0);
        let a = attn.forward(x.view(), false).unwrap();
        let b = attn.forward(y.view(), false).unwrap();
        assert_eq!(a.slice(s![.., ..4, ..]), b.slice(s![.., ..4, ..]));
        assert_ne!(a.slice(s![.., 4, ..]), b.slice(s![.., 4, ..]));
        // the same tokens shifted to positions 10.. attend the same way (RoPE is relative)
        let Qkv { q, k, v } = attn.project_qkv(x.view(), 10).unwrap();
        let shifted = attn.attend(q.view(), k.view(), v.view()).unwrap();
        assert!((&shifted - &a).iter().all(|d| d.abs() < 1e-12));
        assert!(attn.forward(x.view(), true).is_err(), "no cache in this chapter");
    }

    #[test]
    fn fused_projection_is_q_k_v_stacked() {
        // c_attn rows [q | k | v] give the same q, k, v as three separate projections
        let c = config(Family::Qwen2);
        let attn = RotaryAttention::<f64>::random(&c, 0.5, &mut init::rng(8)).unwrap();
        let w = &attn.mha.c_attn.weight; // [(4 + 2 + 2) * 4, 16]
        assert_eq!(w.dim(), (32, 16));
        let x: Array3<f64> = init::normal((1, 1, 16), 1.0, &mut init::rng(9));
        let qkv = attn.mha.project_qkv(x.view()).unwrap();
        let k_rows: ArrayView2<f64> = w.slice(s![16..24, ..]);
        let k0: Array1<f64> = k_rows.dot(&x.slice(s![0, 0, ..])); // [8]: kv head 0 then 1
        assert!((k0[5] - qkv.k[[0, 1, 0, 1]]).abs() < 1e-14);
    }
}
