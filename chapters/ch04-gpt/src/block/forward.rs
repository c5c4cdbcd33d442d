//! The block's forward pass: pre-LN residual wiring (the reference solution of exercise ch04-1).

use super::Block;
use crate::attention::Attention;
use ndarray::Array3;
use shared::{Float, Result};

impl<F: Float, A: Attention<F>> Block<F, A> {
    // ANCHOR: forward
    // ANCHOR: forward_signature
    /// x: `[batch, seq, d_model]` -> `[batch, seq, d_model]`
    pub fn forward(&mut self, x: Array3<F>, use_cache: bool) -> Result<Array3<F>> {
        // ANCHOR_END: forward_signature
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
}
