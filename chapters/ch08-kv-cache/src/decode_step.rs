//! The fast path of a cached decode step: one token of a batch of one, through the same
//! weights and the same arithmetic as the plain forward pass, in buffers kept from one step to
//! the next ([`DecodeScratch`]), so that a step allocates nothing once they exist.
//!
//! The plain path (chapter 4's and chapter 6's layers, each returning a new array) is the
//! lesson, and every proof of this chapter runs it. This is its harness for speed and memory: a
//! decode step of a small model is ~120 matrix x vector products with short steps between them
//! (norms, rotation, attention over the cache, residual adds), which the plain path runs on a
//! dozen fresh arrays per layer; here they run in place, and a step allocates nothing.
//! Every operation below computes what its plain counterpart computes, in the same order, so
//! the logits are equal bit for bit (`tests/decode_step.rs` checks it for GPT-2 and every
//! family of chapter 6, in f32 and f64); [`KvModel`](crate::KvModel) runs it only where it
//! applies (batch 1, one token, a preallocated cache past the prompt), and the plain path
//! everywhere else.

use crate::cached_attention::CachedAttention;
use ch03_attention::MultiHeadAttention;
use ch06_llama_qwen::{FeedForward, Norm, RmsNorm, Rope, RotaryAttention};
use ch04_gpt::Gpt;
use ch06_llama_qwen::Decoder;
use std::any::Any;

/// Chapter 6's decoder with chapter 8's caches (what `KvDecoder` wraps).
type KvDecoderModel<F, M> = Decoder<F, CachedAttention<F, RotaryAttention<F>>, M>;
use ndarray::ArrayViewMut1;
use rayon::prelude::*;
use shared::attention_kernel::one_query_into;
use shared::parallel::ATTENTION_MIN_WORK;
use shared::{Float, LayerNorm, Linear, Result};

/// The buffers of a decode step, sized at the first step and reused after it.
#[derive(Debug, Clone, Default)]
pub struct DecodeScratch<F> {
    x: Vec<F>,       // [d_model]: the residual stream
    h: Vec<F>,       // [d_model]: a norm's output
    qkv: Vec<F>,     // [(n_heads + 2 n_kv_heads) head_dim]: c_attn's output
    context: Vec<F>, // [n_heads head_dim]: attention's output, heads side by side
    a: Vec<F>,       // [d_model]: the attention branch
    m: Vec<F>,       // [d_model]: the MLP branch
    hidden: Vec<F>,  // [d_ff], or [2 d_ff] for SwiGLU's gate and up
    scores: Vec<F>,  // [n_heads, context_length]: each head's attention weights
    cos: Vec<F>,     // [rotary_dim / 2]
    sin: Vec<F>,     // [rotary_dim / 2]
}

/// What the step needs to know of the attention layers (the same for every layer).
pub(crate) struct AttentionShape {
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub context_length: usize,
}

impl<F: Float> DecodeScratch<F> {
    /// Size every buffer (allocates only the first time, or when the model changed).
    pub(crate) fn fit(&mut self, d_model: usize, hidden: usize, attn: &AttentionShape, rotary_half: usize) {
        let AttentionShape { n_heads, n_kv_heads, head_dim, context_length } = *attn;
        let zero = F::zero();
        for (buf, len) in [
            (&mut self.x, d_model),
            (&mut self.h, d_model),
            (&mut self.qkv, (n_heads + 2 * n_kv_heads) * head_dim),
            (&mut self.context, n_heads * head_dim),
            (&mut self.a, d_model),
            (&mut self.m, d_model),
            (&mut self.hidden, hidden),
            (&mut self.scores, n_heads * context_length),
            (&mut self.cos, rotary_half),
            (&mut self.sin, rotary_half),
        ] {
            buf.resize(len, zero);
        }
    }
}

