//! Looking inside the cache: layers, shapes, bytes.

use crate::kv_model::{KvModel, WithCaches};
use shared::Float;
use std::fmt;

/// One layer's cache.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCache {
    /// `[batch, n_kv_heads, seq, head_dim]` of the keys (values have the same shape).
    pub k_shape: [usize; 4],
    pub v_shape: [usize; 4],
    /// Bytes of the cached keys and values.
    pub bytes: usize,
    /// Bytes allocated (a preallocated cache holds room for the whole context).
    pub allocated_bytes: usize,
}

/// The whole model's cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheInfo {
    pub dtype: &'static str,
    /// Positions cached in the first layer (every layer lists its own shape below, so layers
    /// that disagreed would show).
    pub current_pos: usize,
    pub layers: Vec<LayerCache>,
}

impl CacheInfo {
    pub fn of<M: WithCaches>(model: &KvModel<M>) -> Self {
        let layers: Vec<LayerCache> = model
            .caches()
            .map(|c| {
                let shape = |a: ndarray::ArrayView4<M::Float>| {
                    let (b, h, s, d) = a.dim();
                    [b, h, s, d]
                };
                LayerCache {
                    k_shape: shape(c.keys()),
                    v_shape: shape(c.values()),
                    bytes: c.bytes(),
                    allocated_bytes: c.allocated_bytes(),
                }
            })
            .collect();
        CacheInfo {
            dtype: <M::Float as Float>::NAME,
            current_pos: layers.first().map_or(0, |l| l.k_shape[2]),
            layers,
        }
    }

    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// Bytes of all cached keys and values.
    pub fn total_bytes(&self) -> usize {
        self.layers.iter().map(|l| l.bytes).sum()
    }

    pub fn total_allocated_bytes(&self) -> usize {
        self.layers.iter().map(|l| l.allocated_bytes).sum()
    }
}

impl fmt::Display for CacheInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "KV cache: {} layers, {} positions, {} ({} bytes; {} allocated)",
            self.n_layers(),
            self.current_pos,
            self.dtype,
            self.total_bytes(),
            self.total_allocated_bytes()
        )?;
        writeln!(f, "  layer  K [batch, n_kv_heads, seq, head_dim]  V                      bytes")?;
        for (i, l) in self.layers.iter().enumerate() {
            writeln!(
                f,
                "  {i:>5}  {:<36} {:<22} {:>10}",
                format!("{:?}", l.k_shape),
                format!("{:?}", l.v_shape),
                l.bytes
            )?;
        }
        Ok(())
    }
}
