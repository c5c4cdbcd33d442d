//! A model of any family whose attention layers keep their keys and values in pool blocks, and
//! the step that runs several sequences of different lengths through it.

use crate::block_pool::{BlockPool, PoolError};
use crate::block_table::{BlockCopy, BlockTable};
use crate::paged_attention::{PagedAttention, PagedStep};
use crate::paged_cache::{BlockKv, PagedKvStore};
use ch03_attention::MultiHeadAttention;
use ch04_gpt::{CausalLm, Gpt, NextToken, QkvAttention};
use ch06_llama_qwen::{Decoder, FeedForward, FeedForwardLayer, RotaryAttention};
use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use shared::{Float, Result};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A sequence's name in a [`PagedModel`], chosen by the caller.
pub type SeqId = u64;

/// What [`PagedModel`] refuses: a pool error (out of blocks, ...), a model error, or a sequence
/// it does not know.
#[derive(Debug, thiserror::Error)]
pub enum PagedError {
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Model(#[from] shared::Error),
    #[error("no sequence {0}")]
    UnknownSequence(SeqId),
    #[error("sequence {0} exists already")]
    SequenceExists(SeqId),
    #[error("invalid step: {0}")]
    InvalidStep(String),
}

/// Chapter 4's generation loop speaks `shared::Error`: a pool error becomes an invalid argument.
impl From<PagedError> for shared::Error {
    fn from(e: PagedError) -> Self {
        match e {
            PagedError::Model(e) => e,
            other => shared::Error::InvalidArgument(other.to_string()),
        }
    }
}

// ANCHOR: family
/// What paging needs from a model family: swap its attention for [`PagedAttention`] and back,
/// reach every layer, and run token ids at given positions (chapter 9's `BatchFamily`, with
/// blocks in place of the batched cache).
pub trait PagedFamily: CausalLm + Sized {
    /// The attention that [`PagedAttention`] wraps.
    type Inner: QkvAttention<Self::Float>;
    /// The same model without a cache (chapter 4's `Gpt`, chapter 6's `Decoder`).
    type Plain: CausalLm<Float = Self::Float>;
    /// Every attention layer gets a store of `num_blocks` blocks of `block_size` tokens.
    fn add_paging(model: Self::Plain, num_blocks: usize, block_size: usize) -> Self;
    fn remove_paging(self) -> Self::Plain;
    fn paged_layers(&self) -> Vec<&PagedAttention<Self::Float, Self::Inner>>;
    fn paged_layers_mut(&mut self) -> Vec<&mut PagedAttention<Self::Float, Self::Inner>>;
    /// ids and positions `[batch, t]` -> logits of the last column `[batch, vocab_size]`, through
    /// the layers' stores (which the layers' steps were set for).
    fn forward_last_at(&mut self, ids: ArrayView2<u32>, positions: ArrayView2<usize>) -> Result<Array2<Self::Float>>;
}

/// A store shaped for chapter 3's attention (`n_kv_heads`, `head_dim`).
fn store_for<F: Float>(mha: &MultiHeadAttention<F>, num_blocks: usize, block_size: usize) -> PagedKvStore<F> {
    PagedKvStore::new(num_blocks, mha.n_kv_heads, block_size, mha.head_dim)
}

/// GPT-2 adds its positions at the bottom, to the token embeddings.
impl<F: Float> PagedFamily for Gpt<F, PagedAttention<F>> {
    type Inner = MultiHeadAttention<F>;
    type Plain = Gpt<F>;
    fn add_paging(model: Gpt<F>, num_blocks: usize, block_size: usize) -> Self {
        model.map_attention(|attn| {
            let store = store_for(&attn, num_blocks, block_size);
            PagedAttention::new(attn, store)
        })
    }
    fn remove_paging(self) -> Gpt<F> {
        self.map_attention(PagedAttention::into_attn)
    }
    fn paged_layers(&self) -> Vec<&PagedAttention<F>> {
        self.blocks.iter().map(|b| &b.attn).collect()
    }
    fn paged_layers_mut(&mut self) -> Vec<&mut PagedAttention<F>> {
        self.blocks.iter_mut().map(|b| &mut b.attn).collect()
    }
    fn forward_last_at(&mut self, ids: ArrayView2<u32>, positions: ArrayView2<usize>) -> Result<Array2<F>> {
        let x = self.embeddings.forward_at(ids, positions)?; // wte[ids] + wpe[positions]
        let h = self.hidden_from(x, true)?; // [batch, t, d_model]
        self.lm_head(h.slice(s![.., -1, ..]))
    }
}

/// Chapter 6's rotary families put their positions in every layer's rotation (the layers' steps
/// carry them); with `M` = chapter 7's mixture of experts, Mixtral and Qwen3-MoE.
impl<F: Float, M: FeedForwardLayer<F>> PagedFamily for Decoder<F, PagedAttention<F, RotaryAttention<F>>, M> {
    type Inner = RotaryAttention<F>;
    type Plain = Decoder<F, RotaryAttention<F>, M>;
    fn add_paging(model: Self::Plain, num_blocks: usize, block_size: usize) -> Self {
        model.map_attention(|attn| {
            let store = store_for(&attn.mha, num_blocks, block_size);
            PagedAttention::new(attn, store)
        })
    }
    fn remove_paging(self) -> Self::Plain {
        self.map_attention(PagedAttention::into_attn)
    }
    fn paged_layers(&self) -> Vec<&PagedAttention<F, RotaryAttention<F>>> {
        self.blocks.iter().map(|b| &b.attn).collect()
    }
    fn paged_layers_mut(&mut self) -> Vec<&mut PagedAttention<F, RotaryAttention<F>>> {
        self.blocks.iter_mut().map(|b| &mut b.attn).collect()
    }
    fn forward_last_at(&mut self, ids: ArrayView2<u32>, positions: ArrayView2<usize>) -> Result<Array2<F>> {
        // `start_pos` only checks the context: the furthest position must fit
        let end = positions.iter().max().map_or(0, |&p| p + 1);
        self.forward_last(ids, end.saturating_sub(ids.ncols()), true)
    }
}
// ANCHOR_END: family

/// GPT-2 with paged attention in every layer.
pub type PagedGpt<F> = PagedModel<Gpt<F, PagedAttention<F>>>;
/// Chapter 6's Llama, Qwen2, Qwen3 or GPT-NeoX (or, with `M` = chapter 7's `MoeFeedForward`,
/// Mixtral and Qwen3-MoE) with paged attention in every layer.
pub type PagedDecoder<F, M = FeedForward<F>> = PagedModel<Decoder<F, PagedAttention<F, RotaryAttention<F>>, M>>;

// ANCHOR: model
/// A model `M` whose attention layers store keys and values in blocks of one [`BlockPool`], and
/// one [`BlockTable`] per live sequence. The pool and the tables are the only record of who
/// holds what; every layer's store uses the same block numbers.
#[derive(Debug, Clone)]
pub struct PagedModel<M> {
    model: M,
    pool: BlockPool,
    tables: BTreeMap<SeqId, BlockTable>,
}
// ANCHOR_END: model

impl<M: PagedFamily> PagedModel<M> {
    /// A pool of `num_blocks` blocks of `block_size` tokens, in every layer.
    pub fn new(model: M::Plain, num_blocks: usize, block_size: usize) -> Result<Self, PagedError> {
        let pool = BlockPool::new(num_blocks, block_size)?;
        Ok(PagedModel { model: M::add_paging(model, num_blocks, block_size), pool, tables: BTreeMap::new() })
    }

