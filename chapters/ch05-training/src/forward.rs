//! The forward pass of training: chapters 2-4's layers, called in chapter 4's order, keeping
//! what each backward needs.
//!
//! Chapter 4's `Gpt::forward` returns only the logits and lets every intermediate array go.
//! A backward pass needs them back: the gradient of a weight is the gradient of the layer's
//! output times the layer's **input**, so every input must still be there when the backward
//! reaches it. These kept arrays are the **activations**; for a large model they, not the
//! weights, fill the memory during training. Nothing here is new arithmetic: each line calls a
//! forward of chapters 2-4 and stores its result.

use crate::cross_entropy::cross_entropy;
use ch03_attention::{merge_heads, MultiHeadAttention, Qkv};
use ch04_gpt::{Block, Gpt};
use ndarray::{Array2, ArrayView2};
use shared::{causal_attention, gelu, Error, Float, Result};

// ANCHOR: activations
/// What one block's backward needs; n = batch * seq rows.
pub struct BlockActivations<F> {
    pub x: Array2<F>,       // [n, d_model] the block's input = ln_1's input
    pub ln_1: Array2<F>,    // [n, d_model] ln_1's output = c_attn's input
    pub qkv: Qkv<F>,        // q, k, v: [batch, n_heads, seq, head_dim] each
    pub context: Array2<F>, // [n, d_model] attention's heads merged = attn.c_proj's input
    pub x_mid: Array2<F>,   // [n, d_model] x + attention = ln_2's input
    pub ln_2: Array2<F>,    // [n, d_model] ln_2's output = c_fc's input
    pub fc: Array2<F>,      // [n, d_ff] c_fc's output = GELU's input
    pub gelu: Array2<F>,    // [n, d_ff] GELU's output = mlp.c_proj's input
}

/// What the model's backward needs.
pub struct Activations<F> {
    pub inputs: Array2<u32>,               // [batch, seq] the token ids
    pub targets: Vec<u32>,                 // batch * seq next-token ids
    pub blocks: Vec<BlockActivations<F>>, // one per block
    pub x_final: Array2<F>,                // [n, d_model] the last block's output = ln_f's input
    pub h: Array2<F>,                      // [n, d_model] ln_f's output = the LM head's input
    pub probs: Array2<F>,                  // [n, vocab_size] softmax of the logits
}
// ANCHOR_END: activations

// ANCHOR: block_forward
/// One block, pre-LN as chapter 4's `Block::forward`: `x + attn(ln_1(x))`, then
/// `+ mlp(ln_2(.))`. x: `[n, d_model]` with n = batch * seq -> (`[n, d_model]`, activations)
pub fn block_forward<F: Float>(
    block: &Block<F, MultiHeadAttention<F>>,
    x: Array2<F>,
    batch: usize,
) -> Result<(Array2<F>, BlockActivations<F>)> {
    let (n, d_model) = x.dim();
    let ln_1 = block.ln_1.forward(x.view()); // [n, d]
    let ln_1_3d = ln_1.view().into_shape_with_order((batch, n / batch, d_model)).expect("contiguous");
    let qkv = block.attn.project_qkv(ln_1_3d)?; // [batch, n_heads, seq, head_dim] x 3
    // chapter 3's `attend` without its last projection: that projection's input is kept
    let heads = causal_attention(qkv.q.view(), qkv.k.view(), qkv.v.view())?; // [batch, n_heads, seq, head_dim]
    let context = merge_heads(heads.view()).into_shape_with_order((n, d_model)).expect("contiguous"); // [n, d]
    let x_mid = &x + &block.attn.c_proj.forward(context.view())?; // residual, [n, d]
    let ln_2 = block.ln_2.forward(x_mid.view()); // [n, d]
    let fc = block.mlp.c_fc.forward(ln_2.view())?; // [n, d_ff]
    let mut gelu_out = fc.clone();
    gelu(&mut gelu_out); // [n, d_ff]
    let out = &x_mid + &block.mlp.c_proj.forward(gelu_out.view())?; // residual, [n, d]
    let saved = BlockActivations { x, ln_1, qkv, context, x_mid, ln_2, fc, gelu: gelu_out };
    Ok((out, saved))
}
// ANCHOR_END: block_forward

// ANCHOR: forward
/// The mean cross-entropy of `model` on a batch, and the activations of that forward.
/// inputs, targets: `[batch, seq]` (targets[b, t] is the token after inputs[b, t]).
pub fn forward<F: Float>(model: &Gpt<F>, inputs: ArrayView2<u32>, targets: ArrayView2<u32>) -> Result<(F, Activations<F>)> {
    if inputs.dim() != targets.dim() {
        return Err(Error::Shape {
            op: "forward",
            expected: format!("targets {:?} like the inputs", inputs.shape()),
            found: format!("{:?}", targets.shape()),
        });
    }
    let (batch, seq) = inputs.dim();
    let x = model.embeddings.forward(inputs, 0)?; // [batch, seq, d_model]
    let d_model = x.dim().2;
    let mut x = x.into_shape_with_order((batch * seq, d_model)).expect("contiguous"); // [n, d]
    let mut blocks = Vec::with_capacity(model.blocks.len());
    for block in &model.blocks {
        let (out, saved) = block_forward(block, x, batch)?;
        blocks.push(saved);
        x = out;
    }
    let h = model.ln_f.forward(x.view()); // [n, d]
    let logits = model.lm_head(h.view())?; // [n, vocab_size]
    let targets: Vec<u32> = targets.iter().copied().collect();
    let (loss, probs) = cross_entropy(logits.view(), &targets)?;
    let inputs = inputs.to_owned();
    Ok((loss, Activations { inputs, targets, blocks, x_final: x, h, probs }))
}
// ANCHOR_END: forward
