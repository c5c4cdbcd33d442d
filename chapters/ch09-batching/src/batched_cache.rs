//! Chapter 8's cache with a batch axis, and which of its positions are real in each row.

use ch08_kv_cache::{CacheStorage, KvCache};
use ndarray::{concatenate, s, Array2, ArrayView2, ArrayView4, Axis};
use shared::{Error, Float, Result};

// ANCHOR: struct
/// One layer's keys and values for a whole batch, `[batch, n_kv_heads, seq, head_dim]` each (chapter 8's
/// [`KvCache`], which always had the batch axis), and the key mask `[batch, seq]`: which cached
/// positions of each row hold a real token and which hold padding. A row's valid length is the
/// number of its real positions; its next token's position is that length.
#[derive(Debug, Clone)]
pub struct BatchedKvCache<F> {
    kv: KvCache<F>,
    key_mask: Array2<bool>, // [batch, len]
}
// ANCHOR_END: struct

impl<F: Float> BatchedKvCache<F> {
    /// An empty cache with room for `capacity` positions per row, written in place.
    pub fn new(capacity: usize) -> Self {
        BatchedKvCache { kv: KvCache::new(CacheStorage::Preallocated { capacity }), key_mask: Array2::from_elem((0, 0), false) }
    }

    // ANCHOR: append
    /// Add `t` positions to every row: k and v `[batch, n_kv_heads, t, head_dim]`, and which of
    /// them are real tokens, mask `[batch, t]`.
    pub fn append(&mut self, k: ArrayView4<F>, v: ArrayView4<F>, mask: ArrayView2<bool>) -> Result<()> {
        let (batch, _, t, _) = k.dim();
        let rows_so_far = if self.kv.is_empty() { batch } else { self.key_mask.nrows() };
        if mask.dim() != (batch, t) || batch != rows_so_far {
            return Err(Error::Shape {
                op: "BatchedKvCache::append",
                expected: format!("mask [{batch}, {t}] for k {:?}, {rows_so_far} rows as before", k.shape()),
                found: format!("mask {:?}", mask.shape()),
            });
        }
        self.kv.append(k, v)?; // chapter 8: written at the pointer, refused past the capacity
        self.key_mask = if self.key_mask.is_empty() { mask.to_owned() } else { concatenate(Axis(1), &[self.key_mask.view(), mask]).expect("same rows") };
        Ok(())
    }
    // ANCHOR_END: append

    /// Cached keys and values, `[batch, n_kv_heads, len, head_dim]`.
    pub fn keys(&self) -> ArrayView4<'_, F> {
        self.kv.keys()
    }
    pub fn values(&self) -> ArrayView4<'_, F> {
        self.kv.values()
    }

    /// `[batch, len]`: true where a row's cached position holds a real token.
    pub fn key_mask(&self) -> ArrayView2<'_, bool> {
        self.key_mask.view()
    }

    /// Cached positions per row, padding included (the same for every row).
    pub fn len(&self) -> usize {
        self.kv.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kv.is_empty()
    }

    /// Each row's valid length: its real tokens.
    pub fn valid_lens(&self) -> Vec<usize> {
        self.key_mask.outer_iter().map(|row| row.iter().filter(|&&real| real).count()).collect()
    }

    /// Row `b`'s real keys, `[1, n_kv_heads, valid_len, head_dim]`: the row's last `valid_len`
    /// positions, its padding being on the left (as [`LeftPadded`](crate::LeftPadded) puts it).
    pub fn row_keys(&self, b: usize) -> ArrayView4<'_, F> {
        let pad = self.len() - self.valid_lens()[b];
        self.kv.keys().slice_move(s![b..=b, .., pad.., ..])
    }

    /// Bytes allocated (keys and values, the whole capacity once the first token arrived).
    pub fn allocated_bytes(&self) -> usize {
        self.kv.allocated_bytes()
    }

    /// Forget everything (the next batch may have another size).
    pub fn reset(&mut self) {
        self.kv.reset();
        self.key_mask = Array2::from_elem((0, 0), false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array4};

    #[test]
    fn keeps_the_mask_beside_the_keys_and_counts_each_row() {
        let mut cache = BatchedKvCache::<f64>::new(8);
        let k = Array4::from_shape_fn((2, 1, 3, 2), |(b, _, t, d)| (10 * b + t) as f64 + 0.5 * d as f64);
        cache.append(k.view(), k.view(), array![[false, true, true], [true, true, true]].view()).unwrap();
        let k1 = Array4::from_elem((2, 1, 1, 2), 7.0);
        cache.append(k1.view(), k1.view(), array![[true], [true]].view()).unwrap();
        assert_eq!(cache.len(), 4);
        assert_eq!(cache.valid_lens(), vec![3, 4]);
        assert_eq!(cache.key_mask(), array![[false, true, true, true], [true, true, true, true]]);
        // row 0's real keys: positions 1.. of the cache
        assert_eq!(cache.row_keys(0).dim(), (1, 1, 3, 2));
        assert_eq!(cache.row_keys(0)[[0, 0, 0, 0]], 1.0);
        assert_eq!(cache.row_keys(0)[[0, 0, 2, 0]], 7.0);
        // a mask of the wrong shape, or another batch size, is refused
        assert!(cache.append(k1.view(), k1.view(), array![[true]].view()).is_err());
        let k3 = Array4::from_elem((3, 1, 1, 2), 0.0);
        assert!(cache.append(k3.view(), k3.view(), array![[true], [true], [true]].view()).is_err());
        // past the capacity: refused, nothing written
        let big = Array4::from_elem((2, 1, 5, 2), 0.0);
        assert!(cache.append(big.view(), big.view(), Array2::from_elem((2, 5), true).view()).is_err());
        assert_eq!(cache.len(), 4);
        cache.reset();
        assert!(cache.is_empty());
    }
}
