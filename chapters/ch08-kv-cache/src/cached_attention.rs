//! An attention layer plus a KV cache it owns: chapter 3's, or chapter 6's rotary attention.

use crate::kv_cache::{CacheStorage, KvCache};
use ch03_attention::{MultiHeadAttention, Qkv};
use ch04_gpt::{Attention, QkvAttention};
use ndarray::{Array3, ArrayView3};
use shared::{Float, Result};

// Exercise ch08-2 (append, then attend over the cache): `--features ex-ch08-2` swaps in the stub.
#[cfg_attr(feature = "ex-ch08-2", path = "../exercises/ch08_2_attend_with_cache.rs")]
mod with_cache;

// ANCHOR: struct
/// The same weights as the attention `A` it wraps ([`MultiHeadAttention`] for GPT-2, chapter
/// 6's rotary attention for Llama, Qwen and GPT-NeoX), plus `cache`: the keys and values of
/// every position seen so far. The cache is state, not weights: nothing that loads or saves
/// weights touches it (Rust's counterpart of `register_buffer("cache_k", None, persistent=False)`).
#[derive(Debug, Clone)]
pub struct CachedAttention<F, A = MultiHeadAttention<F>> {
    attn: A,
    cache: KvCache<F>,
}
// ANCHOR_END: struct

impl<F: Float, A> CachedAttention<F, A> {
    pub fn new(attn: A, storage: CacheStorage) -> Self {
        CachedAttention {
            attn,
            cache: KvCache::new(storage),
        }
    }

    /// The keys and values cached so far.
    pub fn cache(&self) -> &KvCache<F> {
        &self.cache
    }

    /// The cache, to write: only the model's [`restore_caches`](crate::KvModel::restore_caches)
    /// uses it (the forward pass appends through [`KvCache::append`] itself).
    pub(crate) fn cache_mut(&mut self) -> &mut KvCache<F> {
        &mut self.cache
    }

    /// The weights and the cache at once (chapter 8's fast decode step reads one and writes
    /// the other).
    pub(crate) fn parts_mut(&mut self) -> (&A, &mut KvCache<F>) {
        (&self.attn, &mut self.cache)
    }

    /// The wrapped attention: the weights.
    pub fn attn(&self) -> &A {
        &self.attn
    }

    /// The weights back, the cache dropped.
    pub fn into_attn(self) -> A {
        self.attn
    }
}

// ANCHOR: forward
impl<F: Float, A: QkvAttention<F>> Attention<F> for CachedAttention<F, A> {
    /// x: `[batch, t, d_model]`, the `t` newest tokens -> `[batch, t, d_model]`
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>> {
        // the new tokens come after everything cached: rotary attention turns q and k by these
        // positions before k joins the cache (GPT-2's attention ignores them)
        let start_pos = if use_cache { self.cache.len() } else { 0 };
        let Qkv { q, k, v } = self.attn.project_qkv(x, start_pos)?; // q [b, n_heads, t, hd], k/v [b, n_kv_heads, t, hd]
        if !use_cache {
            return self.attn.attend(q.view(), k.view(), v.view()); // the wrapped attention, unchanged
        }
        self.attend_with_cache(q.view(), k.view(), v.view()) // NEW (below)
    }

    fn reset_cache(&mut self) {
        self.cache.reset();
    }
}
// ANCHOR_END: forward
