//! # Chapter 5: training
//!
//! Chapters 2-4 run GPT-2 forward: ids in, logits out. Training turns the logits into one
//! number, the **loss** (how surprised the model is by the real next tokens), and then asks, for
//! every one of the model's numbers, "which way should you move to lower the loss?". The answer,
//! a **gradient** with the shape of the model, comes from running the layers backwards: each
//! layer's `backward` takes the gradient of the loss with respect to its output and returns the
//! gradient with respect to its input (the chain rule), adding what it learns about its own
//! weights on the way. **AdamW** then moves every weight a small step against its gradient.
//!
//! The code follows Andrej Karpathy's llm.c (`train_gpt2.c`): one plain function per layer, each
//! backward beside the forward it undoes, shapes in the comments. The forwards are the ones of
//! chapters 2-4, called, not copied. What is new on the forward side is only
//! [`forward::forward`], which runs those same layers but **keeps** what each backward needs
//! (its input, mostly): the activations.
//!
//! - the loss: [`cross_entropy`];
//! - one backward per layer: [`embeddings`], [`layer_norm`], [`linear`], [`attention`] (with
//!   [`softmax`]), [`gelu`], [`residual`], and the tied [`lm_head`];
//! - the whole model: [`forward::forward`] then [`backward::backward`], in [`step`];
//! - the gradients live in a model-shaped struct of zeros ([`parameters`]);
//! - the optimiser: [`adamw::AdamW`], PyTorch's semantics; no dropout anywhere;
//! - the data: [`data::Batches`], in llm.c's order; the learning rate over a run: [`schedule`].
//!
//! Proofs (in `tests/`): every gradient against central finite differences in `f64`, and
//! the loss, gradients and five AdamW steps against PyTorch on a committed fixture.

pub mod adamw;
pub mod attention;
pub mod backward;
pub mod cross_entropy;
pub mod data;
pub mod embeddings;
pub mod forward;
pub mod gelu;
// Each exercise's reference is its own file; its feature swaps in the stub from exercises/
// (see exercises/info.toml).
#[cfg_attr(feature = "ex-ch05-1", path = "../exercises/ch05_1_layer_norm_backward.rs")]
pub mod layer_norm;
pub mod linear;
pub mod lm_head;
pub mod parameters;
pub mod residual;
pub mod schedule;
#[cfg_attr(feature = "ex-ch05-2", path = "../exercises/ch05_2_softmax_backward.rs")]
pub mod softmax;
pub mod step;

pub use adamw::AdamW;
pub use data::Batches;
pub use forward::{forward, Activations};
pub use parameters::{parameters_mut, zeros_like, Gradients};
pub use schedule::cosine_lr;
pub use step::{loss, loss_and_grads, train_step};
