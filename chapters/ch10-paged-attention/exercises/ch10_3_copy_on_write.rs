//! Exercise ch10-3: copy-on-write of a shared, partly filled last block.
//!
//! With `--features ex-ch10-3` this file replaces `src/block_table/copy_on_write.rs`.
//! Check it: `cargo run -p exercises -- check ch10-3`. Stuck: `cargo run -p exercises -- hint ch10-3`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::{BlockCopy, BlockTable};
use crate::block_pool::{BlockPool, PoolError};

impl BlockTable {
    /// Must the last block be copied before the next token is written into it?
    pub(super) fn must_copy_last_block(&self, pool: &BlockPool) -> Result<bool, PoolError> {
        // TODO: the next token (position self.len) goes into the last block of self.blocks only
        // when that block is partly filled. It must be copied when other tables hold it too
        // (pool.ref_count). No block, or a full last block: nothing to copy.
        todo!("ch10-3: is the block the next token goes into shared?")
    }

    /// If the last block must be copied: a new block takes its place in this table, and the
    /// copy to make (`src` -> `dst`) is returned; `None` otherwise.
    pub(super) fn copy_last_block_if_shared(&mut self, pool: &mut BlockPool) -> Result<Option<BlockCopy>, PoolError> {
        // TODO: when must_copy_last_block says so, take a new block from the pool (before
        // changing anything, so a full pool leaves all as it was), put it in place of the last
        // block of self.blocks, let go of the old one (pool.free: the other tables keep it) and
        // return Some(BlockCopy { src: old, dst: new }).
        todo!("ch10-3: copy-on-write of the last block")
    }
}