/// `y = W x + b`, as [`Linear::forward`] computes it for one row (f32 weights through
/// `gemv`, 16-bit weights through `gemv_half`, widened in registers). The buffers are sized by
/// [`DecodeScratch::fit`] from the same layers, so the shapes always fit.
fn linear_into<F: Float>(lin: &Linear<F>, x: &[F], y: &mut [F]) {
    lin.forward_into(x, y).expect("scratch buffers sized from the layers");
}

/// Chapter 4's [`LayerNorm::forward`] of one row, into `y`.
fn layer_norm_into<F: Float>(norm: &LayerNorm<F>, x: &[F], y: &mut [F]) {
    y.copy_from_slice(x);
    let mut row = ArrayViewMut1::from(y);
    let d = F::cast(row.len() as f64);
    let mean = row.sum() / d;
    let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<F>() / d;
    let inv_std = F::one() / (var + norm.eps).sqrt();
    for ((v, &w), &b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
        *v = (*v - mean) * inv_std * w + b;
    }
}

/// Chapter 6's RMSNorm of one row (or one head), in place.
fn rms_norm_inplace<F: Float>(norm: &RmsNorm<F>, row: &mut [F]) {
    let d = F::cast(row.len() as f64);
    let mean_sq = row.iter().map(|&v| v * v).sum::<F>() / d;
    let inv_rms = F::one() / (mean_sq + norm.eps).sqrt();
    for (v, &w) in row.iter_mut().zip(&norm.weight) {
        *v = *v * inv_rms * w;
    }
}

/// Chapter 6's [`Norm`] of one row, into `y`.
fn norm_into<F: Float>(norm: &Norm<F>, x: &[F], y: &mut [F]) {
    match norm {
        Norm::Rms(n) => {
            y.copy_from_slice(x);
            rms_norm_inplace(n, y);
        }
        Norm::Layer(n) => layer_norm_into(n, x, y),
    }
}


/// What the step reads of an attention layer: chapter 3's weights, and Qwen3's per-head norms.
pub(crate) trait StepAttention<F> {
    fn mha(&self) -> &MultiHeadAttention<F>;
    /// `q_norm` and `k_norm` (Qwen3), applied to each head before the rotation.
    fn qk_norms(&self) -> (Option<&RmsNorm<F>>, Option<&RmsNorm<F>>) {
        (None, None)
    }
    /// The rotation of queries and keys (chapter 6), if any.
    fn rope(&self) -> Option<&Rope> {
        None
    }
}

impl<F> StepAttention<F> for MultiHeadAttention<F> {
    fn mha(&self) -> &MultiHeadAttention<F> {
        self
    }
}

impl<F> StepAttention<F> for RotaryAttention<F> {
    fn mha(&self) -> &MultiHeadAttention<F> {
        &self.mha
    }
    fn qk_norms(&self) -> (Option<&RmsNorm<F>>, Option<&RmsNorm<F>>) {
        (self.q_norm.as_ref(), self.k_norm.as_ref())
    }
    fn rope(&self) -> Option<&Rope> {
        Some(&self.rope)
    }
}

