//! The cached path of [`CachedAttention`] (the reference solution of exercise ch08-2).

use super::CachedAttention;
use ndarray::{Array3, ArrayView4};
use ch04_gpt::QkvAttention;
use shared::{Float, Result};

impl<F: Float, A: QkvAttention<F>> CachedAttention<F, A> {
    // ANCHOR: attend_with_cache
    // ANCHOR: attend_with_cache_signature
    /// q: `[batch, n_heads, t, head_dim]`, k and v: `[batch, n_kv_heads, t, head_dim]`, of the
    /// `t` newest tokens -> `[batch, t, d_model]`, each query attending over every cached position.
    pub fn attend_with_cache(&mut self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<Array3<F>> {
        // ANCHOR_END: attend_with_cache_signature
        self.cache.append(k, v)?; // keep this chunk's keys and values
        // attend over everything cached, [batch, n_kv_heads, len, head_dim]; the causal mask
        // inside `attend` is offset by `len - t`, the number of positions cached before this chunk
        self.attn.attend(q, self.cache.keys(), self.cache.values())
    }
    // ANCHOR_END: attend_with_cache
}
