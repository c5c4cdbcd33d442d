//! # Chapter 7: mixture of experts
//!
//! Chapter 6's decoders read every weight for every token. A mixture-of-experts model
//! (Mixtral, Qwen3-MoE) replaces the feed-forward of a block with many feed-forwards, the
//! *experts*, and a small *router* that picks a few of them for each token:
//!
//! 1. **The router** ([`Router`]): a linear layer scores every expert, softmax makes the scores
//!    probabilities, the `top_k` largest are kept and (Mixtral; Qwen3-MoE with
//!    `norm_topk_prob`) renormalised to sum to 1.
//! 2. **The experts** ([`SparseMoe`]): chapter 6's SwiGLU, `n_experts` times; a token's output
//!    is the weighted sum of its chosen experts' outputs. The dense reference path runs every
//!    expert and masks; the sparse path runs only the chosen ones, and they are equal.
//! 3. **The model** ([`MoeDecoder`]): chapter 6's decoder with [`MoeFeedForward`] as its
//!    feed-forward, loaded from an unchanged Hugging Face folder ([`load`], [`MoeConfig`]).
//!
//! Attention is untouched, so the KV cache is too: chapter 8 caches this model with the same
//! `KvModel`, and its cache is the size of a dense model with the same attention.

pub mod config;
pub mod experts;
pub mod feed_forward;
pub mod model;
pub mod router;

pub use config::{MoeConfig, MoeFamily, SUPPORTED_MODEL_TYPES};
pub use experts::{add_weighted, SparseMoe};
pub use feed_forward::MoeFeedForward;
pub use model::{from_pretrained, load, random, read_config, set_dense_path, set_top_k, take_expert_counts, MoeDecoder};
pub use router::{top_k, Router, Routing};
