//! # Chapter 9: batching
//!
//! Chapter 8 generates for one prompt at a time, and each step multiplies every weight matrix
//! by one vector: the whole model is read from memory to produce one token. A **batch** of
//! prompts multiplies the same matrices by several vectors at once, so each step reads the
//! weights once for every row: more tokens for (nearly) the same memory traffic.
//!
//! Prompts have different lengths. To stack them into one `[batch, seq]` array:
//!
//! 1. **left padding** ([`LeftPadded`]): shorter prompts get pad tokens in front, so every row's
//!    last token is in the last column and the next tokens are appended in step;
//! 2. an **attention mask** `[batch, kv_len]` (true = a real token) that no query may look
//!    through, combined with the causal mask ([`padded_causal_mask`]);
//! 3. **position ids** from the mask, `cumsum - 1` ([`position_ids`]): a row's first real token
//!    is at position 0 whatever its padding. Forgetting them is the classic bug: the tokens get
//!    the positions of the padded array, and the logits change ([`Positions::FromLength`]).
//!
//! The cache ([`BatchedKvCache`]) is chapter 8's, with a batch axis, `[batch, n_kv_heads, seq,
//! head_dim]` per layer, plus the key mask: each row's valid length. [`BatchedModel`] wraps
//! chapter 4's GPT-2 or chapter 6's rotary families; [`generate_batch`] is chapter 4's loop for
//! a batch, each row stopping at its own end-of-text and sampling from its own seeded stream.

pub mod batched_attention;
pub mod batched_cache;
pub mod batched_model;
pub mod generate;
pub mod left_pad;
// Exercise ch09-1 (position ids from the mask) and ch09-2 (the padded causal mask):
// `--features ex-ch09-1` / `ex-ch09-2` swap in the learner's stubs.
#[cfg_attr(feature = "ex-ch09-1", path = "../exercises/ch09_1_position_ids.rs")]
pub mod position_ids;
#[cfg_attr(feature = "ex-ch09-2", path = "../exercises/ch09_2_padded_mask.rs")]
pub mod padded_mask;

pub use batched_attention::BatchedAttention;
pub use batched_cache::BatchedKvCache;
pub use batched_model::{BatchFamily, BatchedDecoder, BatchedGpt, BatchedModel, Positions};
pub use generate::generate_batch;
pub use left_pad::LeftPadded;
pub use padded_mask::padded_causal_mask;
pub use position_ids::position_ids;
