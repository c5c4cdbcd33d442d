//! Chapter 3's attention plus a KV cache it owns.

use crate::kv_cache::{CacheStorage, KvCache};
use ch03_attention::{MultiHeadAttention, Qkv};
use ch04_gpt::Attention;
use ndarray::{Array3, ArrayView3};
use shared::{Float, Result};

// Exercise ch08-2 (append, then attend over the cache): `--features ex-ch08-2` swaps in the stub.
#[cfg_attr(feature = "ex-ch08-2", path = "../exercises/ch08_2_attend_with_cache.rs")]
mod with_cache;

// ANCHOR: struct
/// The same weights as [`MultiHeadAttention`], plus `cache`: the keys and values of every
/// position seen so far. The cache is state, not weights: nothing that loads or saves weights
/// touches it (Rust's counterpart of `register_buffer("cache_k", None, persistent=False)`).
#[derive(Debug, Clone)]
pub struct CachedAttention<F> {
    attn: MultiHeadAttention<F>,
    cache: KvCache<F>,
}
// ANCHOR_END: struct

impl<F: Float> CachedAttention<F> {
    pub fn new(attn: MultiHeadAttention<F>, storage: CacheStorage) -> Self {
        CachedAttention {
            attn,
            cache: KvCache::new(storage),
        }
    }

    /// The keys and values cached so far.
    pub fn cache(&self) -> &KvCache<F> {
        &self.cache
    }

    /// Chapter 3's attention: the weights.
    pub fn attn(&self) -> &MultiHeadAttention<F> {
        &self.attn
    }

    /// The weights back, the cache dropped.
    pub fn into_attn(self) -> MultiHeadAttention<F> {
        self.attn
    }
}

// ANCHOR: forward
impl<F: Float> Attention<F> for CachedAttention<F> {
    /// x: `[batch, t, d_model]`, the `t` newest tokens -> `[batch, t, d_model]`
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>> {
        let Qkv { q, k, v } = self.attn.project_qkv(x)?; // q [b, n_heads, t, hd], k/v [b, n_kv_heads, t, hd]
        if !use_cache {
            return self.attn.attend(q.view(), k.view(), v.view()); // chapter 3, unchanged
        }
        self.attend_with_cache(q.view(), k.view(), v.view()) // NEW (below)
    }

    fn reset_cache(&mut self) {
        self.cache.reset();
    }
}
// ANCHOR_END: forward
