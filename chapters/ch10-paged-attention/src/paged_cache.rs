//! One attention layer's keys and values in pool blocks, `[num_blocks, n_kv_heads, block_size,
//! head_dim]` each: written through slots, read through a block table.

use crate::block_pool::BlockId;
use ndarray::{s, Array3, Array4, ArrayView2, ArrayView3, ArrayView4};
use shared::{Error, Float, Result};

// ANCHOR: struct
/// The storage behind the pool's block numbers, for one layer. Block `b` holds, for every kv
/// head, `block_size` rows of `head_dim`: `k[[b, head, offset, ..]]`. A slot `s` is block
/// `s / block_size`, offset `s % block_size`. Which slots belong to which sequence is the
/// block tables' business: this store only writes and reads where it is told.
#[derive(Debug, Clone)]
pub struct PagedKvStore<F> {
    k: Array4<F>, // [num_blocks, n_kv_heads, block_size, head_dim]
    v: Array4<F>,
}
// ANCHOR_END: struct

impl<F: Float> PagedKvStore<F> {
    /// All blocks, zeroed: the pool's memory is taken once, up front.
    pub fn new(num_blocks: usize, n_kv_heads: usize, block_size: usize, head_dim: usize) -> Self {
        let shape = (num_blocks, n_kv_heads, block_size, head_dim);
        PagedKvStore { k: Array4::zeros(shape), v: Array4::zeros(shape) }
    }

    pub fn block_size(&self) -> usize {
        self.k.dim().2
    }

    pub fn num_blocks(&self) -> usize {
        self.k.dim().0
    }

    /// Bytes of keys and values of one block.
    pub fn bytes_per_block(&self) -> usize {
        let (_, h, bs, d) = self.k.dim();
        2 * h * bs * d * std::mem::size_of::<F>()
    }

    // ANCHOR: write
    /// Store new keys and values, k and v `[batch, n_kv_heads, t, head_dim]`: token `t` of row
    /// `b` goes to slot `slots[[b, t]]` (`[batch, t]`).
    pub fn write(&mut self, k: ArrayView4<F>, v: ArrayView4<F>, slots: ArrayView2<usize>) -> Result<()> {
        let (batch, heads, t, dim) = k.dim();
        let (_, h, bs, d) = self.k.dim();
        if v.dim() != k.dim() || (heads, dim) != (h, d) || slots.dim() != (batch, t) {
            return Err(Error::Shape { op: "PagedKvStore::write", expected: format!("k, v [{batch}, {h}, {t}, {d}], slots [{batch}, {t}]"), found: format!("k {:?}, v {:?}, slots {:?}", k.shape(), v.shape(), slots.shape()) });
        }
        if let Some(&slot) = slots.iter().find(|&&s| s >= self.num_blocks() * bs) {
            return Err(Error::InvalidArgument(format!("slot {slot} is outside the pool's {} slots", self.num_blocks() * bs)));
        }
        for ((b, i), &slot) in slots.indexed_iter() {
            let (block, offset) = (slot / bs, slot % bs);
            self.k.slice_mut(s![block, .., offset, ..]).assign(&k.slice(s![b, .., i, ..])); // [n_kv_heads, head_dim]
            self.v.slice_mut(s![block, .., offset, ..]).assign(&v.slice(s![b, .., i, ..]));
        }
        Ok(())
    }
    // ANCHOR_END: write

    // ANCHOR: gather
    /// The first `len` positions of a sequence whose blocks are `blocks` (its block table), in
    /// position order: k and v `[1, n_kv_heads, len, head_dim]`, what chapter 8's cache holds.
    /// This copy is what reading "through the block table" costs here.
    pub fn gather(&self, blocks: &[BlockId], len: usize) -> Result<(Array4<F>, Array4<F>)> {
        let (num_blocks, h, bs, d) = self.k.dim();
        if blocks.len() * bs < len || blocks.iter().any(|&b| b >= num_blocks) {
            return Err(Error::InvalidArgument(format!("blocks {blocks:?} of {bs} tokens cannot hold {len} positions of a pool of {num_blocks} blocks")));
        }
        let gather_one = |store: &Array4<F>| {
            let mut out = Vec::with_capacity(h * len * d);
            for head in 0..h {
                for (i, &block) in blocks.iter().enumerate().take(len.div_ceil(bs)) {
                    let rows = bs.min(len - i * bs); // the last block may be partly filled
                    let part = store.slice(s![block, head, ..rows, ..]); // [rows, head_dim], contiguous
                    match part.as_slice() {
                        Some(run) => out.extend_from_slice(run),
                        None => out.extend(part.iter().copied()),
                    }
                }
            }
            Array4::from_shape_vec((1, h, len, d), out).expect("h * len * d values")
        };
        Ok((gather_one(&self.k), gather_one(&self.v)))
    }
    // ANCHOR_END: gather

