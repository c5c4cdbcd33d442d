//! A language model of any family with a KV cache in every layer. The position of the next
//! token is the caches' length.

use crate::cached_attention::CachedAttention;
use crate::inspect::CacheInfo;
use crate::kv_cache::{CacheStorage, KvCache};
use ch03_attention::MultiHeadAttention;
use ch04_gpt::{generate, CausalLm, GenerateOptions, Generation, Gpt};
use ch06_llama_qwen::{Decoder, FeedForward, FeedForwardLayer, RotaryAttention};
use crate::decode_step::{self, DecodeScratch};
use ndarray::{Array2, ArrayView2, ArrayView4};
use std::any::Any;
use shared::{Error, Float, GptConfig, Result};

// Exercise ch08-3 (`current_pos()` from the caches, positions of new tokens, reset):
// `--features ex-ch08-3` swaps in the learner's stub; likewise exercise ch08-4 (feed only the
// tokens not yet cached).
#[cfg_attr(feature = "ex-ch08-3", path = "../exercises/ch08_3_position.rs")]
mod position;
#[cfg_attr(feature = "ex-ch08-4", path = "../exercises/ch08_4_next_token.rs")]
mod next_token;

// ANCHOR: struct
/// A model `M` (chapter 4's GPT-2, chapter 6's Llama, Qwen or GPT-NeoX) whose attention
/// layers are [`CachedAttention`]s.
///
/// There is no position counter: the number of cached positions is each layer's cache length
/// ([`current_pos`](Self::current_pos)), which is also the position of the next token fed and
/// the offset of the causal mask. One count, so the three cannot disagree.
#[derive(Debug, Clone)]
pub struct KvModel<M> {
    model: M,
    /// Feed a long prompt in chunks of this many tokens (`None`: all at once).
    prefill_chunk: Option<usize>,
    /// Decode steps (one token, batch 1) take the fast path of `decode_step.rs` (on by default).
    fast_decode: bool,
    /// That path's buffers, kept from one step to the next.
    scratch: ScratchSlot,
}

/// GPT-2 with a KV cache in every layer.
pub type KvGpt<F> = KvModel<Gpt<F, CachedAttention<F>>>;

/// Chapter 6's Llama, Qwen2, Qwen3 or GPT-NeoX with a KV cache in every layer; with `M` =
/// chapter 7's `MoeFeedForward`, Mixtral or Qwen3-MoE (the same cache).
pub type KvDecoder<F, M = FeedForward<F>> = KvModel<Decoder<F, CachedAttention<F, RotaryAttention<F>>, M>>;
// ANCHOR_END: struct

// ANCHOR: cacheable
/// A model family with a cache in every attention layer: how the one [`KvModel`] serves every
/// family. Each family says how to swap its attention for [`CachedAttention`] and back (with
/// its `map_attention`).
pub trait WithCaches: CausalLm<Attn: HoldsCache<Self::Float>> + Sized {
    /// The same model without caches (chapter 4's `Gpt`, chapter 6's model).
    type Plain: CausalLm<Float = Self::Float>;
    fn add_caches(model: Self::Plain, storage: CacheStorage) -> Self;
    fn remove_caches(self) -> Self::Plain;
    /// Every layer's cache, first layer first, to write (only [`KvModel::restore_caches`] does).
    fn caches_mut(&mut self) -> Vec<&mut KvCache<Self::Float>>;
    /// One token of a batch of one at the caches' length, through the fast path of
    /// `decode_step.rs` (the same logits), into `logits` (`[vocab_size]`); `None`, with nothing
    /// touched, where that path does not apply (then the caller checks the position and runs
    /// the plain path).
    fn decode_step(&mut self, token: u32, scratch: &mut DecodeScratch<Self::Float>, logits: &mut [Self::Float]) -> Option<Result<()>>;
}

/// An attention layer that owns a cache (so [`KvModel`] can read every layer's length).
pub trait HoldsCache<F> {
    fn cache(&self) -> &KvCache<F>;
}

impl<F: Float, A> HoldsCache<F> for CachedAttention<F, A> {
    fn cache(&self) -> &KvCache<F> {
        CachedAttention::cache(self)
    }
}
// ANCHOR_END: cacheable