/// One attention layer for one token at the cache's length: c_attn, (q/k norms, rotation),
/// the new key and value into the cache, each head over the cache, c_proj. h: `[d_model]` ->
/// `out`: `[d_model]`; `cos` and `sin`: this position's angles (for a rotary layer).
fn attention_step<F: Float, A: StepAttention<F>>(
    layer: &mut CachedAttention<F, A>,
    (cos, sin): (&[F], &[F]),
    h: &[F],
    s: &mut StepBuffers<'_, F>,
    out: &mut [F],
) {
    let (attn, cache) = layer.parts_mut();
    let mha = attn.mha();
    let (n_heads, n_kv_heads, head_dim) = (mha.n_heads, mha.n_kv_heads, mha.head_dim);
    linear_into(&mha.c_attn, h, s.qkv); // [q | k | v]
    let (q, kv) = s.qkv.split_at_mut(n_heads * head_dim);
    let (k, v) = kv.split_at_mut(n_kv_heads * head_dim);
    let (q_norm, k_norm) = attn.qk_norms();
    for (norm, x) in [(q_norm, &mut *q), (k_norm, &mut *k)] {
        if let Some(norm) = norm {
            x.chunks_exact_mut(head_dim).for_each(|head| rms_norm_inplace(norm, head));
        }
    }
    if let Some(rope) = attn.rope() {
        rope.rotate_heads(q, cos, sin);
        rope.rotate_heads(k, cos, sin);
    }
    cache.push_one(k, v); // the keys after rotation, as the plain path caches them
    let kv_len = cache.len();
    let capacity = s.scores.len() / n_heads;
    let (group, scale) = (n_heads / n_kv_heads, F::one() / F::cast(head_dim as f64).sqrt());
    let (cache, q) = (&*cache, &*q);
    let one_head = |hd: usize, (out_h, scores_h): (&mut [F], &mut [F])| {
        let (keys, values) = cache.head_rows(hd / group);
        one_query_into(&q[hd * head_dim..(hd + 1) * head_dim], keys, values, scale, &mut scores_h[..kv_len], out_h);
    };
    // like chapter 3's attention: the heads in parallel only when the work pays for it
    if n_heads * kv_len * head_dim >= ATTENTION_MIN_WORK {
        let heads = s.context.par_chunks_mut(head_dim).zip(s.scores.par_chunks_mut(capacity));
        heads.enumerate().for_each(|(hd, pair)| one_head(hd, pair));
    } else {
        let heads = s.context.chunks_mut(head_dim).zip(s.scores.chunks_mut(capacity));
        heads.enumerate().for_each(|(hd, pair)| one_head(hd, pair));
    }
    linear_into(&mha.c_proj, s.context, out);
}

/// The attention buffers, borrowed apart from the residual stream's.
struct StepBuffers<'a, F> {
    qkv: &'a mut [F],
    context: &'a mut [F],
    scores: &'a mut [F],
}

/// `x[i] = x[i] + y[i]`, the plain path's `x += &y`.
fn add_into<F: Float>(x: &mut [F], y: &[F]) {
    x.iter_mut().zip(y).for_each(|(x, &y)| *x += y);
}

/// GPT-2 (chapter 4) with chapter 8's caches: `token` at position `pos` (the caches' length)
/// -> `logits` (`[vocab_size]`). The caller checked every cache with `can_push_one`.
pub(crate) fn gpt2_step<F: Float>(model: &mut Gpt<F, CachedAttention<F>>, token: u32, pos: usize, scratch: &mut DecodeScratch<F>, logits: &mut [F]) -> Result<()> {
    let c = &model.config;
    let shape = AttentionShape { n_heads: c.n_heads, n_kv_heads: c.n_kv_heads, head_dim: c.head_dim(), context_length: c.context_length };
    scratch.fit(c.d_model, c.d_ff, &shape, 0);
    let DecodeScratch { x, h, qkv, context, a, m, hidden, scores, .. } = scratch;
    let mut s = StepBuffers { qkv, context, scores };
    model.embeddings.wte.row_into(token as usize, x)?;
    model.embeddings.wpe.row_into(pos, h)?;
    add_into(x, h); // wte + wpe
    for block in &mut model.blocks {
        layer_norm_into(&block.ln_1, x, h);
        attention_step(&mut block.attn, (&[], &[]), h, &mut s, a);
        add_into(x, a); // residual
        layer_norm_into(&block.ln_2, x, h);
        linear_into(&block.mlp.c_fc, h, hidden);
        shared::gelu(&mut ArrayViewMut1::from(&mut hidden[..]));
        linear_into(&block.mlp.c_proj, hidden, m);
        add_into(x, m); // residual
    }
    layer_norm_into(&model.ln_f, x, h);
    model.embeddings.wte.logits_into(h, logits); // tied head
    Ok(())
}

/// Chapter 6's dense feed-forward, if `M` is it (chapter 7's experts take the plain path).
pub(crate) fn dense<F: Float, M: 'static>(mlp: &M) -> Option<&FeedForward<F>> {
    (mlp as &dyn Any).downcast_ref::<FeedForward<F>>()
}