    // ANCHOR: copy_block
    /// Copy-on-write: block `src`'s keys and values become block `dst`'s too.
    pub fn copy_block(&mut self, src: BlockId, dst: BlockId) -> Result<()> {
        self.check_block(src)?;
        self.check_block(dst)?;
        for store in [&mut self.k, &mut self.v] {
            let from = store.slice(s![src, .., .., ..]).to_owned(); // [n_kv_heads, block_size, head_dim]
            store.slice_mut(s![dst, .., .., ..]).assign(&from);
        }
        Ok(())
    }
    // ANCHOR_END: copy_block

    /// The first `rows` rows of kv head `head` in `block`, keys (or values), as one slice
    /// `[rows * head_dim]`: the run the decode kernel reads.
    pub fn rows(&self, block: BlockId, head: usize, rows: usize, values: bool) -> &[F] {
        let store = if values { &self.v } else { &self.k };
        let (_, _, bs, d) = store.dim();
        let all = store.as_slice().expect("a standard-layout array");
        let start = ((block * store.dim().1 + head) * bs) * d;
        &all[start..start + rows * d]
    }

    /// One block's keys and values, `[n_kv_heads, block_size, head_dim]` each (to move it out
    /// to another tier).
    pub fn block(&self, block: BlockId) -> Result<(ArrayView3<'_, F>, ArrayView3<'_, F>)> {
        self.check_block(block)?;
        Ok((self.k.slice(s![block, .., .., ..]), self.v.slice(s![block, .., .., ..])))
    }

    /// Put keys and values `[n_kv_heads, block_size, head_dim]` into a block (to bring it back).
    pub fn set_block(&mut self, block: BlockId, k: ArrayView3<F>, v: ArrayView3<F>) -> Result<()> {
        self.check_block(block)?;
        let (_, h, bs, d) = self.k.dim();
        if k.dim() != (h, bs, d) || v.dim() != (h, bs, d) {
            return Err(Error::Shape { op: "PagedKvStore::set_block", expected: format!("[{h}, {bs}, {d}]"), found: format!("k {:?}, v {:?}", k.shape(), v.shape()) });
        }
        self.k.slice_mut(s![block, .., .., ..]).assign(&k);
        self.v.slice_mut(s![block, .., .., ..]).assign(&v);
        Ok(())
    }

    fn check_block(&self, block: BlockId) -> Result<()> {
        if block >= self.num_blocks() {
            return Err(Error::InvalidArgument(format!("block {block} does not exist (the pool has {} blocks)", self.num_blocks())));
        }
        Ok(())
    }
}

/// One block's keys and values in one layer, `[n_kv_heads, block_size, head_dim]` each.
pub type BlockKv<F> = (Array3<F>, Array3<F>);

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn written_slots_come_back_in_table_order() {
        // 1 head, head_dim 1, block size 2, 4 blocks; values = position * 10
        let mut store = PagedKvStore::<f64>::new(4, 1, 2, 1);
        // a sequence of 3 tokens in blocks [3, 1]: positions 0, 1 -> slots 6, 7; position 2 -> slot 2
        let k = Array4::from_shape_vec((1, 1, 3, 1), vec![0.0, 10.0, 20.0]).unwrap();
        let slots = Array2::from_shape_vec((1, 3), vec![6, 7, 2]).unwrap();
        store.write(k.view(), (&k + 1.0).view(), slots.view()).unwrap();
        let (gk, gv) = store.gather(&[3, 1], 3).unwrap();
        assert_eq!(gk.iter().copied().collect::<Vec<_>>(), [0.0, 10.0, 20.0]);
        assert_eq!(gv.iter().copied().collect::<Vec<_>>(), [1.0, 11.0, 21.0]);
        assert!(store.write(k.view(), k.view(), Array2::from_elem((1, 3), 8).view()).is_err(), "slot 8 of 8");
        assert!(store.gather(&[3], 3).is_err(), "one block of 2 cannot hold 3");
    }
}