impl<F: Float> WithCaches for Gpt<F, CachedAttention<F>> {
    type Plain = Gpt<F, MultiHeadAttention<F>>;
    fn add_caches(model: Self::Plain, storage: CacheStorage) -> Self {
        model.map_attention(|attn| CachedAttention::new(attn, storage))
    }
    fn remove_caches(self) -> Self::Plain {
        self.map_attention(CachedAttention::into_attn)
    }
    fn caches_mut(&mut self) -> Vec<&mut KvCache<F>> {
        self.blocks.iter_mut().map(|b| b.attn.cache_mut()).collect()
    }
    fn decode_step(&mut self, token: u32, scratch: &mut DecodeScratch<F>, logits: &mut [F]) -> Option<Result<()>> {
        let c = &self.config;
        let pos = self.blocks.first()?.attn.cache().len();
        let ready = pos < c.context_length && self.blocks.iter().all(|b| b.attn.cache().len() == pos && b.attn.cache().can_push_one(c.n_kv_heads, c.head_dim()));
        ready.then(|| decode_step::gpt2_step(self, token, pos, scratch, logits))
    }
}

/// Chapter 6's decoders, and chapter 7's with a mixture of experts as feed-forward `M`.
impl<F: Float, M: FeedForwardLayer<F> + 'static> WithCaches for Decoder<F, CachedAttention<F, RotaryAttention<F>>, M> {
    type Plain = Decoder<F, RotaryAttention<F>, M>;
    fn add_caches(model: Self::Plain, storage: CacheStorage) -> Self {
        model.map_attention(|attn| CachedAttention::new(attn, storage))
    }
    fn remove_caches(self) -> Self::Plain {
        self.map_attention(CachedAttention::into_attn)
    }
    fn caches_mut(&mut self) -> Vec<&mut KvCache<F>> {
        self.blocks.iter_mut().map(|b| b.attn.cache_mut()).collect()
    }
    fn decode_step(&mut self, token: u32, scratch: &mut DecodeScratch<F>, logits: &mut [F]) -> Option<Result<()>> {
        let c = &self.config;
        let pos = self.blocks.first()?.attn.cache().len();
        let ready = pos < c.context_length
            && self.blocks.iter().all(|b| {
                let cache = b.attn.cache();
                cache.len() == pos && cache.can_push_one(c.n_kv_heads, c.head_dim) && decode_step::dense::<F, M>(&b.mlp).is_some()
            });
        ready.then(|| decode_step::decoder_step(self, token, pos, scratch, logits))
    }
}

/// One layer's keys and values, `[batch, n_kv_heads, seq, head_dim]` each.
pub type LayerKv<'a, F> = (ArrayView4<'a, F>, ArrayView4<'a, F>);

impl<M: WithCaches> KvModel<M> {
    /// Give every attention layer of `model` an empty cache.
    pub fn new(model: M::Plain, storage: CacheStorage) -> Self {
        KvModel {
            model: M::add_caches(model, storage),
            prefill_chunk: None,
            // off while a learner's append or cached attention is in (exercises ch08-1, ch08-2):
            // then every step runs their code, which the fast step would skip
            fast_decode: !cfg!(any(feature = "ex-ch08-1", feature = "ex-ch08-2")),
            scratch: ScratchSlot::default(),
        }
    }

    /// A cache with room for the whole context, written in place.
    pub fn preallocated(model: M::Plain) -> Self {
        let capacity = model.context_length();
        Self::new(model, CacheStorage::Preallocated { capacity })
    }

    /// The model without its caches (for GPT-2, chapter 4's plain [`Gpt`]).
    pub fn into_model(self) -> M::Plain {
        self.model.remove_caches()
    }

