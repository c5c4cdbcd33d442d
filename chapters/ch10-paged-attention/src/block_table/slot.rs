//! The slot of a position (the reference solution of exercise ch10-1).

use super::{BlockTable, PoolError};

impl BlockTable {
    // ANCHOR: slot
    /// Where token `pos` of this sequence lives in the pool's storage: block
    /// `table[pos / block_size]`, offset `pos % block_size`, i.e. slot
    /// `table[pos / block_size] * block_size + pos % block_size`. A position the sequence does
    /// not hold (`pos >= len`) is an error.
    pub fn slot(&self, pos: usize) -> Result<usize, PoolError> {
        if pos >= self.len {
            return Err(PoolError::PositionOutOfRange { pos, len: self.len });
        }
        let block = self.blocks[pos / self.block_size];
        Ok(block * self.block_size + pos % self.block_size)
    }
    // ANCHOR_END: slot
}
