//! # Chapter 4: GPT-2
//!
//! The pieces of chapters 1-3 become a language model:
//!
//! - a **transformer block** ([`Block`]): layer norm, attention, residual; layer norm, MLP,
//!   residual (GPT-2 normalises *before* each sub-layer: "pre-LN");
//! - the **model** ([`Gpt`]): embeddings, `n_layers` blocks, a final layer norm, and the LM
//!   head, which reuses the token embedding matrix ("tied weights") to score every token id;
//! - the **generation loop** ([`generate`]): run the model, turn the last position's logits
//!   into a next token ([`Sampling`]: greedy, temperature, top-k, top-p), append, repeat.
//!
//! This chapter generates *without* a cache: every step runs the model over the whole
//! sequence so far. That is correct and simple, and it is the baseline chapter 8 speeds up.
//! The block is generic over its [`Attention`], so chapter 8 can swap in an attention that
//! owns a KV cache and reuse everything here unchanged.

pub mod attention;
pub mod block;
pub mod causal_lm;
pub mod generate;
pub mod mlp;
pub mod model;
pub mod run;
pub mod sampling;

pub use attention::{Attention, QkvAttention};
pub use block::Block;
pub use causal_lm::CausalLm;
pub use generate::{generate, GenerateOptions, Generation, NextToken};
pub use mlp::Mlp;
pub use model::Gpt;
pub use sampling::{sample, Sampling};