    /// The model with its caches (to read its configuration; only this type feeds it).
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Every layer's cache, first layer first (to look inside; only the model writes them).
    pub fn caches(&self) -> impl Iterator<Item = &KvCache<M::Float>> + '_ {
        self.model.attention_layers().into_iter().map(HoldsCache::cache)
    }

    // ANCHOR: restore_caches
    /// Replace every layer's cache by the given keys and values (first layer first), each
    /// `[batch, n_kv_heads, seq, head_dim]` with one `seq` for all layers: how a cache saved to
    /// disk comes back (chapter 11). The next token fed is at position `seq`. On any error the
    /// caches are left empty, never half-restored.
    pub fn restore_caches(&mut self, layers: &[LayerKv<'_, M::Float>]) -> Result<()> {
        self.reset_kv_cache();
        let n_layers = self.caches().count();
        if layers.len() != n_layers {
            return Err(Error::Shape {
                op: "KvModel::restore_caches",
                expected: format!("{n_layers} layers of keys and values"),
                found: format!("{} layers", layers.len()),
            });
        }
        let seq = layers.first().map_or(0, |(k, _)| k.dim().2);
        if let Some((i, _)) = layers.iter().enumerate().find(|(_, (k, _))| k.dim().2 != seq) {
            return Err(Error::Shape {
                op: "KvModel::restore_caches",
                expected: format!("{seq} positions in every layer, as in layer 0"),
                found: format!("{} in layer {i}", layers[i].0.dim().2),
            });
        }
        self.check_fits(0, seq)?;
        let restored = self
            .model
            .caches_mut()
            .into_iter()
            .zip(layers)
            .try_for_each(|(cache, (k, v))| cache.append(k.view(), v.view()));
        if restored.is_err() {
            self.reset_kv_cache();
        }
        restored
    }
    // ANCHOR_END: restore_caches

    /// Whether decode steps (one token, batch 1, cached) take the fast path of `decode_step.rs`
    /// (the default) or chapter 4's and 6's layers, for comparing the two.
    pub fn set_fast_decode(&mut self, on: bool) {
        self.fast_decode = on;
    }

    /// One cached decode step of `token` with the logits written into `logits`
    /// (`[vocab_size]`): once the prompt is cached, nothing is allocated (the fast path's
    /// buffers are kept). Where the fast path does not apply, the plain path runs and its
    /// logits are copied.
    pub fn decode_into(&mut self, token: u32, logits: &mut [M::Float]) -> Result<()> {
        let vocab_size = self.model.vocab_size();
        if logits.len() != vocab_size {
            return Err(Error::Shape { op: "KvModel::decode_into", expected: format!("logits of {vocab_size}"), found: format!("{}", logits.len()) });
        }
        if let Some(done) = self.fast_step(token, logits) {
            return done;
        }
        let start = self.current_pos()?;
        self.check_fits(start, 1)?;
        let ids = [token];
        let ids = ndarray::ArrayView2::from_shape((1, 1), &ids[..]).expect("one token");
        let last = self.model.forward_last(ids, start, true)?; // [1, vocab]
        logits.iter_mut().zip(last.iter()).for_each(|(l, &x)| *l = x);
        Ok(())
    }

    /// The fast decode step, if it applies (on, and the model says it can); `None` otherwise.
    #[cfg_attr(feature = "ex-ch08-3", allow(dead_code))] // the stub of exercise ch08-3 does not call it
    fn fast_step(&mut self, token: u32, logits: &mut [M::Float]) -> Option<Result<()>> {
        if !self.fast_decode {
            return None;
        }
        let scratch = self.scratch.get::<M::Float>();
        self.model.decode_step(token, scratch, logits)
    }

    /// [`forward_last`](Self::forward_last) of one cached token through the fast step:
    /// `[1, vocab_size]`, or `None` where it does not apply.
    #[cfg_attr(feature = "ex-ch08-3", allow(dead_code))]
    fn fast_forward_last(&mut self, ids: ArrayView2<u32>) -> Option<Result<Array2<M::Float>>> {
        if ids.dim() != (1, 1) {
            return None;
        }
        let mut logits = Array2::zeros((1, self.model.vocab_size()));
        let out = logits.as_slice_mut().expect("fresh array");
        let done = self.fast_step(ids[[0, 0]], out)?;
        Some(done.map(|()| logits))
    }

    /// Feed a long prompt in chunks of this many tokens (`None`, the default: all at once).
    pub fn set_prefill_chunk(&mut self, chunk: Option<usize>) {
        self.prefill_chunk = chunk;
    }

    /// Refuse, before touching any cache, `t` tokens at positions `start..` that would run
    /// past the context.
    #[cfg_attr(feature = "ex-ch08-3", allow(dead_code))] // the stub of exercise ch08-3 does not call it yet
    fn check_fits(&self, start: usize, t: usize) -> Result<()> {
        let end = start + t;
        if end > self.model.context_length() {
            return Err(Error::ContextOverflow {
                len: end,
                context_length: self.model.context_length(),
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
    ) -> Result<Generation>
    where
        M: Send,
    {
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

    /// Bytes written into all caches since they were created (see [`KvCache::bytes_copied`]).
    pub fn bytes_copied(&self) -> u64 {
        self.caches().map(KvCache::bytes_copied).sum()
    }
}

impl<F: Float> KvGpt<F> {
    /// GPT-2's dimensions.
    pub fn config(&self) -> &GptConfig {
        &self.model.config
    }
}

/// The fast decode step's buffers, for any float type (created at the first step). A clone
/// starts without them: they hold nothing between steps.
#[derive(Default)]
struct ScratchSlot(Option<Box<dyn Any + Send + Sync>>);

impl ScratchSlot {
    fn get<F: Float>(&mut self) -> &mut DecodeScratch<F> {
        if !self.0.as_ref().is_some_and(|b| b.is::<DecodeScratch<F>>()) {
            self.0 = Some(Box::new(DecodeScratch::<F>::default()));
        }
        self.0.as_mut().and_then(|b| b.downcast_mut()).expect("just made")
    }
}

impl Clone for ScratchSlot {
    fn clone(&self) -> Self {
        ScratchSlot::default()
    }
}

impl std::fmt::Debug for ScratchSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScratchSlot")
    }
}
