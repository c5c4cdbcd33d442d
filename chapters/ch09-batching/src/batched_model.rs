//! A model of any family whose attention layers hold a batched cache; position ids from the
//! caches' mask.

use crate::batched_attention::{BatchedAttention, Step};
use crate::batched_cache::BatchedKvCache;
use crate::position_ids::position_ids;
use ch03_attention::MultiHeadAttention;
use ch04_gpt::{CausalLm, Gpt, QkvAttention};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ndarray::{concatenate, s, Array2, ArrayView2, Axis};
use shared::{Error, Float, Result};

// ANCHOR: family
/// What a batch needs from a model family: swap its attention for [`BatchedAttention`] and back,
/// reach every layer to tell it the step, and run token ids at given positions.
pub trait BatchFamily: CausalLm + Sized {
    /// The attention that [`BatchedAttention`] wraps.
    type Inner: QkvAttention<Self::Float>;
    /// The same model without caches (chapter 4's `Gpt`, chapter 6's `Decoder`).
    type Plain: CausalLm<Float = Self::Float>;
    fn add_caches(model: Self::Plain, capacity: usize) -> Self;
    fn remove_caches(self) -> Self::Plain;
    fn batched_layers(&self) -> Vec<&BatchedAttention<Self::Float, Self::Inner>>;
    fn batched_layers_mut(&mut self) -> Vec<&mut BatchedAttention<Self::Float, Self::Inner>>;
    /// ids and positions `[batch, t]` -> logits of the last column `[batch, vocab_size]`, through
    /// the caches (which the layers' steps were set for).
    fn forward_last_at(&mut self, ids: ArrayView2<u32>, positions: ArrayView2<usize>) -> Result<Array2<Self::Float>>;
}

/// The part of [`BatchFamily`] that is the same for every family: both keep their attention in
/// `blocks[i].attn` and swap it with `map_attention`.
macro_rules! swap_and_reach_layers {
    () => {
        fn add_caches(model: Self::Plain, capacity: usize) -> Self {
            model.map_attention(|attn| BatchedAttention::new(attn, capacity))
        }
        fn remove_caches(self) -> Self::Plain {
            self.map_attention(BatchedAttention::into_attn)
        }
        fn batched_layers(&self) -> Vec<&BatchedAttention<F, Self::Inner>> {
            self.blocks.iter().map(|b| &b.attn).collect()
        }
        fn batched_layers_mut(&mut self) -> Vec<&mut BatchedAttention<F, Self::Inner>> {
            self.blocks.iter_mut().map(|b| &mut b.attn).collect()
        }
    };
}

/// GPT-2 adds its positions at the bottom, to the token embeddings (chapter 2's table).
impl<F: Float> BatchFamily for Gpt<F, BatchedAttention<F>> {
    type Inner = MultiHeadAttention<F>;
    type Plain = Gpt<F, MultiHeadAttention<F>>;
    swap_and_reach_layers!();
    fn forward_last_at(&mut self, ids: ArrayView2<u32>, positions: ArrayView2<usize>) -> Result<Array2<F>> {
        let x = self.embeddings.forward_at(ids, positions)?; // wte[ids] + wpe[positions]
        let h = self.hidden_from(x, true)?; // [batch, t, d_model]
        self.lm_head(h.slice(s![.., -1, ..]))
    }
}

/// Rotary families put their positions in every layer's rotation (the layers' steps carry them).
impl<F: Float> BatchFamily for Decoder<F, BatchedAttention<F, RotaryAttention<F>>> {
    type Inner = RotaryAttention<F>;
    type Plain = Decoder<F, RotaryAttention<F>>;
    swap_and_reach_layers!();
    fn forward_last_at(&mut self, ids: ArrayView2<u32>, positions: ArrayView2<usize>) -> Result<Array2<F>> {
        // `start_pos` only checks the context: the furthest position must fit
        let end = positions.iter().max().map_or(0, |&p| p + 1);
        self.forward_last(ids, end.saturating_sub(ids.ncols()), true)
    }
}
// ANCHOR_END: family

/// GPT-2 with a batched cache in every layer.
pub type BatchedGpt<F> = BatchedModel<Gpt<F, BatchedAttention<F>>>;
/// Chapter 6's Llama, Qwen2, Qwen3 or GPT-NeoX with a batched cache in every layer.
pub type BatchedDecoder<F> = BatchedModel<Decoder<F, BatchedAttention<F, RotaryAttention<F>>>>;