/// Chapter 6's Llama, Qwen2, Qwen3 or GPT-NeoX with chapter 8's caches and a dense MLP in
/// every block (the caller checked [`dense`]): `token` at position `pos` -> `logits`
/// (`[vocab_size]`).
pub(crate) fn decoder_step<F: Float, M: 'static>(model: &mut KvDecoderModel<F, M>, token: u32, pos: usize, scratch: &mut DecodeScratch<F>, logits: &mut [F]) -> Result<()> {
    let c = &model.config;
    let shape = AttentionShape { n_heads: c.n_heads, n_kv_heads: c.n_kv_heads, head_dim: c.head_dim, context_length: c.context_length };
    fn dense_of<F: Float, M: 'static>(mlp: &M) -> &FeedForward<F> {
        dense::<F, M>(mlp).expect("checked by the caller")
    }
    let dense = dense_of::<F, M>;
    let hidden_len = model.blocks.iter().map(|b| match dense(&b.mlp) {
        FeedForward::SwiGlu(mlp) => mlp.gate_up.n_out(),
        FeedForward::Gelu(mlp) => mlp.dense_h_to_4h.n_out(),
    });
    let hidden_len = hidden_len.max().unwrap_or(0);
    let rope = model.blocks.first().map(|b| &b.attn.attn().rope);
    scratch.fit(c.d_model, hidden_len, &shape, rope.map_or(0, |r| r.rotary_dim() / 2));
    let DecodeScratch { x, h, qkv, context, a, m, hidden, scores, cos, sin } = scratch;
    let mut s = StepBuffers { qkv, context, scores };
    // every layer's rotation is built from the one config: the angles of this position, once
    if let Some(rope) = rope {
        rope.cos_sin_at(pos, cos, sin);
    }
    model.embed_tokens.row_into(token as usize, x)?;
    for block in &mut model.blocks {
        norm_into(&block.input_norm, x, h);
        attention_step(&mut block.attn, (cos, sin), h, &mut s, a);
        let mlp = dense(&block.mlp);
        if block.parallel_residual {
            norm_into(&block.post_attention_norm, x, h); // from x
            feed_forward_into(mlp, h, hidden, m);
            x.iter_mut().zip(m.iter().zip(a.iter())).for_each(|(x, (&m, &a))| *x = (m + a) + *x); // (mlp + attn) + x
        } else {
            add_into(x, a); // residual
            norm_into(&block.post_attention_norm, x, h); // from x + a
            feed_forward_into(mlp, h, hidden, m);
            add_into(x, m); // residual
        }
    }
    norm_into(&model.norm, x, h);
    match &model.lm_head {
        Some(head) => linear_into(head, h, logits),
        None => model.embed_tokens.logits_into(h, logits), // tied
    }
    Ok(())
}

/// Chapter 6's SwiGLU or GELU MLP of one row: x `[d_model]` -> `out` `[d_model]`.
fn feed_forward_into<F: Float>(mlp: &FeedForward<F>, x: &[F], hidden: &mut [F], out: &mut [F]) {
    match mlp {
        FeedForward::SwiGlu(mlp) => {
            let d_ff = mlp.d_ff();
            let gate_up = &mut hidden[..2 * d_ff];
            linear_into(&mlp.gate_up, x, gate_up); // [gate | up]
            let (gate, up) = gate_up.split_at_mut(d_ff);
            ch06_llama_qwen::silu(&mut ArrayViewMut1::from(&mut *gate));
            gate.iter_mut().zip(up.iter()).for_each(|(g, &u)| *g *= u); // silu(gate) * up
            linear_into(&mlp.down, gate, out);
        }
        FeedForward::Gelu(mlp) => {
            let h = &mut hidden[..mlp.dense_h_to_4h.n_out()];
            linear_into(&mlp.dense_h_to_4h, x, h);
            shared::gelu_erf(&mut ArrayViewMut1::from(&mut *h));
            linear_into(&mlp.dense_4h_to_h, h, out);
        }
    }
}
