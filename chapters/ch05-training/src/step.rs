//! One training step: forward, backward, update.

use crate::adamw::AdamW;
use crate::backward::backward;
use crate::forward::forward;
use crate::parameters::{zeros_like, Gradients};
use ch04_gpt::Gpt;
use ndarray::ArrayView2;
use shared::{Float, Result};

/// The mean cross-entropy of `model` on a batch (a forward pass only).
pub fn loss<F: Float>(model: &Gpt<F>, inputs: ArrayView2<u32>, targets: ArrayView2<u32>) -> Result<F> {
    Ok(forward(model, inputs, targets)?.0)
}

// ANCHOR: loss_and_grads
/// The loss on a batch and its gradient with respect to every parameter.
pub fn loss_and_grads<F: Float>(model: &Gpt<F>, inputs: ArrayView2<u32>, targets: ArrayView2<u32>) -> Result<(F, Gradients<F>)> {
    let (loss, activations) = forward(model, inputs, targets)?;
    let mut grads = zeros_like(model);
    backward(model, activations, &mut grads)?;
    Ok((loss, grads))
}
// ANCHOR_END: loss_and_grads

// ANCHOR: train_step
/// One step of training on a batch: returns the loss *before* the update, then moves every
/// parameter with `optimizer`.
pub fn train_step<F: Float>(
    model: &mut Gpt<F>,
    optimizer: &mut AdamW<F>,
    inputs: ArrayView2<u32>,
    targets: ArrayView2<u32>,
) -> Result<F> {
    let (loss, mut grads) = loss_and_grads(model, inputs, targets)?;
    optimizer.step(model, &mut grads)?;
    Ok(loss)
}
// ANCHOR_END: train_step