    /// Decode steps read the blocks in place (the default), or gather them first and run chapter
    /// 3's attention, as prefill does (`false`: the simple path, to compare).
    pub fn set_read_in_place(&mut self, on: bool) {
        for layer in self.model.paged_layers_mut() {
            layer.set_read_in_place(on);
        }
    }

    /// A pool with room for `sequences` full contexts.
    pub fn with_room_for(model: M::Plain, sequences: usize, block_size: usize) -> Result<Self, PagedError> {
        let blocks = sequences * CausalLm::context_length(&model).div_ceil(block_size.max(1));
        Self::new(model, blocks, block_size)
    }

    pub fn into_model(self) -> M::Plain {
        self.model.remove_paging()
    }

    pub fn model(&self) -> &M {
        &self.model
    }

    pub fn pool(&self) -> &BlockPool {
        &self.pool
    }

    /// The pool, to change by hand (a scheduler swapping blocks out and in). The tables must
    /// stay consistent with it: every block a table holds has a reference for it.
    pub fn pool_mut(&mut self) -> &mut BlockPool {
        &mut self.pool
    }

    pub fn table(&self, seq: SeqId) -> Option<&BlockTable> {
        self.tables.get(&seq)
    }

    /// The live sequences, in id order.
    pub fn sequences(&self) -> impl Iterator<Item = SeqId> + '_ {
        self.tables.keys().copied()
    }

    /// Start an empty sequence.
    pub fn add_sequence(&mut self, seq: SeqId) -> Result<(), PagedError> {
        let table = BlockTable::new(self.pool.block_size())?;
        self.insert_table(seq, table)
    }

