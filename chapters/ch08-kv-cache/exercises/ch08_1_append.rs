//! Exercise ch08-1: append to the preallocated cache at the write pointer.
//!
//! With `--features ex-ch08-1` this file replaces `src/kv_cache/append.rs`.
//! Check it: `cargo run -p exercises -- check ch08-1`. Stuck: `cargo run -p exercises -- hint ch08-1`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::KvCache;
use ndarray::{s, Array4, ArrayView4};
use shared::{Error, Float, Result};

impl<F: Float> KvCache<F> {
    /// k and v: `[batch, n_kv_heads, t, head_dim]`, the `t` newest positions.
    /// `self.len` is the write pointer: the number of positions already cached.
    pub(super) fn write_at_pointer(&mut self, k: ArrayView4<F>, v: ArrayView4<F>, capacity: usize) -> Result<()> {
        // TODO: write k into positions self.len..self.len + t of self.cache_k, and v likewise
        // into self.cache_v. The buffers start as None: on the first call, allocate each as
        // zeros of shape [batch, n_kv_heads, capacity, head_dim], once. If self.len + t would
        // pass `capacity`, return Err(Error::ContextOverflow { len: self.len + t,
        // context_length: capacity }) before writing anything. Leave self.len alone:
        // `append` moves it after this returns Ok(()).
        todo!("ch08-1: write k and v into the preallocated buffers at the write pointer (self.len)")
    }
}
