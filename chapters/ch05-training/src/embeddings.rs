//! The backward of chapter 2's embeddings: `x[b, t] = wte[ids[b, t]] + wpe[t]`.
//!
//! A lookup copies a row, so its gradient is the output's gradient sent back to the row it came
//! from. A token id seen several times collects several gradients, and position `t` collects
//! one from every sequence of the batch: both are sums.

use ch02_embeddings::GptEmbeddings;
use ndarray::{ArrayView2, ArrayView3};
use shared::{Error, Float, Result};

// ANCHOR: embeddings_backward
/// ids: `[batch, seq]` at positions `0..seq`; dx: `[batch, seq, d_model]`, dLoss/dx.
/// Adds dx[b, t] to row `ids[b, t]` of the gradient of `wte` and to row `t` of that of `wpe`.
pub fn embeddings_backward<F: Float>(ids: ArrayView2<u32>, dx: ArrayView3<F>, grad: &mut GptEmbeddings<F>) -> Result<()> {
    let (batch, seq) = ids.dim();
    let (vocab_size, d_model) = grad.wte.weight.dim();
    if dx.dim() != (batch, seq, d_model) || seq > grad.wpe.weight.nrows() {
        return Err(Error::Shape {
            op: "embeddings_backward",
            expected: format!("dx [{batch}, {seq}, {d_model}] within {} positions", grad.wpe.weight.nrows()),
            found: format!("dx {:?}", dx.shape()),
        });
    }
    for b in 0..batch {
        for t in 0..seq {
            let id = ids[[b, t]] as usize;
            if id >= vocab_size {
                return Err(Error::TokenOutOfRange { id: id as u32, vocab_size });
            }
            let d = dx.slice(ndarray::s![b, t, ..]); // [d_model]
            let mut d_tok = grad.wte.weight.row_mut(id);
            d_tok += &d;
            let mut d_pos = grad.wpe.weight.row_mut(t);
            d_pos += &d;
        }
    }
    Ok(())
}
// ANCHOR_END: embeddings_backward
