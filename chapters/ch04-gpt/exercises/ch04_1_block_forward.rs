//! Exercise ch04-1: the transformer block's forward pass, pre-LN with two residuals.
//!
//! With `--features ex-ch04-1` this file replaces `src/block/forward.rs`.
//! Check it: `cargo run -p exercises -- check ch04-1`. Stuck: `cargo run -p exercises -- hint ch04-1`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::Block;
use crate::attention::Attention;
use ndarray::Array3;
use shared::{Float, Result};

impl<F: Float, A: Attention<F>> Block<F, A> {
    /// x: `[batch, seq, d_model]` -> `[batch, seq, d_model]`
    pub fn forward(&mut self, x: Array3<F>, use_cache: bool) -> Result<Array3<F>> {
        // TODO: GPT-2's block normalises *before* each sub-layer and adds the sub-layer's
        // output to its input (the residual):
        //     x = x + attn(ln_1(x))      self.ln_1, then self.attn.forward(.., use_cache)
        //     x = x + mlp(ln_2(x))       self.ln_2, then self.mlp
        // LayerNorm and Mlp take 2-D views `[n, d_model]`; attention takes `[batch, seq, d_model]`.
        todo!("ch04-1: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))")
    }
}
