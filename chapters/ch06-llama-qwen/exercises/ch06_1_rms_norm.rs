//! Exercise ch06-1: RMSNorm, the norm of Llama and Qwen.
//!
//! LayerNorm (chapter 4) subtracts each vector's mean, divides by its standard deviation, then
//! scales and shifts. RMSNorm keeps only the division, by the root mean square, and the scale:
//! `y = x / sqrt(mean(x^2) + eps) * weight`, over the last axis.
//!
//! With `--features ex-ch06-1` this file replaces `src/rms_norm/forward.rs`.
//! Check it: `cargo run -p exercises -- check ch06-1`. Stuck: `cargo run -p exercises -- hint ch06-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use super::RmsNorm;
use ndarray::{Array, ArrayView, Axis, Dimension};
use shared::{Error, Float, Result};

impl<F: Float> RmsNorm<F> {
    /// x: `[.., d]` -> `[.., d]` (`[n, d_model]` for a block's norm, `[batch, heads, seq,
    /// head_dim]` for Qwen3's q/k norm).
    pub fn forward<D: Dimension>(&self, x: ArrayView<F, D>) -> Result<Array<F, D>> {
        // TODO: if the last axis of x is not d = self.weight.len() (or x has no axis at all),
        // return Err(Error::Shape { op: "rms_norm", expected: .., found: .. }). Otherwise copy
        // x and, for every vector along its last axis (every token, or every head of every
        // token), divide it by sqrt(mean of its squares + self.eps) and multiply it element by
        // element by self.weight. No mean is subtracted and there is no bias.
        todo!("ch06-1: y = x / sqrt(mean(x^2) + eps) * weight over the last axis")
    }
}
