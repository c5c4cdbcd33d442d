//! # Chapter 10: paged attention
//!
//! Chapter 8 keeps each sequence's keys and values in one contiguous array, sized ahead of time.
//! Here they live in fixed-size **blocks** from a shared pool, found through a per-sequence
//! **block table**, as in vLLM: memory is taken a block at a time, shared between sequences by
//! reference count, copied on write, and moved out to a slower tier when the pool is full.
//!
//! - [`BlockPool`]: the blocks, a free list and a reference count per block (no floats: a block
//!   is a number);
//! - [`BlockTable`]: one sequence's blocks; position `pos` lives in slot
//!   `table[pos / bs] * bs + pos % bs`; appending asks the pool for a block when the last is
//!   full, and copies a shared, partly filled last block before writing into it;
//! - [`PagedKvStore`]: one layer's keys and values in blocks, `[num_blocks, n_kv_heads,
//!   block_size, head_dim]`; [`PagedAttention`] writes new keys and values into their slots and
//!   reads through the block table (a gather, then chapter 3's attention; or, for a decode step,
//!   [`decode_through_table`], block by block in place);
//! - [`PagedModel`]: any family (GPT-2, chapter 6's, chapter 7's) with one pool and one table per
//!   sequence; [`PagedModel::step`] runs sequences of different lengths without padding, and
//!   [`PagedModel::fork`] shares a prefix.

pub mod block_pool;
pub mod block_table;
pub mod decode_through_table;

pub use block_pool::{BlockId, BlockPool, PoolError};
pub use block_table::{Appended, BlockCopy, BlockTable};
pub mod paged_attention;
pub mod paged_cache;
pub mod paged_model;

pub use paged_attention::{PagedAttention, PagedStep};
pub use paged_cache::{BlockKv, PagedKvStore};
pub use paged_model::{PagedDecoder, PagedError, PagedFamily, PagedGpt, PagedModel, SeqId};

pub mod simulate;
pub mod offload;
pub mod scheduler;
