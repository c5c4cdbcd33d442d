//! Exercise ch10-1: the slot of a position, through the block table.
//!
//! With `--features ex-ch10-1` this file replaces `src/block_table/slot.rs`.
//! Check it: `cargo run -p exercises -- check ch10-1`. Stuck: `cargo run -p exercises -- hint ch10-1`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::{BlockTable, PoolError};

impl BlockTable {
    /// Where token `pos` of this sequence lives in the pool's storage. `self.blocks` holds the
    /// sequence's block numbers in position order, `self.block_size` tokens each; `self.len` is
    /// how many tokens the sequence holds.
    pub fn slot(&self, pos: usize) -> Result<usize, PoolError> {
        // TODO: a position the sequence does not hold (pos >= self.len) is
        // Err(PoolError::PositionOutOfRange { pos, len: self.len }). Otherwise find which of the
        // sequence's blocks holds `pos` and where inside that block it sits, and return the slot:
        // the row of the pool's storage, counting block_size rows per block from block 0.
        todo!("ch10-1: the slot of position `pos` through the block table")
    }
}
