//! One sequence's block table: which pool blocks hold its tokens, in order.
//!
//! Token `pos` of the sequence lives in block `table[pos / block_size]`, at offset
//! `pos % block_size` inside it; its **slot**, the number of its row in the pool's storage, is
//! `table[pos / block_size] * block_size + pos % block_size`.

use crate::block_pool::{BlockId, BlockPool, PoolError};

// Exercise ch10-1 (the slot of a position) and ch10-3 (copy-on-write): `--features ex-ch10-1` /
// `ex-ch10-3` swap in the learner's stubs.
#[cfg_attr(feature = "ex-ch10-1", path = "../exercises/ch10_1_slot.rs")]
mod slot;
#[cfg_attr(feature = "ex-ch10-3", path = "../exercises/ch10_3_copy_on_write.rs")]
mod copy_on_write;

// ANCHOR: table
/// The blocks of one sequence, in order, and how many tokens it holds. Block `i` holds positions
/// `i * block_size .. (i + 1) * block_size`; only the last block may be partly filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTable {
    block_size: usize,
    blocks: Vec<BlockId>,
    /// Tokens held (the next token's position).
    len: usize,
}
// ANCHOR_END: table

/// A block to copy before writing: `src`'s whole contents go to `dst` in every layer's storage.
/// [`BlockTable::append`] asks for one when the block it must write into is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCopy {
    pub src: BlockId,
    pub dst: BlockId,
}

/// What [`BlockTable::append`] did: the slots to write the new tokens' keys and values into, and
/// the copy to make first (copy-on-write), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub copy: Option<BlockCopy>,
    pub slots: Vec<usize>,
}

impl BlockTable {
    /// An empty table for blocks of `block_size` tokens.
    pub fn new(block_size: usize) -> Result<Self, PoolError> {
        if block_size == 0 {
            return Err(PoolError::ZeroBlockSize);
        }
        Ok(BlockTable { block_size, blocks: Vec::new(), len: 0 })
    }

    /// A table from its parts, e.g. after its blocks were swapped back in to new block numbers.
    /// The blocks must be exactly `ceil(len / block_size)`; their reference counts are the
    /// caller's business (they must already be held for this table).
    pub fn from_parts(block_size: usize, blocks: Vec<BlockId>, len: usize) -> Result<Self, PoolError> {
        if block_size == 0 {
            return Err(PoolError::ZeroBlockSize);
        }
        let need = len.div_ceil(block_size);
        if blocks.len() != need {
            return Err(PoolError::TableShape { blocks: blocks.len(), block_size, len, need });
        }
        Ok(BlockTable { block_size, blocks, len })
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Tokens held; the position of the next token.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The blocks, in position order.
    pub fn blocks(&self) -> &[BlockId] {
        &self.blocks
    }

    fn check_pool(&self, pool: &BlockPool) -> Result<(), PoolError> {
        if pool.block_size() != self.block_size {
            return Err(PoolError::BlockSizeMismatch { table: self.block_size, pool: pool.block_size() });
        }
        Ok(())
    }

    /// Blocks `append(n)` would take from the pool: the new blocks for positions
    /// `len..len + n`, plus one if the partly filled last block is shared and must be copied.
    pub fn blocks_needed(&self, n: usize, pool: &BlockPool) -> Result<usize, PoolError> {
        self.check_pool(pool)?;
        let grow = (self.len + n).div_ceil(self.block_size) - self.blocks.len();
        let copy = usize::from(n > 0 && self.must_copy_last_block(pool)?);
        Ok(grow + copy)
    }

    // ANCHOR: append
    /// Make room for `n` more tokens: copy the last block first if it is shared and partly
    /// filled (copy-on-write), take a new block from the pool whenever the last one is full,
    /// and return the slots of positions `len..len + n`. All or nothing: if the pool has too few
    /// free blocks, `OutOfBlocks` and neither the table nor the pool changed.
    pub fn append(&mut self, n: usize, pool: &mut BlockPool) -> Result<Appended, PoolError> {
        pool.ensure_free(self.blocks_needed(n, pool)?)?;
        let copy = if n > 0 { self.copy_last_block_if_shared(pool)? } else { None };
        while self.blocks.len() * self.block_size < self.len + n {
            self.blocks.push(pool.allocate()?); // the last block is full: a new one
        }
        let (start, end) = (self.len, self.len + n);
        self.len = end;
        let slots = (start..end).map(|pos| self.slot(pos)).collect::<Result<_, _>>()?;
        Ok(Appended { copy, slots })
    }
    // ANCHOR_END: append

    // ANCHOR: fork
    /// A second sequence that shares this one's first `len` tokens (a system prompt, or parallel
    /// sampling): the new table holds the same blocks, each one's reference count + 1. Nothing
    /// is copied now; whichever sequence first writes into a shared, partly filled block copies
    /// it then ([`append`](Self::append)).
    pub fn fork_prefix(&self, len: usize, pool: &mut BlockPool) -> Result<BlockTable, PoolError> {
        self.check_pool(pool)?;
        if len > self.len {
            return Err(PoolError::PositionOutOfRange { pos: len, len: self.len });
        }
        let blocks = self.blocks[..len.div_ceil(self.block_size)].to_vec();
        for &b in &blocks {
            pool.incref(b)?;
        }
        Ok(BlockTable { block_size: self.block_size, blocks, len })
    }

    /// [`fork_prefix`](Self::fork_prefix) of the whole sequence.
    pub fn fork(&self, pool: &mut BlockPool) -> Result<BlockTable, PoolError> {
        self.fork_prefix(self.len, pool)
    }
    // ANCHOR_END: fork

    /// The sequence is done: let go of every block (each returns to the free list when no
    /// other table holds it) and empty the table.
    pub fn release(&mut self, pool: &mut BlockPool) -> Result<(), PoolError> {
        self.check_pool(pool)?;
        for b in self.blocks.drain(..) {
            pool.free(b)?;
        }
        self.len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_parts_checks_the_block_count() {
        assert!(BlockTable::from_parts(4, vec![7, 2], 5).is_ok());
        assert!(matches!(BlockTable::from_parts(4, vec![7, 2], 9), Err(PoolError::TableShape { need: 3, .. })));
        assert_eq!(BlockTable::from_parts(0, vec![], 0), Err(PoolError::ZeroBlockSize));
    }

    #[test]
    fn a_table_refuses_a_pool_of_another_block_size() {
        let mut pool = BlockPool::new(4, 3).unwrap();
        let mut t = BlockTable::new(4).unwrap();
        assert_eq!(t.append(1, &mut pool), Err(PoolError::BlockSizeMismatch { table: 4, pool: 3 }));
    }
}
