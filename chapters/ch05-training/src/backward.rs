//! The backward pass of the whole model: the forward's steps in reverse order, each layer's
//! backward fed the gradient of its output and the activations of its forward.

use crate::attention::attention_backward;
use crate::cross_entropy::cross_entropy_backward;
use crate::embeddings::embeddings_backward;
use crate::forward::{Activations, BlockActivations};
use crate::gelu::gelu_backward;
use crate::layer_norm::layer_norm_backward;
use crate::linear;
use crate::lm_head::lm_head_backward;
use crate::parameters::Gradients;
use crate::residual::residual_backward;
use ch03_attention::MultiHeadAttention;
use ch04_gpt::{Block, Gpt};
use ndarray::{Array2, ArrayView2};
use shared::{Float, Result};

// ANCHOR: block_backward
/// One block backwards. Forward: `x_mid = x + attn(ln_1(x))`, `out = x_mid + mlp(ln_2(x_mid))`.
/// d_out: `[n, d_model]`, dLoss/d(block's output) -> dLoss/d(block's input) `[n, d_model]`;
/// the block's parameter gradients are added to `grad`.
pub fn block_backward<F: Float>(
    block: &Block<F, MultiHeadAttention<F>>,
    saved: &BlockActivations<F>,
    d_out: ArrayView2<F>,
    grad: &mut Block<F, MultiHeadAttention<F>>,
) -> Result<Array2<F>> {
    // the MLP: out = x_mid + c_proj(gelu(c_fc(ln_2(x_mid))))
    let d_gelu = linear::backward(&block.mlp.c_proj, saved.gelu.view(), d_out, &mut grad.mlp.c_proj)?; // [n, d_ff]
    let d_fc = gelu_backward(saved.fc.view(), d_gelu.view()); // [n, d_ff]
    let d_ln_2 = linear::backward(&block.mlp.c_fc, saved.ln_2.view(), d_fc.view(), &mut grad.mlp.c_fc)?; // [n, d]
    let d_mlp_in = layer_norm_backward(&block.ln_2, saved.x_mid.view(), d_ln_2.view(), &mut grad.ln_2)?; // [n, d]
    let d_x_mid = residual_backward(d_out, d_mlp_in.view()); // [n, d]
    // attention: x_mid = x + attn(ln_1(x))
    let d_ln_1 = attention_backward(&block.attn, saved, d_x_mid.view(), &mut grad.attn)?; // [n, d]
    let d_attn_in = layer_norm_backward(&block.ln_1, saved.x.view(), d_ln_1.view(), &mut grad.ln_1)?; // [n, d]
    Ok(residual_backward(d_x_mid.view(), d_attn_in.view())) // [n, d]
}
// ANCHOR_END: block_backward

// ANCHOR: backward
/// The gradient of the forward's loss with respect to every parameter, added to `grads`
/// (start from [`zeros_like`](crate::zeros_like)). Consumes the activations: the largest of
/// them, the probabilities, becomes the gradient of the logits in place.
pub fn backward<F: Float>(model: &Gpt<F>, saved: Activations<F>, grads: &mut Gradients<F>) -> Result<()> {
    let Activations { inputs, targets, blocks, x_final, h, probs } = saved;
    let (batch, seq) = inputs.dim();
    // loss -> logits: (softmax - onehot) / n, [n, vocab_size]
    let d_logits = cross_entropy_backward(probs, &targets);
    // logits = h wte^T: the tied head
    let d_h = lm_head_backward(&model.embeddings, h.view(), d_logits.view(), &mut grads.embeddings)?; // [n, d]
    // h = ln_f(x_final)
    let mut dx = layer_norm_backward(&model.ln_f, x_final.view(), d_h.view(), &mut grads.ln_f)?; // [n, d]
    // the blocks, last first
    for ((block, saved), grad) in model.blocks.iter().zip(&blocks).zip(&mut grads.blocks).rev() {
        dx = block_backward(block, saved, dx.view(), grad)?; // [n, d]
    }
    // x = wte[inputs] + wpe[positions]
    let d_model = dx.ncols();
    let dx = dx.into_shape_with_order((batch, seq, d_model)).expect("contiguous"); // [batch, seq, d]
    embeddings_backward(inputs.view(), dx.view(), &mut grads.embeddings)
}
// ANCHOR_END: backward
