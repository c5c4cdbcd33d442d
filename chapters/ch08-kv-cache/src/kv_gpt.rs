//! GPT-2 with a KV cache in every layer and the position counter `current_pos`.

use crate::cached_attention::CachedAttention;
use crate::inspect::CacheInfo;
use crate::kv_cache::CacheStorage;
use ch03_attention::MultiHeadAttention;
use ch04_gpt::{generate, GenerateOptions, Generation, Gpt};
use shared::{Error, Float, Result};

// Exercise ch08-3 (`current_pos`: positions of new tokens, reset): `--features ex-ch08-3`
// swaps in the learner's stub; likewise exercise ch08-4 (feed only the tokens not yet cached).
#[cfg_attr(feature = "ex-ch08-3", path = "../exercises/ch08_3_position.rs")]
mod position;
#[cfg_attr(feature = "ex-ch08-4", path = "../exercises/ch08_4_next_token.rs")]
mod next_token;

// ANCHOR: struct
/// Chapter 4's [`Gpt`] with [`CachedAttention`] in every block, and `current_pos`: how many
/// positions the caches hold, which is also the position of the next token fed.
#[derive(Debug, Clone)]
pub struct KvGpt<F> {
    pub model: Gpt<F, CachedAttention<F>>,
    pub current_pos: usize,
    /// Feed a long prompt in chunks of this many tokens (`None`: all at once).
    pub prefill_chunk: Option<usize>,
}
// ANCHOR_END: struct

impl<F: Float> KvGpt<F> {
    /// Give every attention layer of `model` an empty cache.
    pub fn new(model: Gpt<F, MultiHeadAttention<F>>, storage: CacheStorage) -> Self {
        KvGpt {
            model: model.map_attention(|attn| CachedAttention::new(attn, storage)),
            current_pos: 0,
            prefill_chunk: None,
        }
    }

    /// A cache with room for the whole context, written in place.
    pub fn preallocated(model: Gpt<F, MultiHeadAttention<F>>) -> Self {
        let capacity = model.config.context_length;
        Self::new(model, CacheStorage::Preallocated { capacity })
    }

    /// Refuse, before touching any cache, a chunk that would run past the context.
    #[cfg_attr(feature = "ex-ch08-3", allow(dead_code))] // the stub of exercise ch08-3 does not call it yet
    fn check_fits(&self, t: usize) -> Result<()> {
        let end = self.current_pos + t;
        if end > self.model.config.context_length {
            return Err(Error::ContextOverflow {
                len: end,
                context_length: self.model.config.context_length,
            });
        }
        Ok(())
    }

    // ANCHOR: generate
    /// Chapter 4's generation loop, with or without the cache: same options, same tokens.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        options: &GenerateOptions,
        use_cache: bool,
        on_token: impl FnMut(u32) -> Result<()> + Send,
    ) -> Result<Generation> {
        // the whole loop runs on a rayon worker, so each matrix x vector splits in place
        shared::on_worker_thread(|| {
            if use_cache {
                generate(self, prompt, options, on_token) // feeds only new tokens (below)
            } else {
                generate(&mut self.model, prompt, options, on_token) // chapter 4: whole sequence each step
            }
        })
    }
    // ANCHOR_END: generate

    /// What the caches hold now (layers, shapes, bytes).
    pub fn cache_info(&self) -> CacheInfo {
        CacheInfo::of(self)
    }

    /// Bytes written into all caches since they were created (see [`crate::KvCache::bytes_copied`]).
    pub fn bytes_copied(&self) -> u64 {
        self.model.blocks.iter().map(|b| b.attn.cache.bytes_copied).sum()
    }
}
