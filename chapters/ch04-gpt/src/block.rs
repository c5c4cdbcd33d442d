//! One transformer block, pre-LN as in GPT-2.

use crate::attention::Attention;
use crate::mlp::Mlp;
use ndarray::Array3;
use shared::{Float, LayerNorm, Result};

/// `x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))`, generic over the attention layer.
#[derive(Debug, Clone)]
pub struct Block<F, A> {
    pub ln_1: LayerNorm<F>,
    pub attn: A,
    pub ln_2: LayerNorm<F>,
    pub mlp: Mlp<F>,
}

impl<F: Float, A: Attention<F>> Block<F, A> {
    // ANCHOR: forward
    /// x: `[batch, seq, d_model]` -> `[batch, seq, d_model]`
    pub fn forward(&mut self, x: Array3<F>, use_cache: bool) -> Result<Array3<F>> {
        let (batch, seq, d_model) = x.dim();
        let mut x = x.into_shape_with_order((batch * seq, d_model)).expect("contiguous"); // [n, d]

        let h = self.ln_1.forward(x.view()); // [n, d]
        let h = h.into_shape_with_order((batch, seq, d_model)).expect("contiguous");
        let a = self.attn.forward(h.view(), use_cache)?; // [batch, seq, d]
        x += &a.into_shape_with_order((batch * seq, d_model)).expect("contiguous"); // residual

        let h = self.ln_2.forward(x.view()); // [n, d]
        x += &self.mlp.forward(h.view())?; // residual

        Ok(x.into_shape_with_order((batch, seq, d_model)).expect("contiguous"))
    }
    // ANCHOR_END: forward

    /// The same block with its attention replaced (how chapter 8 adds a cache).
    pub fn map_attention<B>(self, f: impl FnOnce(A) -> B) -> Block<F, B> {
        Block {
            ln_1: self.ln_1,
            attn: f(self.attn),
            ln_2: self.ln_2,
            mlp: self.mlp,
        }
    }
}
