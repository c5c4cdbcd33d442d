//! The backward of the tied LM head: `logits = h wte^T` (chapter 4's `Gpt::lm_head`).
//!
//! The head has no weight of its own: it is the token embedding `wte`, read a second time. So
//! `wte` receives two gradients, one from here and one from the embedding lookup at the bottom
//! of the model ([`crate::embeddings`]), and they add up.

use crate::linear::linear_backward;
use ndarray::{Array2, ArrayView2};
use shared::{Float, Result};
use ch02_embeddings::GptEmbeddings;

// ANCHOR: lm_head_backward
/// h: `[n, d_model]` (ln_f's output), d_logits: `[n, vocab_size]` -> dh `[n, d_model]`;
/// adds d_logits^T h (`[vocab_size, d_model]`) to the gradient of `wte`.
pub fn lm_head_backward<F: Float>(embeddings: &GptEmbeddings<F>, h: ArrayView2<F>, d_logits: ArrayView2<F>, grad: &mut GptEmbeddings<F>) -> Result<Array2<F>> {
    // a linear layer without bias whose weight is wte, [vocab_size, d_model]
    linear_backward(h, embeddings.wte.view(), d_logits, grad.wte.weight.view_mut(), None)
}
// ANCHOR_END: lm_head_backward
