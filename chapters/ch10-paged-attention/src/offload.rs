//! Offload: a sequence's blocks copied out to a slower tier (here a buffer in host memory, as
//! vLLM's CPU swap space is for GPU blocks) and back into fresh blocks of the pool.
//!
//! This is what the source notebook's "inactive pages to slower memory" promises: a preempted
//! sequence keeps its keys and values without holding pool blocks, and continues exactly where
//! it stopped when it is copied back. The alternative, recompute, keeps nothing and prefills
//! the sequence's tokens again ([`crate::scheduler::Preemption`]).

use crate::{BlockKv, BlockTable, PagedError, PagedFamily, PagedModel, SeqId};

/// A sequence's keys and values while they are out of the pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Swapped<F> {
    /// One entry per block, in table order: that block's keys and values in every layer.
    blocks: Vec<Vec<BlockKv<F>>>,
    /// Tokens cached.
    len: usize,
}

impl<F> Swapped<F> {
    /// Tokens whose keys and values this holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Blocks it will take when it comes back.
    pub fn num_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Bytes held in the slower tier (and moved each way).
    pub fn bytes(&self) -> usize {
        let per_layer = |(k, v): &BlockKv<F>| (k.len() + v.len()) * std::mem::size_of::<F>();
        self.blocks.iter().flatten().map(per_layer).sum()
    }
}

// ANCHOR: swap
/// Copy sequence `seq`'s blocks out of the pool and release them; the model forgets `seq`.
pub fn swap_out<M: PagedFamily>(model: &mut PagedModel<M>, seq: SeqId) -> Result<Swapped<M::Float>, PagedError> {
    let mut table = model.take_table(seq)?;
    let blocks = table.blocks().iter().map(|&b| model.block_kv(b)).collect::<Result<Vec<_>, _>>()?;
    let len = table.len();
    table.release(model.pool_mut())?;
    Ok(Swapped { blocks, len })
}

/// Copy `swapped` back into freshly allocated blocks under `seq`: the same keys and values at
/// new block numbers. All or nothing: when the pool is short, nothing is allocated.
pub fn swap_in<M: PagedFamily>(model: &mut PagedModel<M>, seq: SeqId, swapped: Swapped<M::Float>) -> Result<(), PagedError> {
    model.pool().ensure_free(swapped.blocks.len())?;
    let mut blocks = Vec::with_capacity(swapped.blocks.len());
    for layers in &swapped.blocks {
        let block = model.pool_mut().allocate()?;
        blocks.push(block);
        model.set_block_kv(block, layers)?;
    }
    let table = BlockTable::from_parts(model.pool().block_size(), blocks, swapped.len)?;
    model.insert_table(seq, table)
}
// ANCHOR_END: swap
