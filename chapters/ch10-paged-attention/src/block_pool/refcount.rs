//! Allocate, share and free blocks by reference count (the reference solution of exercise ch10-2).

use super::{BlockId, BlockPool, PoolError};

impl BlockPool {
    // ANCHOR: refcount
    /// Take a free block; its reference count becomes 1. `OutOfBlocks` when none is free.
    pub fn allocate(&mut self) -> Result<BlockId, PoolError> {
        let block = self.free.pop().ok_or(PoolError::OutOfBlocks { needed: 1, free: 0, total: self.num_blocks() })?;
        self.ref_counts[block] = 1;
        Ok(block)
    }

    /// One more block table holds `block` (sharing). A free block cannot be shared.
    pub fn incref(&mut self, block: BlockId) -> Result<(), PoolError> {
        self.check(block)?;
        if self.ref_counts[block] == 0 {
            return Err(PoolError::BlockIsFree { block });
        }
        self.ref_counts[block] += 1;
        Ok(())
    }

    /// One block table lets go of `block`. The last one to let go returns it to the free list
    /// (`Ok(true)`); while others still hold it, it stays (`Ok(false)`). Freeing a free block
    /// is an error, not a silent double free.
    pub fn free(&mut self, block: BlockId) -> Result<bool, PoolError> {
        self.check(block)?;
        if self.ref_counts[block] == 0 {
            return Err(PoolError::BlockIsFree { block });
        }
        self.ref_counts[block] -= 1;
        if self.ref_counts[block] == 0 {
            self.free.push(block);
            return Ok(true);
        }
        Ok(false)
    }
    // ANCHOR_END: refcount
}
