//! The backward of chapter 3's causal multi-head attention (GPT-2: as many key/value heads as
//! query heads).
//!
//! Forward, per head: `S = q k^T / sqrt(head_dim) + mask`, `P = softmax(S)`, `out = P v`.
//! The forward ran chapter 3's kernel, which keeps no weights P; the backward recomputes them
//! from q and k (one product per head, as FlashAttention's backward does) instead of storing
//! `[batch, n_heads, seq, seq]` numbers per layer.

use crate::forward::BlockActivations;
use crate::linear;
use crate::softmax::softmax_backward_rows;
use ch03_attention::{merge_heads, split_heads, MultiHeadAttention};
use ndarray::{concatenate, s, Array2, Array4, ArrayView2, Axis};
use rayon::prelude::*;
use shared::{causal_mask, softmax_rows, Error, Float, Result};

// ANCHOR: attention_backward
/// d_out: `[n, d_model]`, dLoss/d(attention's output), n = batch * seq; `saved` holds the
/// forward's input (`ln_1`), q, k, v and the merged heads (`context`).
/// Returns dLoss/d(attention's input) `[n, d_model]`; adds to the gradients of `c_attn`, `c_proj`.
pub fn attention_backward<F: Float>(
    attn: &MultiHeadAttention<F>,
    saved: &BlockActivations<F>,
    d_out: ArrayView2<F>,
    grad: &mut MultiHeadAttention<F>,
) -> Result<Array2<F>> {
    if attn.n_kv_heads != attn.n_heads {
        return Err(Error::InvalidConfig("training needs n_kv_heads = n_heads (GPT-2)".into()));
    }
    let (q, k, v) = (&saved.qkv.q, &saved.qkv.k, &saved.qkv.v); // [batch, n_heads, seq, head_dim]
    let (batch, n_heads, seq, head_dim) = q.dim();
    // 1. the output projection: out = context c_proj^T + b
    let d_context = linear::backward(&attn.c_proj, saved.context.view(), d_out, &mut grad.c_proj)?; // [n, d]
    let d_heads = split_heads(d_context.view(), batch, n_heads); // [batch, n_heads, seq, head_dim]
    // 2. every head on its own (in parallel): d(out) -> dq, dk, dv
    let scale = F::one() / F::cast(head_dim as f64).sqrt();
    let mask = causal_mask::<F>(seq, seq)?; // [seq, seq]
    let per_head: Vec<[Array2<F>; 3]> = (0..batch * n_heads)
        .into_par_iter()
        .map(|i| {
            let (b, h) = (i / n_heads, i % n_heads);
            let (q, k, v) = (q.slice(s![b, h, .., ..]), k.slice(s![b, h, .., ..]), v.slice(s![b, h, .., ..]));
            let d_out_h = d_heads.slice(s![b, h, .., ..]); // [seq, head_dim]
            // P, recomputed: softmax(q k^T * scale + mask)
            let mut p = q.dot(&k.t()) * scale + &mask; // [seq, seq]
            softmax_rows(p.view_mut());
            // out = P v: dP = d_out v^T, dv = P^T d_out
            let dv = p.t().dot(&d_out_h); // [seq, head_dim]
            let mut ds = d_out_h.dot(&v.t()); // dP, [seq, seq]
            softmax_backward_rows(p.view(), ds.view_mut()); // dS
            // S = q k^T * scale: dq = dS k * scale, dk = dS^T q * scale
            let dq = ds.dot(&k) * scale; // [seq, head_dim]
            let dk = ds.t().dot(&q) * scale; // [seq, head_dim]
            [dq, dk, dv]
        })
        .collect();
    // 3. back to the fused layout of c_attn's output: [dq | dk | dv], [n, 3 d_model]
    let mut d_qkv = vec![Array4::<F>::zeros((batch, n_heads, seq, head_dim)); 3];
    for (i, grads) in per_head.into_iter().enumerate() {
        for (d_all, g) in d_qkv.iter_mut().zip(grads) {
            d_all.slice_mut(s![i / n_heads, i % n_heads, .., ..]).assign(&g);
        }
    }
    let merged: Vec<Array2<F>> = d_qkv
        .iter()
        .map(|d| merge_heads(d.view()).into_shape_with_order((batch * seq, n_heads * head_dim)).expect("contiguous"))
        .collect();
    let d_fused = concatenate(Axis(1), &[merged[0].view(), merged[1].view(), merged[2].view()]).expect("same rows"); // [n, 3d]
    // 4. the fused projection: qkv = ln_1 c_attn^T + b
    linear::backward(&attn.c_attn, saved.ln_1.view(), d_fused.view(), &mut grad.c_attn) // [n, d]
}
// ANCHOR_END: attention_backward
