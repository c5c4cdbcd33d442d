//! The block pool: a fixed number of fixed-size blocks, a free list and a reference count per block.
//!
//! The pool knows nothing about keys, values or floats: a block is a number, `0..num_blocks`.
//! Whatever stores the data (one array per layer) uses the same numbers.

use thiserror::Error;

// Exercise ch10-2 (allocate / incref / free with reference counts): `--features ex-ch10-2` swaps
// in the learner's stub.
#[cfg_attr(feature = "ex-ch10-2", path = "../exercises/ch10_2_refcount.rs")]
mod refcount;

/// The number of a block in the pool, `0..num_blocks`.
pub type BlockId = usize;

/// What the pool and the block tables refuse to do. Nothing in them panics: every misuse is one
/// of these.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoolError {
    #[error("the block size must be at least 1 token")]
    ZeroBlockSize,
    #[error("out of blocks: {needed} needed, {free} free of {total}")]
    OutOfBlocks { needed: usize, free: usize, total: usize },
    #[error("block {block} does not exist (the pool has {num_blocks} blocks)")]
    NoSuchBlock { block: BlockId, num_blocks: usize },
    #[error("block {block} is free: it cannot be freed again or shared")]
    BlockIsFree { block: BlockId },
    #[error("position {pos} is not cached (the sequence holds {len} tokens)")]
    PositionOutOfRange { pos: usize, len: usize },
    #[error("block size mismatch: the table uses {table} tokens per block, the pool {pool}")]
    BlockSizeMismatch { table: usize, pool: usize },
    #[error("{blocks} blocks of {block_size} tokens cannot hold {len} tokens exactly (need {need} blocks)")]
    TableShape { blocks: usize, block_size: usize, len: usize, need: usize },
}

// ANCHOR: pool
/// `num_blocks` blocks of `block_size` token slots each. A block is free (reference count 0, on
/// the free list) or used by one or more sequences (reference count = how many block tables
/// hold it). Fields are private: only [`allocate`](Self::allocate), [`incref`](Self::incref)
/// and [`free`](Self::free) move a block between the two states.
#[derive(Debug, Clone)]
pub struct BlockPool {
    block_size: usize,
    /// `ref_counts[b]`: how many block tables hold block `b` (0 = free).
    ref_counts: Vec<u32>,
    /// The free blocks; `allocate` takes from the end (the most recently freed block first).
    free: Vec<BlockId>,
}
// ANCHOR_END: pool

impl BlockPool {
    /// A pool of `num_blocks` free blocks of `block_size` tokens.
    pub fn new(num_blocks: usize, block_size: usize) -> Result<Self, PoolError> {
        if block_size == 0 {
            return Err(PoolError::ZeroBlockSize);
        }
        // reversed, so the first allocations hand out 0, 1, 2, ... (easy to read in tests)
        let free = (0..num_blocks).rev().collect();
        Ok(BlockPool { block_size, ref_counts: vec![0; num_blocks], free })
    }

    /// Tokens per block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// All blocks, free or used.
    pub fn num_blocks(&self) -> usize {
        self.ref_counts.len()
    }

    /// Blocks on the free list.
    pub fn num_free(&self) -> usize {
        self.free.len()
    }

    /// Blocks held by at least one sequence.
    pub fn num_used(&self) -> usize {
        self.num_blocks() - self.num_free()
    }

    /// How many block tables hold `block` (0 = free).
    pub fn ref_count(&self, block: BlockId) -> Result<u32, PoolError> {
        self.check(block)?;
        Ok(self.ref_counts[block])
    }

    /// Blocks needed to hold `tokens` tokens: `ceil(tokens / block_size)`.
    pub fn blocks_for(&self, tokens: usize) -> usize {
        tokens.div_ceil(self.block_size)
    }

    fn check(&self, block: BlockId) -> Result<(), PoolError> {
        if block >= self.ref_counts.len() {
            return Err(PoolError::NoSuchBlock { block, num_blocks: self.ref_counts.len() });
        }
        Ok(())
    }

    /// Refuse, before anything changes, when fewer than `needed` blocks are free.
    pub fn ensure_free(&self, needed: usize) -> Result<(), PoolError> {
        if needed > self.free.len() {
            return Err(PoolError::OutOfBlocks { needed, free: self.free.len(), total: self.num_blocks() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_block_size_is_refused() {
        assert_eq!(BlockPool::new(4, 0).unwrap_err(), PoolError::ZeroBlockSize);
    }

    #[test]
    fn blocks_for_rounds_up() {
        let pool = BlockPool::new(1, 16).unwrap();
        // 0 tokens: none; 1..=16: one; 17: two; 512: 32
        assert_eq!([0, 1, 16, 17, 512].map(|t| pool.blocks_for(t)), [0, 1, 1, 2, 32]);
    }
}
