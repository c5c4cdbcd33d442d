//! Exercise ch03-2: merge the heads back into the model width.
//!
//! After attention every head has its own output, `[batch, n_heads, seq, head_dim]`. The output
//! projection `c_proj` wants each token's heads side by side again: head 0's `head_dim` values,
//! then head 1's, and so on, one row per token. This is the inverse of `split_heads`.
//!
//! With `--features ex-ch03-2` this file replaces `src/heads/merge.rs`.
//! Check it: `cargo run -p exercises -- check ch03-2`. Stuck: `cargo run -p exercises -- hint ch03-2`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::{Array3, ArrayView4};
use shared::Float;

/// x: `[batch, n_heads, seq, head_dim]` -> `[batch, seq, n_heads * head_dim]`
pub fn merge_heads<F: Float>(x: ArrayView4<F>) -> Array3<F> {
    // TODO: return out with out[[b, s, h * head_dim + d]] == x[[b, h, s, d]]: swap the head and
    // seq axes (giving [batch, seq, n_heads, head_dim]), make the memory contiguous in that
    // order, then reshape the last two axes into one of width n_heads * head_dim.
    todo!("ch03-2: merge x [batch, n_heads, seq, head_dim] into [batch, seq, n_heads*head_dim]")
}