    /// Put a table under `seq` (e.g. a sequence swapped back in). Its blocks must be held for it.
    pub fn insert_table(&mut self, seq: SeqId, table: BlockTable) -> Result<(), PagedError> {
        if self.tables.contains_key(&seq) {
            return Err(PagedError::SequenceExists(seq));
        }
        self.tables.insert(seq, table);
        Ok(())
    }

    /// Take a sequence's table out without releasing its blocks (e.g. to swap them out).
    pub fn take_table(&mut self, seq: SeqId) -> Result<BlockTable, PagedError> {
        self.tables.remove(&seq).ok_or(PagedError::UnknownSequence(seq))
    }

    // ANCHOR: fork
    /// Sequence `child` starts as the first `len` tokens of `parent`, sharing its blocks (a
    /// common system prompt, or parallel sampling): nothing is copied until one of them writes
    /// into a shared, partly filled block.
    pub fn fork_prefix(&mut self, parent: SeqId, child: SeqId, len: usize) -> Result<(), PagedError> {
        if self.tables.contains_key(&child) {
            return Err(PagedError::SequenceExists(child));
        }
        let table = self.tables.get(&parent).ok_or(PagedError::UnknownSequence(parent))?;
        let forked = table.fork_prefix(len, &mut self.pool)?;
        self.tables.insert(child, forked);
        Ok(())
    }
    // ANCHOR_END: fork

    /// [`fork_prefix`](Self::fork_prefix) of the whole parent.
    pub fn fork(&mut self, parent: SeqId, child: SeqId) -> Result<(), PagedError> {
        let len = self.tables.get(&parent).ok_or(PagedError::UnknownSequence(parent))?.len();
        self.fork_prefix(parent, child, len)
    }

    /// The sequence is done: its blocks go back to the pool (those no other sequence holds).
    pub fn release(&mut self, seq: SeqId) -> Result<(), PagedError> {
        let mut table = self.take_table(seq)?;
        table.release(&mut self.pool)?;
        Ok(())
    }

    /// Release every sequence.
    pub fn release_all(&mut self) -> Result<(), PagedError> {
        let seqs: Vec<SeqId> = self.sequences().collect();
        seqs.into_iter().try_for_each(|s| self.release(s))
    }

    /// Blocks a [`step`](Self::step) with `n` new tokens for each `(seq, n)` would take from
    /// the pool (new blocks, and copies of shared partly filled blocks). An upper bound: two
    /// sequences sharing one partly filled block count a copy each, but the second writes in place.
    pub fn blocks_needed(&self, new_tokens: &[(SeqId, usize)]) -> Result<usize, PagedError> {
        new_tokens.iter().try_fold(0, |sum, &(seq, n)| {
            let table = self.tables.get(&seq).ok_or(PagedError::UnknownSequence(seq))?;
            Ok(sum + table.blocks_needed(n, &self.pool)?)
        })
    }

    // ANCHOR: step
    /// Feed new tokens to several sequences at once: `(seq, ids)` for each, any lengths, each
    /// sequence at most once -> the logits after each one's last new token, `[vocab_size]`, in
    /// the order given. Refused before anything changes when a sequence is unknown, an id is
    /// out of the vocabulary, a sequence would pass the context, or the pool has too few blocks.
    pub fn step(&mut self, inputs: &[(SeqId, &[u32])]) -> Result<Vec<Array1<M::Float>>, PagedError> {
        self.check_step(inputs)?;
        let need: Vec<(SeqId, usize)> = inputs.iter().map(|&(seq, ids)| (seq, ids.len())).collect();
        self.pool.ensure_free(self.blocks_needed(&need)?)?;
        // 1. the tables grow (and copy shared blocks they must write into), a slot per new token
        let mut slots = Vec::with_capacity(inputs.len());
        let mut copies: Vec<BlockCopy> = Vec::new();
        for &(seq, ids) in inputs {
            let table = self.tables.get_mut(&seq).ok_or(PagedError::UnknownSequence(seq))?;
            let appended = table.append(ids.len(), &mut self.pool)?;
            copies.extend(appended.copy);
            slots.push(appended.slots);
        }
        // 2. copy-on-write, in every layer, before anything is written
        for layer in self.model.paged_layers_mut() {
            for c in &copies {
                layer.store_mut().copy_block(c.src, c.dst)?;
            }
        }
        // 3. one forward pass per group of sequences with the same number of new tokens
        let mut logits: Vec<Option<Array1<M::Float>>> = vec![None; inputs.len()];
        for rows in groups_by_length(inputs) {
            let t = inputs[rows[0]].1.len();
            let ids = Array2::from_shape_fn((rows.len(), t), |(b, i)| inputs[rows[b]].1[i]); // [batch, t]
            let tables: Vec<(Vec<_>, usize)> = rows.iter().map(|&r| {
                let table = &self.tables[&inputs[r].0];
                (table.blocks().to_vec(), table.len())
            }).collect();
            let positions = Array2::from_shape_fn((rows.len(), t), |(b, i)| tables[b].1 - t + i); // [batch, t]
            let slots = Array2::from_shape_fn((rows.len(), t), |(b, i)| slots[rows[b]][i]); // [batch, t]
            let step = Arc::new(PagedStep { positions: positions.clone(), slots, tables });
            for layer in self.model.paged_layers_mut() {
                layer.set_step(Arc::clone(&step));
            }
            let out = self.model.forward_last_at(ids.view(), positions.view())?; // [batch, vocab_size]
            for (b, row) in out.axis_iter(Axis(0)).enumerate() {
                logits[rows[b]] = Some(row.to_owned());
            }
        }
        Ok(logits.into_iter().map(|l| l.expect("every row ran")).collect())
    }
    // ANCHOR_END: step

