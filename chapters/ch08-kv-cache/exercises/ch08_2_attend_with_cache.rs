//! Exercise ch08-2: the cached attention: append, then attend over the whole cache.
//!
//! With `--features ex-ch08-2` this file replaces `src/cached_attention/with_cache.rs`.
//! Check it: `cargo run -p exercises -- check ch08-2`. Stuck: `cargo run -p exercises -- hint ch08-2`.
#![allow(unused_imports, unused_variables)] // nothing is used yet: delete this line when done

use super::CachedAttention;
use ndarray::{Array3, ArrayView4};
use ch04_gpt::QkvAttention;
use shared::{Float, Result};

impl<F: Float, A: QkvAttention<F>> CachedAttention<F, A> {
    /// q: `[batch, n_heads, t, head_dim]`, k and v: `[batch, n_kv_heads, t, head_dim]`, of the
    /// `t` newest tokens -> `[batch, t, d_model]`.
    pub fn attend_with_cache(&mut self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<Array3<F>> {
        // TODO: add this chunk's k and v to self.cache (a KvCache), then let the wrapped
        // attention (self.attn) attend the queries q over ALL the cached keys and values,
        // not only the t new ones. Two lines.
        todo!("ch08-2: append k and v to self.cache, then attend q over every cached key and value")
    }
}
