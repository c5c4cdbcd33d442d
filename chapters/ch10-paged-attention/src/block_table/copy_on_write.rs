//! Copy-on-write of a shared, partly filled last block (the reference solution of exercise ch10-3).

use super::{BlockCopy, BlockTable};
use crate::block_pool::{BlockPool, PoolError};

impl BlockTable {
    // ANCHOR: must_copy
    /// The next token goes into the last block when that block is partly filled
    /// (`len % block_size != 0`). If other tables hold the block too (reference count > 1),
    /// writing there would change their tokens: it must be copied first.
    pub(super) fn must_copy_last_block(&self, pool: &BlockPool) -> Result<bool, PoolError> {
        match self.blocks.last() {
            Some(&last) if !self.len.is_multiple_of(self.block_size) => Ok(pool.ref_count(last)? > 1),
            _ => Ok(false),
        }
    }
    // ANCHOR_END: must_copy

    // ANCHOR: copy_on_write
    /// Copy-on-write: if the last block must be copied, take a new block, put it in the last
    /// block's place in this table, let go of the shared one (the other tables keep it) and
    /// return the copy the storage must make (`src` -> `dst`) before anything is written.
    pub(super) fn copy_last_block_if_shared(&mut self, pool: &mut BlockPool) -> Result<Option<BlockCopy>, PoolError> {
        if !self.must_copy_last_block(pool)? {
            return Ok(None);
        }
        let dst = pool.allocate()?; // first, so a full pool leaves everything as it was
        let last = self.blocks.len() - 1;
        let src = std::mem::replace(&mut self.blocks[last], dst);
        pool.free(src)?; // others still hold it: it stays used
        Ok(Some(BlockCopy { src, dst }))
    }
    // ANCHOR_END: copy_on_write
}
