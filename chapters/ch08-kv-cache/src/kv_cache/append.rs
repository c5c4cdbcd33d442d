//! The preallocated cache's write at the pointer (the reference solution of exercise ch08-1).

use super::KvCache;
use ndarray::{s, Array4, ArrayView4};
use shared::{Error, Float, Result};

impl<F: Float> KvCache<F> {
    // ANCHOR: write_at_pointer
    // ANCHOR: write_at_pointer_signature
    /// Write the `t` new positions of k and v (`[batch, n_kv_heads, t, head_dim]`) at positions
    /// `len..len + t` of buffers with room for `capacity` positions, allocated on the first
    /// call. Refuses, before writing anything, to run past `capacity`. Leaves `len` to
    /// [`append`](KvCache::append), which moves it once the write succeeded.
    pub(super) fn write_at_pointer(&mut self, k: ArrayView4<F>, v: ArrayView4<F>, capacity: usize) -> Result<()> {
        // ANCHOR_END: write_at_pointer_signature
        let (batch, n_kv_heads, t, head_dim) = k.dim();
        let end = self.len + t;
        if end > capacity {
            return Err(Error::ContextOverflow { len: end, context_length: capacity });
        }
        let shape = (batch, n_kv_heads, capacity, head_dim);
        let cache_k = self.cache_k.get_or_insert_with(|| Array4::zeros(shape)); // [batch, n_kv_heads, capacity, head_dim]
        cache_k.slice_mut(s![.., .., self.len..end, ..]).assign(&k); // [batch, n_kv_heads, t, head_dim]
        let cache_v = self.cache_v.get_or_insert_with(|| Array4::zeros(shape));
        cache_v.slice_mut(s![.., .., self.len..end, ..]).assign(&v);
        Ok(())
    }
    // ANCHOR_END: write_at_pointer
}
