//! # Chapter 8: the KV cache
//!
//! Chapter 4 generates the slow way: to produce token `n + 1` it runs the model over all `n`
//! tokens again, although the keys and values of the first `n` tokens are exactly what it
//! computed the step before. The KV cache keeps them:
//!
//! - each attention layer **owns** `cache_k` / `cache_v` (like PyTorch's
//!   `register_buffer(..., persistent=False)`: state inside the layer, never part of the
//!   weights) and, with `use_cache`, appends the new keys/values and attends over all of them
//!   ([`CachedAttention`], [`KvCache`]);
//! - the number of cached positions is the caches' length, and only that: new tokens get
//!   positions from it ([`KvGpt::current_pos`]) and the causal mask is offset by it ([`KvGpt`]);
//! - [`KvGpt::reset_kv_cache`] clears every layer before a new prompt.
//!
//! After the prompt, each step feeds **one** token: O(n) work per token instead of O(n^2).
//! The price is memory: [`memory`] computes how much.

pub mod cached_attention;
pub mod decode_step;
pub mod inspect;
pub mod kv_cache;
pub mod kv_model;
pub mod memory;

pub use cached_attention::CachedAttention;
pub use decode_step::DecodeScratch;
pub use inspect::CacheInfo;
pub use kv_cache::{CacheStorage, KvCache};
pub use kv_model::{HoldsCache, KvDecoder, KvGpt, KvModel, LayerKv, WithCaches};
