//! Exercise ch10-2: allocate, share and free blocks by reference count.
//!
//! With `--features ex-ch10-2` this file replaces `src/block_pool/refcount.rs`.
//! Check it: `cargo run -p exercises -- check ch10-2`. Stuck: `cargo run -p exercises -- hint ch10-2`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::{BlockId, BlockPool, PoolError};

impl BlockPool {
    /// Take a free block; its reference count becomes 1.
    pub fn allocate(&mut self) -> Result<BlockId, PoolError> {
        // TODO: take a block from the free list (self.free). None left is
        // Err(PoolError::OutOfBlocks { needed: 1, free: 0, total: self.num_blocks() }).
        // The block's entry in self.ref_counts becomes 1.
        todo!("ch10-2: take a block from the free list")
    }

    /// One more block table holds `block` (sharing).
    pub fn incref(&mut self, block: BlockId) -> Result<(), PoolError> {
        // TODO: self.check(block)? refuses a block number that does not exist. A free block
        // (reference count 0) cannot be shared: Err(PoolError::BlockIsFree { block }).
        // Otherwise one more holder.
        todo!("ch10-2: one more holder")
    }

    /// One block table lets go of `block`: `Ok(true)` when that was the last holder and the
    /// block went back to the free list, `Ok(false)` while others still hold it.
    pub fn free(&mut self, block: BlockId) -> Result<bool, PoolError> {
        // TODO: check the block exists; freeing a free block is Err(PoolError::BlockIsFree { block }),
        // never a silent double free. One holder less; the last one out returns it to self.free.
        todo!("ch10-2: one holder less; the last returns the block to the free list")
    }
}
