//! # Chapter 3: attention
//!
//! Attention lets every token gather information from the tokens before it:
//!
//! 1. each token's vector is projected to a **query** (what am I looking for?), a **key** (what
//!    do I contain?) and a **value** (what do I pass on?);
//! 2. scores `q . k / sqrt(head_dim)` say how well each query matches each key; the causal
//!    mask forbids looking at later tokens; a softmax turns scores into weights;
//! 3. each query's output is the weighted sum of the values.
//!
//! Multi-head attention runs several of these side by side on slices of the vector.
//! Grouped-query attention (GQA) lets several query heads share one key/value head
//! (`n_kv_heads` divides `n_heads`; multi-query attention is `n_kv_heads = 1`): the
//! keys and values, which chapter 8 will cache, shrink by `n_heads / n_kv_heads`.
//!
//! Nothing is cached in this chapter.

pub mod heads;
pub mod mha;
pub mod sdpa;

pub use heads::{merge_heads, split_heads};
pub use mha::{MultiHeadAttention, Qkv};
pub use sdpa::scaled_dot_product_attention;
