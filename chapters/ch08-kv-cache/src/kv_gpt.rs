//! GPT-2 with a KV cache in every layer and the position counter `current_pos`.

use crate::cached_attention::CachedAttention;
use crate::inspect::CacheInfo;
use crate::kv_cache::CacheStorage;
use ch03_attention::MultiHeadAttention;
use ch04_gpt::{generate, GenerateOptions, Generation, Gpt, NextToken};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use shared::{Error, Float, Result};

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

    // ANCHOR: forward
    /// ids: `[batch, t]` -> logits `[batch, t, vocab_size]`.
    ///
    /// With `use_cache`, `ids` are the next `t` tokens after the `current_pos` already cached:
    /// they get positions `current_pos..current_pos + t`, their keys and values join the cache,
    /// and `current_pos` advances. Without it, `ids` is a whole sequence and the cache is
    /// neither read nor written.
    pub fn forward(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array3<F>> {
        if !use_cache {
            return self.model.forward(ids, 0, false);
        }
        self.check_fits(ids.ncols())?;
        let logits = self.model.forward(ids, self.current_pos, true)?;
        self.current_pos += ids.ncols();
        Ok(logits)
    }
    // ANCHOR_END: forward

    /// Like [`forward`](Self::forward), logits of the last position only: `[batch, vocab_size]`.
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, use_cache: bool) -> Result<Array2<F>> {
        if !use_cache {
            return self.model.forward_last(ids, 0, false);
        }
        self.check_fits(ids.ncols())?;
        let logits = self.model.forward_last(ids, self.current_pos, true)?;
        self.current_pos += ids.ncols();
        Ok(logits)
    }

    /// Refuse, before touching any cache, a chunk that would run past the context.
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

    // ANCHOR: reset
    /// Empty every layer's cache and start positions at 0 again.
    pub fn reset_kv_cache(&mut self) {
        self.model.reset_kv_cache();
        self.current_pos = 0;
    }
    // ANCHOR_END: reset

    // ANCHOR: generate
    /// Chapter 4's generation loop, with or without the cache: same options, same tokens.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        options: &GenerateOptions,
        use_cache: bool,
        on_token: impl FnMut(u32) -> Result<()>,
    ) -> Result<Generation> {
        if use_cache {
            generate(self, prompt, options, on_token) // feeds only new tokens (below)
        } else {
            generate(&mut self.model, prompt, options, on_token) // chapter 4: whole sequence each step
        }
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

// ANCHOR: next_token
/// Cached decoding: feed only the tokens the caches have not seen.
impl<F: Float> NextToken<F> for KvGpt<F> {
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<F>> {
        if tokens.len() <= self.current_pos {
            return Err(Error::InvalidArgument(format!(
                "{} tokens given but {} are already cached: call reset_kv_cache() for a new prompt",
                tokens.len(),
                self.current_pos
            )));
        }
        let new = &tokens[self.current_pos..]; // the whole prompt first, then one token a step
        let chunk = self.prefill_chunk.unwrap_or(new.len()).max(1);
        let mut last = None;
        for piece in new.chunks(chunk) {
            let ids = ArrayView2::from_shape((1, piece.len()), piece).expect("one row"); // [1, t]
            last = Some(self.forward_last(ids, true)?); // [1, vocab]
        }
        Ok(last.expect("at least one new token").index_axis_move(Axis(0), 0))
    }

    fn start(&mut self) -> Result<()> {
        self.reset_kv_cache(); // a new prompt never sees the last one's keys and values
        Ok(())
    }

    fn context_length(&self) -> usize {
        self.model.config.context_length
    }
}
// ANCHOR_END: next_token
