//! Exercise ch06-2: rotate queries and keys by their position (RoPE), from any start position.
//!
//! Every head's dimensions are taken in pairs `(i, i + r/2)`, `r = self.rotary_dim()` (the
//! "rotate_half" convention of Hugging Face's Llama, Qwen and GPT-NeoX). The token at position
//! `p` turns pair `i` by the angle `p * self.inv_freq()[i]`. A decode step feeds one token at
//! position `start_pos` = the cache's length, so the rotation must not assume the sequence
//! starts at 0.
//!
//! With `--features ex-ch06-2` this file replaces `src/rope/apply.rs`.
//! Check it: `cargo run -p exercises -- check ch06-2`. Stuck: `cargo run -p exercises -- hint ch06-2`.
#![allow(unused_variables, unused_imports, unused_mut)] // nothing is used yet: delete this line when done

use super::Rope;
use ndarray::{s, ArrayViewMut4, Axis};
use shared::{Error, Float, Result};

impl Rope {
    /// In place. x: `[batch, heads, seq, head_dim]`; token `t` is at position `start_pos + t` (a
    /// decode step passes the cache's length). Pair `(i, i + r/2)`, `r = rotary_dim`, turns by
    /// `angle = position * inv_freq[i]`:
    /// `(x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)`; dimensions `r..head_dim` are untouched.
    pub fn apply_inplace<F: Float>(&self, mut x: ArrayViewMut4<F>, start_pos: usize) -> Result<()> {
        // TODO: if the last axis of x is not self.head_dim, return
        // Err(Error::Shape { op: "rope", expected: .., found: .. }). Otherwise, for every token
        // t (axis 2) at position start_pos + t, and every head vector of that token, rotate each
        // pair (x[i], x[i + half]), half = self.inv_freq.len(), by the angle
        // position * self.inv_freq[i] (the product in F, as transformers computes it; its sine
        // and cosine in f64, then cast to F). Leave the dimensions
        // from 2 * half to head_dim as they are (GPT-NeoX rotates only part of each head).
        todo!("ch06-2: rotate each pair (i, i + half) of every head by (start_pos + t) * inv_freq[i]")
    }
}
