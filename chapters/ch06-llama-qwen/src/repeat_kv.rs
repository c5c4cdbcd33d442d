//! Repeating key/value heads for grouped-query attention (the reference solution of exercise
//! ch06-3).
//!
//! With grouped-query attention ("GQA: Training Generalized Multi-Query Transformer Models
//! from Multi-Head Checkpoints", Ainslie et al.) a model has `n_heads` query heads but only
//! `n_kv_heads` key/value heads; query head `h` reads key/value head `h / n_rep`, with
//! `n_rep = n_heads / n_kv_heads`. Transformers' Llama implements it by copying each key/value
//! head `n_rep` times (`repeat_kv` in `modeling_llama.py`) and then running ordinary multi-head
//! attention. Chapter 3's attention reads head `h / n_rep` directly and never makes the copies;
//! this function is the other way, written out, so a test can show the two agree.

use ndarray::{s, Array4, ArrayView4};
use shared::Float;

// ANCHOR: repeat_kv
// ANCHOR: repeat_kv_signature
/// k: `[batch, n_kv_heads, seq, head_dim]` -> `[batch, n_kv_heads * n_rep, seq, head_dim]`,
/// where head `h` of the result is head `h / n_rep` of `k` (each head repeated `n_rep` times
/// in a row: `[k0, k0, k1, k1]` for `n_rep = 2`).
pub fn repeat_kv<F: Float>(k: ArrayView4<F>, n_rep: usize) -> Array4<F> {
    // ANCHOR_END: repeat_kv_signature
    let (batch, n_kv_heads, seq, head_dim) = k.dim();
    let mut out = Array4::zeros((batch, n_kv_heads * n_rep, seq, head_dim));
    for kv_h in 0..n_kv_heads {
        let head = k.slice(s![.., kv_h..kv_h + 1, .., ..]); // [batch, 1, seq, head_dim]
        let copies = kv_h * n_rep..(kv_h + 1) * n_rep;
        // [batch, n_rep, seq, head_dim]: the one head broadcast over its n_rep copies
        out.slice_mut(s![.., copies, .., ..]).assign(&head);
    }
    out
}
// ANCHOR_END: repeat_kv
