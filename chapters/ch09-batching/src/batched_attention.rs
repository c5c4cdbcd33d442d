//! An attention layer with a batched cache: chapter 3's or chapter 6's attention, each row at
//! its own positions, each row blind to its own padding.

use crate::batched_cache::BatchedKvCache;
use crate::padded_mask::padded_causal_mask;
use ch03_attention::{MultiHeadAttention, Qkv};
use ch04_gpt::{Attention, QkvAttention};
use ndarray::{Array2, Array3, ArrayView3};
use shared::{Error, Float, Result};

/// What the model tells every layer before a forward pass: the new tokens' mask and positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub mask: Array2<bool>,       // [batch, t]: true for a real token
    pub positions: Array2<usize>, // [batch, t]
}

// ANCHOR: struct
/// The weights of the attention `A` it wraps, a cache for the whole batch, and the step the
/// model set for the next forward pass.
#[derive(Debug, Clone)]
pub struct BatchedAttention<F, A = MultiHeadAttention<F>> {
    attn: A,
    cache: BatchedKvCache<F>,
    step: Option<Step>,
}
// ANCHOR_END: struct

impl<F: Float, A> BatchedAttention<F, A> {
    pub fn new(attn: A, capacity: usize) -> Self {
        BatchedAttention { attn, cache: BatchedKvCache::new(capacity), step: None }
    }

    pub fn cache(&self) -> &BatchedKvCache<F> {
        &self.cache
    }

    pub fn attn(&self) -> &A {
        &self.attn
    }

    pub fn into_attn(self) -> A {
        self.attn
    }

    /// The mask and positions of the tokens the next forward pass brings.
    pub fn set_step(&mut self, step: Step) {
        self.step = Some(step);
    }
}

// ANCHOR: forward
impl<F: Float, A: QkvAttention<F>> Attention<F> for BatchedAttention<F, A> {
    /// x: `[batch, t, d_model]`, the `t` newest tokens of every row -> `[batch, t, d_model]`
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>> {
        let Some(step) = self.step.take().filter(|_| use_cache) else {
            return Err(Error::InvalidArgument("batched attention runs with its cache, after BatchedModel set the step".into()));
        };
        // each row's tokens at its own positions (rotary attention turns q and k by them)
        let Qkv { q, k, v } = self.attn.project_qkv_at(x, step.positions.view())?; // q [b, n_heads, t, hd]
        self.cache.append(k.view(), v.view(), step.mask.view())?; // k, v [b, n_kv_heads, t, hd]
        // every row attends over its own real keys: the causal mask and the row's padding
        let mask = padded_causal_mask::<F>(self.cache.key_mask(), q.dim().2); // [batch, t, kv_len]
        self.attn.attend_masked(q.view(), self.cache.keys(), self.cache.values(), mask.view())
    }

    fn reset_cache(&mut self) {
        self.cache.reset();
        self.step = None;
    }
}
// ANCHOR_END: forward
