//! An attention layer whose keys and values live in pool blocks: chapter 3's attention or
//! chapter 6's rotary attention, writing through slots and reading through block tables.

use crate::block_pool::BlockId;
use crate::decode_through_table::{decode_through_tables, Chapter3Core};
use crate::paged_cache::PagedKvStore;
use ch03_attention::{MultiHeadAttention, Qkv};
use ch04_gpt::{Attention, QkvAttention};
use ndarray::{s, Array2, Array3, ArrayView3};
use shared::{Error, Float, Result};
use std::sync::Arc;

// ANCHOR: step
/// What the model tells every layer before a forward pass of `batch` sequences with `t` new
/// tokens each: where the new tokens are and where their keys and values go, and each row's
/// block table to read back through.
#[derive(Debug, Clone, PartialEq)]
pub struct PagedStep {
    pub positions: Array2<usize>, // [batch, t]: len_before..len_before + t per row
    pub slots: Array2<usize>,     // [batch, t]: slot = table[pos / bs] * bs + pos % bs
    /// Each row's blocks (after this step's appends) and its length with the new tokens.
    pub tables: Vec<(Vec<BlockId>, usize)>,
}
// ANCHOR_END: step

// ANCHOR: struct
/// The weights of the attention `A` it wraps, this layer's share of the block pool, and the step
/// the model set for the next forward pass. Like chapter 8's cache, the store is state inside
/// the layer, never weights.
#[derive(Debug, Clone)]
pub struct PagedAttention<F, A = MultiHeadAttention<F>> {
    attn: A,
    store: PagedKvStore<F>,
    step: Option<Arc<PagedStep>>,
    /// Decode steps read the blocks in place (true, the default) or gather them first.
    read_in_place: bool,
}
// ANCHOR_END: struct

impl<F: Float, A> PagedAttention<F, A> {
    pub fn new(attn: A, store: PagedKvStore<F>) -> Self {
        PagedAttention { attn, store, step: None, read_in_place: true }
    }

    pub fn attn(&self) -> &A {
        &self.attn
    }

    pub fn into_attn(self) -> A {
        self.attn
    }

    pub fn store(&self) -> &PagedKvStore<F> {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut PagedKvStore<F> {
        &mut self.store
    }

    /// Decode by reading the blocks in place (the default), or by gathering them first and
    /// running chapter 3's attention (what prefill always does).
    pub fn set_read_in_place(&mut self, on: bool) {
        self.read_in_place = on;
    }

    /// The tokens the next forward pass brings (shared by every layer).
    pub fn set_step(&mut self, step: Arc<PagedStep>) {
        self.step = Some(step);
    }
}

// ANCHOR: forward
impl<F: Float, A: QkvAttention<F> + Chapter3Core<F>> Attention<F> for PagedAttention<F, A> {
    /// x: `[batch, t, d_model]`, the `t` newest tokens of every row -> `[batch, t, d_model]`
    fn forward(&mut self, x: ArrayView3<F>, use_cache: bool) -> Result<Array3<F>> {
        let Some(step) = self.step.take().filter(|_| use_cache) else {
            return Err(Error::InvalidArgument("paged attention runs with its cache, after PagedModel set the step".into()));
        };
        let Qkv { q, k, v } = self.attn.project_qkv_at(x, step.positions.view())?; // q [b, n_heads, t, hd], k/v [b, n_kv_heads, t, hd]
        self.store.write(k.view(), v.view(), step.slots.view())?; // into the slots of the new positions
        if q.dim().2 == 1 && self.read_in_place {
            // decode: read the blocks where they are, no gather (decode_through_table.rs)
            return decode_through_tables(self.attn.core(), q.view(), &self.store, &step.tables);
        }
        let mut out = Array3::zeros(x.raw_dim()); // [batch, t, d_model]
        for (b, (blocks, len)) in step.tables.iter().enumerate() {
            let (keys, values) = self.store.gather(blocks, *len)?; // [1, n_kv_heads, len, hd], through the table
            // chapter 3's causal attention: query i of t sits at len - t + i
            let y = self.attn.attend(q.slice(s![b..=b, .., .., ..]), keys.view(), values.view())?; // [1, t, d_model]
            out.slice_mut(s![b..=b, .., ..]).assign(&y);
        }
        Ok(out)
    }

    fn reset_cache(&mut self) {
        self.step = None; // the blocks belong to the pool: the model releases the tables
    }
}
// ANCHOR_END: forward
