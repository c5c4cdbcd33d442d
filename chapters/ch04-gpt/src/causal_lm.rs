//! What generation and chapter 8's cache need from a decoder-only language model, whatever its
//! family: GPT-2 here, Llama, Qwen and GPT-NeoX in chapter 6.

use crate::attention::Attention;
use crate::model::Gpt;
use ndarray::{Array2, Array3, ArrayView2};
use shared::{Float, Result};

// ANCHOR: trait
/// A decoder-only language model: token ids in, logits out, through a stack of attention
/// layers of type [`Attn`](Self::Attn).
///
/// Chapter 8 builds its cached model on this trait alone, so one cache serves every family
/// whose attention layers it can wrap.
pub trait CausalLm {
    /// The float type of the weights and activations (`f32` or `f64`).
    type Float: Float;
    /// The attention layer of every block.
    type Attn;

    /// ids: `[batch, seq]`, the first at position `start_pos` -> logits `[batch, seq, vocab_size]`.
    fn forward(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array3<Self::Float>>;

    /// Logits of the last position only: ids `[batch, seq]` -> `[batch, vocab_size]`.
    fn forward_last(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array2<Self::Float>>;

    /// Every block's attention layer, first block first.
    fn attention_layers(&self) -> Vec<&Self::Attn>;

    /// Clear the KV cache of every layer (a no-op for attention without one).
    fn reset_kv_cache(&mut self);

    /// Longest sequence the model can see.
    fn context_length(&self) -> usize;

    /// Number of token ids the model scores.
    fn vocab_size(&self) -> usize;
}
// ANCHOR_END: trait

impl<F: Float, A: Attention<F>> CausalLm for Gpt<F, A> {
    type Float = F;
    type Attn = A;

    fn forward(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array3<F>> {
        Gpt::forward(self, ids, start_pos, use_cache)
    }

    fn forward_last(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array2<F>> {
        Gpt::forward_last(self, ids, start_pos, use_cache)
    }

    fn attention_layers(&self) -> Vec<&A> {
        self.blocks.iter().map(|b| &b.attn).collect()
    }

    fn reset_kv_cache(&mut self) {
        Gpt::reset_kv_cache(self)
    }

    fn context_length(&self) -> usize {
        self.config.context_length
    }

    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }
}