    fn check_step(&self, inputs: &[(SeqId, &[u32])]) -> Result<(), PagedError> {
        let (vocab, context) = (self.model.vocab_size(), CausalLm::context_length(&self.model));
        for (i, &(seq, ids)) in inputs.iter().enumerate() {
            let table = self.tables.get(&seq).ok_or(PagedError::UnknownSequence(seq))?;
            if ids.is_empty() {
                return Err(PagedError::InvalidStep(format!("no new tokens for sequence {seq}")));
            }
            if inputs[..i].iter().any(|&(s, _)| s == seq) {
                return Err(PagedError::InvalidStep(format!("sequence {seq} appears twice in one step")));
            }
            if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
                return Err(shared::Error::TokenOutOfRange { id, vocab_size: vocab }.into());
            }
            if table.len() + ids.len() > context {
                return Err(shared::Error::ContextOverflow { len: table.len() + ids.len(), context_length: context }.into());
            }
        }
        Ok(())
    }

    /// Bytes of keys and values one block holds, over all layers.
    pub fn bytes_per_block(&self) -> usize {
        self.model.paged_layers().iter().map(|l| l.store().bytes_per_block()).sum()
    }

    /// One block's keys and values in every layer, first layer first (to move it to another tier).
    pub fn block_kv(&self, block: usize) -> Result<Vec<BlockKv<M::Float>>, PagedError> {
        let layers = self.model.paged_layers();
        Ok(layers.iter().map(|l| l.store().block(block).map(|(k, v)| (k.to_owned(), v.to_owned()))).collect::<Result<_>>()?)
    }

    /// Put one block's keys and values back, every layer (what [`block_kv`](Self::block_kv) gave).
    pub fn set_block_kv(&mut self, block: usize, layers: &[BlockKv<M::Float>]) -> Result<(), PagedError> {
        let stores = self.model.paged_layers_mut();
        if stores.len() != layers.len() {
            return Err(PagedError::InvalidStep(format!("{} layers of keys and values for a model of {}", layers.len(), stores.len())));
        }
        for (layer, (k, v)) in stores.into_iter().zip(layers) {
            layer.store_mut().set_block(block, k.view(), v.view())?;
        }
        Ok(())
    }
}

/// The inputs' indices grouped by their number of new tokens, groups in order of first appearance.
fn groups_by_length(inputs: &[(SeqId, &[u32])]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, (_, ids)) in inputs.iter().enumerate() {
        match groups.iter_mut().find(|g| inputs[g[0]].1.len() == ids.len()) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

// ANCHOR: next_token
/// One sequence (id 0) through chapter 4's generation loop: feed only the tokens its table does
/// not hold yet, the whole prompt first, then one token a step.
impl<M: PagedFamily> NextToken<M::Float> for PagedModel<M> {
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<M::Float>> {
        let held = self.table(0).map_or(0, BlockTable::len);
        if tokens.len() <= held {
            return Err(shared::Error::InvalidArgument(format!("{} tokens given but {held} are already cached", tokens.len())));
        }
        let mut logits = self.step(&[(0, &tokens[held..])])?;
        Ok(logits.remove(0))
    }

    fn start(&mut self) -> Result<()> {
        self.release_all()?; // a new prompt never sees the last one's blocks
        Ok(self.add_sequence(0)?)
    }

    fn context_length(&self) -> usize {
        CausalLm::context_length(&self.model)
    }
}
// ANCHOR_END: next_token