/// Where the new tokens' positions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// `cumsum(mask) - 1` over the cached and the new tokens: each row counts only its real tokens.
    FromMask,
    /// The bug: positions `len..len + t`, the columns of the padded array, for every row. This
    /// is what a model computes when it is given no position ids and counts the cache's length.
    FromLength,
}

// ANCHOR: model
/// A model `M` whose attention layers hold one batched cache each. The caches are the one
/// record of the batch: their length, and in their key mask each row's valid length, from which
/// the next positions come.
#[derive(Debug, Clone)]
pub struct BatchedModel<M> {
    model: M,
}
// ANCHOR_END: model

impl<M: BatchFamily> BatchedModel<M> {
    /// Give every attention layer an empty batched cache with room for `capacity` positions.
    pub fn new(model: M::Plain, capacity: usize) -> Self {
        BatchedModel { model: M::add_caches(model, capacity) }
    }

    /// Room for the whole context.
    pub fn preallocated(model: M::Plain) -> Self {
        let capacity = model.context_length();
        Self::new(model, capacity)
    }

    pub fn into_model(self) -> M::Plain {
        self.model.remove_caches()
    }

    pub fn model(&self) -> &M {
        &self.model
    }

    /// Every layer's cache, first layer first.
    pub fn caches(&self) -> impl Iterator<Item = &BatchedKvCache<M::Float>> + '_ {
        self.model.batched_layers().into_iter().map(BatchedAttention::cache)
    }

    /// Empty every cache: the next forward starts a new batch (of any size).
    pub fn reset(&mut self) {
        self.model.reset_kv_cache();
    }

    // ANCHOR: forward_last
    /// ids `[batch, t]`: the next `t` columns of every row, mask `[batch, t]` (true for a real
    /// token; padding only in a prompt) -> logits of the last column, `[batch, vocab_size]`.
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, mask: ArrayView2<bool>, positions: Positions) -> Result<Array2<M::Float>> {
        if ids.dim() != mask.dim() || ids.is_empty() {
            return Err(Error::Shape { op: "BatchedModel::forward_last", expected: format!("mask {:?}, not empty", ids.shape()), found: format!("{:?}", mask.shape()) });
        }
        let (cached_mask, len) = self.cached_mask()?;
        let end = len + ids.ncols();
        if end > self.model.context_length() {
            return Err(Error::ContextOverflow { len: end, context_length: self.model.context_length() });
        }
        let positions = match positions {
            Positions::FromMask => {
                let whole = if len == 0 { mask.to_owned() } else { concatenate(Axis(1), &[cached_mask.view(), mask]).map_err(|_| batch_size_changed(cached_mask.nrows(), ids.nrows()))? };
                position_ids(whole.view()).slice_move(s![.., len..]) // the new columns: [batch, t]
            }
            Positions::FromLength => Array2::from_shape_fn(ids.dim(), |(_, t)| len + t),
        };
        let step = Step { mask: mask.to_owned(), positions: positions.clone() };
        for layer in self.model.batched_layers_mut() {
            layer.set_step(step.clone());
        }
        self.model.forward_last_at(ids, positions.view())
    }
    // ANCHOR_END: forward_last

    /// The key mask all caches share, `[batch, len]`, and `len`; an error if two layers disagree.
    fn cached_mask(&self) -> Result<(Array2<bool>, usize)> {
        let mut caches = self.caches();
        let first = caches.next().ok_or_else(|| Error::InvalidConfig("a model without layers".into()))?;
        if let Some((i, _)) = caches.enumerate().find(|(_, c)| c.key_mask() != first.key_mask()) {
            return Err(Error::Shape { op: "BatchedModel", expected: format!("the key mask of layer 0 in every layer, {:?}", first.key_mask().shape()), found: format!("another in layer {}: call reset()", i + 1) });
        }
        Ok((first.key_mask().to_owned(), first.len()))
    }
}

fn batch_size_changed(cached: usize, given: usize) -> Error {
    Error::InvalidArgument(format!("the caches hold {cached} rows but {given} were given: call reset() for a new batch"))
}
