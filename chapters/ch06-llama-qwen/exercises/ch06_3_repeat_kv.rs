//! Exercise ch06-3: repeat each key/value head for grouped-query attention.
//!
//! A model with `n_heads` query heads and `n_kv_heads` key/value heads shares each key/value
//! head among `n_rep = n_heads / n_kv_heads` query heads in a row. Copying each key/value head
//! `n_rep` times turns grouped-query attention into ordinary multi-head attention: that is how
//! transformers' Llama does it (`repeat_kv`).
//!
//! With `--features ex-ch06-3` this file replaces `src/repeat_kv.rs`.
//! Check it: `cargo run -p exercises -- check ch06-3`. Stuck: `cargo run -p exercises -- hint ch06-3`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::{s, Array4, ArrayView4};
use shared::Float;

/// k: `[batch, n_kv_heads, seq, head_dim]` -> `[batch, n_kv_heads * n_rep, seq, head_dim]`,
/// where head `h` of the result is head `h / n_rep` of `k` (each head repeated `n_rep` times
/// in a row: `[k0, k0, k1, k1]` for `n_rep = 2`).
pub fn repeat_kv<F: Float>(k: ArrayView4<F>, n_rep: usize) -> Array4<F> {
    // TODO: return out of shape [batch, n_kv_heads * n_rep, seq, head_dim] with
    // out[[b, h, t, d]] == k[[b, h / n_rep, t, d]]. The copies of one head sit next to each
    // other (k0, k0, k1, k1), not one after the other (k0, k1, k0, k1).
    todo!("ch06-3: repeat each key/value head n_rep times, next to each other")
}
