//! Which model a cache belongs to: a hash of the model's config.json and of every byte of its
//! weight files, and the shape each layer's cache must have.

use crate::fnv::Fnv1a;
use ch04_gpt::Gpt;
use ch06_llama_qwen::{Decoder, FeedForwardLayer, RotaryAttention};
use ch08_kv_cache::{CachedAttention, KvModel, WithCaches};
use shared::{Checkpoint, Error, Float, Result};
use std::io::Read;
use std::path::Path;

// ANCHOR: fingerprint
/// FNV-1a over config.json's bytes, then each weight file's length and bytes (the shards in
/// the index's order). Two models with the same shapes but one weight different differ here,
/// so a cache never loads into a model it was not made by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// The fingerprint of a Hugging Face model folder (config.json and its safetensors files).
    pub fn of_folder(dir: &Path) -> Result<Self> {
        let mut hash = Fnv1a::default();
        let config = shared::checkpoint::config_json_in(dir)?;
        hash_file(&mut hash, &config)?;
        let checkpoint = Checkpoint::open_folder(dir)?;
        for file in checkpoint.files() {
            hash_file(&mut hash, file)?;
        }
        Ok(Fingerprint(hash.finish()))
    }
}

/// Stream one file into the hash, its length first (so file boundaries count).
fn hash_file(hash: &mut Fnv1a, path: &Path) -> Result<()> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    hash.update(&len.to_le_bytes());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        hash.update(&buf[..n]);
    }
}
// ANCHOR_END: fingerprint

/// The shape of one layer's cached keys (and values) per position: `(n_kv_heads, head_dim)`.
/// Each family knows it from its config.
pub trait CacheShape {
    fn kv_heads_and_head_dim(&self) -> (usize, usize);
}

impl<F: Float> CacheShape for Gpt<F, CachedAttention<F>> {
    fn kv_heads_and_head_dim(&self) -> (usize, usize) {
        (self.config.n_kv_heads, self.config.head_dim())
    }
}

impl<F: Float, M: FeedForwardLayer<F>> CacheShape for Decoder<F, CachedAttention<F, RotaryAttention<F>>, M> {
    fn kv_heads_and_head_dim(&self) -> (usize, usize) {
        (self.config.n_kv_heads, self.config.head_dim)
    }
}

/// What a model expects of a cache file: layers, KV heads, head width, longest context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    pub n_layers: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub context_length: usize,
    pub vocab_size: usize,
}

impl ModelShape {
    pub fn of<M: WithCaches + CacheShape>(model: &KvModel<M>) -> Self {
        let (n_kv_heads, head_dim) = model.model().kv_heads_and_head_dim();
        ModelShape {
            n_layers: model.caches().count(),
            n_kv_heads,
            head_dim,
            context_length: model.model().context_length(),
            vocab_size: model.model().vocab_size(),
        }
    }
}
