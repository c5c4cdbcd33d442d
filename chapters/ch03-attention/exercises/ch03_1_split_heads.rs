//! Exercise ch03-1: split the model width into heads.
//!
//! `c_attn` produces, for every token (one row per token, all batches stacked), the queries of
//! all heads side by side: columns `0..head_dim` are head 0, `head_dim..2*head_dim` head 1,
//! and so on. Attention runs on each head separately, so we want one `[seq, head_dim]` matrix
//! per (batch, head).
//!
//! With `--features ex-ch03-1` this file replaces `src/heads/split.rs`.
//! Check it: `cargo run -p exercises -- check ch03-1`. Stuck: `cargo run -p exercises -- hint ch03-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::{Array4, ArrayView2};
use shared::Float;

/// x: `[batch * seq, n_heads * head_dim]` (rows in batch-major order)
/// -> `[batch, n_heads, seq, head_dim]`
pub fn split_heads<F: Float>(x: ArrayView2<F>, batch: usize, n_heads: usize) -> Array4<F> {
    // TODO: return out with out[[b, h, s, d]] == x[[b * seq + s, h * head_dim + d]],
    // where seq = rows / batch and head_dim = width / n_heads. Reshape to
    // [batch, seq, n_heads, head_dim], then swap the seq and head axes. `x` may be a column
    // slice of a wider matrix (not contiguous), and the result must be a standard-layout array.
    todo!("ch03-1: split x [batch*seq, n_heads*head_dim] into [batch, n_heads, seq, head_dim]")
}
