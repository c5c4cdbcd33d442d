//! Offload: a sequence's blocks copied out to a slower tier (a buffer in host memory, as vLLM's
//! CPU swap space is for GPU blocks, and from there to a file if need be) and back into fresh
//! blocks of the pool.
//!
//! This is what the source notebook's "inactive pages to slower memory" promises: a preempted
//! sequence keeps its keys and values without holding pool blocks, and continues exactly where
//! it stopped when it is copied back. The alternative, recompute, keeps nothing and prefills
//! the sequence's tokens again ([`crate::scheduler::Preemption`]).

use crate::{BlockKv, BlockTable, PagedError, PagedFamily, PagedModel, SeqId};
use shared::Float;
use std::path::Path;

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

/// Why a swap file cannot be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum SwapFileError {
    #[error(transparent)]
    Write(#[from] shared::Error),
    #[error("cannot read {path}: {source}")]
    Read { path: std::path::PathBuf, source: std::io::Error },
    #[error("{path} is not a swap file of this chapter: {reason}")]
    Format { path: std::path::PathBuf, reason: String },
}

const MAGIC: &[u8; 8] = b"KVSWAP1\0";

// ANCHOR: swap_file
impl<F: Float> Swapped<F> {
    /// Move the swapped blocks one tier further down, to a file (written atomically): header
    /// `KVSWAP1\0`, then `len, blocks, layers, n_kv_heads, block_size, head_dim` as u64, then
    /// every block's layers' keys then values, little-endian f32 (or f64 for an f64 model).
    pub fn save(&self, path: &Path) -> Result<(), SwapFileError> {
        let (h, bs, d) = self.blocks.first().and_then(|b| b.first()).map_or((0, 0, 0), |(k, _)| k.dim());
        let layers = self.blocks.first().map_or(0, Vec::len);
        let mut bytes = MAGIC.to_vec();
        for n in [self.len, self.blocks.len(), layers, h, bs, d] {
            bytes.extend((n as u64).to_le_bytes());
        }
        let wide = std::mem::size_of::<F>() == 8;
        for x in self.blocks.iter().flatten().flat_map(|(k, v)| k.iter().chain(v.iter())) {
            if wide {
                bytes.extend(x.as_f64().to_le_bytes());
            } else {
                bytes.extend((x.as_f64() as f32).to_le_bytes());
            }
        }
        Ok(shared::write_atomic(path, &bytes)?)
    }

    /// Read back what [`save`](Self::save) wrote.
    pub fn load(path: &Path) -> Result<Self, SwapFileError> {
        let bad = |reason: String| SwapFileError::Format { path: path.to_path_buf(), reason };
        let bytes = std::fs::read(path).map_err(|source| SwapFileError::Read { path: path.to_path_buf(), source })?;
        if bytes.len() < 56 || &bytes[..8] != MAGIC {
            return Err(bad("no KVSWAP1 header".into()));
        }
        let word = |i: usize| u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().unwrap_or([0; 8])) as usize;
        let [len, n_blocks, layers, h, bs, d] = [0, 1, 2, 3, 4, 5].map(word);
        let width = if std::mem::size_of::<F>() == 8 { 8 } else { 4 };
        let values = n_blocks.checked_mul(layers).and_then(|n| n.checked_mul(2 * h * bs * d));
        if values.and_then(|n| n.checked_mul(width)) != Some(bytes.len() - 56) || len > n_blocks * bs || len + bs <= n_blocks * bs {
            return Err(bad(format!("{} bytes of values for {n_blocks} blocks x {layers} layers x 2 x [{h}, {bs}, {d}] holding {len} tokens", bytes.len() - 56)));
        }
        let mut xs = bytes[56..].chunks_exact(width).map(|c| match c.try_into() {
            Ok(b8) => F::cast(f64::from_le_bytes(b8)),
            Err(_) => F::cast_f32(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        });
        let mut next_array = || ndarray::Array3::from_shape_fn((h, bs, d), |_| xs.next().unwrap_or(F::cast(0.0)));
        let blocks = (0..n_blocks).map(|_| (0..layers).map(|_| (next_array(), next_array())).collect()).collect();
        Ok(Swapped { blocks, len })
    }
}
// ANCHOR_END: swap_file
