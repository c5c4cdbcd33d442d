//! The embeddings' forward pass (exercise ch02-1 replaces this file).

use crate::GptEmbeddings;
use ndarray::{Array3, ArrayView2};
use shared::{Error, Float, Result};

impl<F: Float> GptEmbeddings<F> {
    // ANCHOR: forward
    // ANCHOR: forward_signature
    /// ids: `[batch, seq]`, the first at absolute position `start_pos`
    /// -> `[batch, seq, d_model]` = wte[ids] + wpe[start_pos .. start_pos + seq]
    pub fn forward(&self, ids: ArrayView2<u32>, start_pos: usize) -> Result<Array3<F>> {
        // ANCHOR_END: forward_signature
        let (batch, seq) = ids.dim();
        let end = start_pos + seq;
        if end > self.context_length() {
            return Err(Error::ContextOverflow {
                len: end,
                context_length: self.context_length(),
            });
        }
        let pos = self.wpe.forward(start_pos..end)?; // [seq, d_model]
        let d_model = pos.ncols();
        let mut x = Array3::zeros((batch, seq, d_model));
        for (ids_b, mut x_b) in ids.outer_iter().zip(x.outer_iter_mut()) {
            let tok = self.wte.forward(ids_b.iter().map(|&id| id as usize))?; // [seq, d_model]
            x_b.assign(&(tok + &pos));
        }
        Ok(x)
    }
    // ANCHOR_END: forward
}
