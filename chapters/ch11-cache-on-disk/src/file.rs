//! Save a model's KV cache to one file; load it into a fresh model of the same weights.

use crate::fingerprint::{CacheShape, Fingerprint, ModelShape};
use crate::fnv::{fnv1a, Fnv1a};
use crate::format::{CacheFileError, Dtype, Header, HEADER_BYTES};
use crate::header_check::check_header;
use ch08_kv_cache::{KvModel, LayerKv, WithCaches};
use ndarray::Array4;
use shared::Float;
use std::io::Read;
use std::path::Path;

// ANCHOR: save
/// Write `model`'s caches, which hold exactly `ids` (the context fed so far), to `path`
/// atomically (a temporary file, fsync, rename: a crash leaves the old file or the new one).
/// `dtype` is the model's own float (exact), or f16 / bf16 (half the bytes of f32, rounded).
pub fn save_cache<M: WithCaches>(path: &Path, model: &KvModel<M>, ids: &[u32], fingerprint: Fingerprint, dtype: Dtype) -> Result<(), CacheFileError> {
    let refuse = |reason: String| CacheFileError::Save { path: path.to_path_buf(), reason };
    let cached = model.current_pos()?;
    if cached != ids.len() || cached == 0 {
        return Err(refuse(format!("the caches hold {cached} positions but {} token ids were given (at least 1)", ids.len())));
    }
    let first = model.caches().next().ok_or_else(|| refuse("the model has no layers".into()))?;
    let (batch, n_kv_heads, _, head_dim) = first.keys().dim(); // [batch, n_kv_heads, seq, head_dim]
    if batch != 1 {
        return Err(refuse(format!("the caches hold a batch of {batch} sequences, a file holds one")));
    }
    let native = Dtype::of::<M::Float>();
    if !dtype.fits(native) {
        return Err(refuse(format!("a model computing in {} stores its cache in {}, f16 or bf16, not {}", native.name(), native.name(), dtype.name())));
    }
    // payload: token ids, then per layer K then V, each [n_kv_heads, seq, head_dim] row-major
    let n_values: usize = model.caches().map(|c| c.keys().len() + c.values().len()).sum();
    let mut payload = Vec::with_capacity(4 * ids.len() + n_values * dtype.bytes());
    for id in ids {
        payload.extend_from_slice(&id.to_le_bytes());
    }
    for cache in model.caches() {
        for x in cache.keys().iter().chain(cache.values().iter()) {
            if !dtype.write(x.as_f64(), &mut payload) {
                return Err(refuse(format!("the value {x} does not fit {} (choose a wider dtype)", dtype.name())));
            }
        }
    }
    let header = Header {
        fingerprint: fingerprint.0,
        dtype,
        n_layers: to_u32(model.caches().count(), "layers", &refuse)?,
        n_kv_heads: to_u32(n_kv_heads, "KV heads", &refuse)?,
        head_dim: to_u32(head_dim, "head_dim", &refuse)?,
        n_tokens: to_u32(ids.len(), "tokens", &refuse)?,
        payload_checksum: fnv1a(&payload),
    };
    let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
    bytes.extend_from_slice(&header.encode());
    bytes.extend_from_slice(&payload);
    shared::write_atomic(path, &bytes)?;
    Ok(())
}
// ANCHOR_END: save

fn to_u32(n: usize, what: &str, refuse: &impl Fn(String) -> CacheFileError) -> Result<u32, CacheFileError> {
    u32::try_from(n).map_err(|_| refuse(format!("{n} {what} do not fit the format's 32 bits")))
}

// ANCHOR: load
/// Load the cache file at `path` into `model` (its caches are replaced) and return the token
/// ids it holds; the next token fed continues after them.
///
/// Every check runs before the payload is read or anything sized by the file is allocated:
/// the header (magic, version, its checksum), the fingerprint, the dtype and every shape
/// against the model, the total size against the file's length. Then the payload's checksum.
/// Keys and values stored in f16 or bf16 are widened to the model's float.
pub fn load_cache<M: WithCaches + CacheShape>(path: &Path, model: &mut KvModel<M>, fingerprint: Fingerprint) -> Result<Vec<u32>, CacheFileError> {
    let p = || path.to_path_buf();
    let io = |source| CacheFileError::Io { path: p(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Err(CacheFileError::Empty { path: p() });
    }
    if len < HEADER_BYTES as u64 {
        return Err(CacheFileError::Truncated { path: p(), part: "header", found: len, needed: HEADER_BYTES as u64 });
    }
    let mut head = [0u8; HEADER_BYTES];
    file.read_exact(&mut head).map_err(io)?;
    let header = Header::decode(path, &head)?;
    let expected = check_header(path, &header, &ModelShape::of(model), fingerprint, Dtype::of::<M::Float>())?;
    if len < expected {
        return Err(CacheFileError::Truncated { path: p(), part: "header and payload", found: len, needed: expected });
    }
    if len > expected {
        return Err(CacheFileError::TrailingBytes { path: p(), expected, extra: len - expected });
    }
    // sizes proven (the file's length is what the model's own shapes imply): now stream the
    // payload through the checksum, widening each piece straight into its layer's arrays, so
    // no buffer the size of the file is ever allocated; nothing reaches the model before the
    // checksum matches.
    let mut payload = Payload { file, hash: Fnv1a::default(), chunk: vec![0u8; CHUNK_BYTES] };
    let n = header.n_tokens as usize;
    let ids: Vec<u32> = payload.read_values(n, 4, |b| u32::from_le_bytes(b.try_into().expect("4 bytes"))).map_err(io)?;
    let shape = (1, header.n_kv_heads as usize, n, header.head_dim as usize); // [1, n_kv_heads, n_tokens, head_dim]
    let mut layers = Vec::with_capacity(header.n_layers as usize); // per layer (K, V)
    for _ in 0..header.n_layers {
        let mut tensor = || -> Result<Array4<M::Float>, CacheFileError> {
            let values = payload.read_values(shape.1 * shape.2 * shape.3, header.dtype.bytes(), |b| header.dtype.read(b)).map_err(io)?;
            Ok(Array4::from_shape_vec(shape, values).expect("the size was checked against the header"))
        };
        let k = tensor()?;
        layers.push((k, tensor()?));
    }
    if payload.hash.finish() != header.payload_checksum {
        return Err(CacheFileError::DamagedPayload { path: p() });
    }
    let vocab_size = ModelShape::of(model).vocab_size;
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab_size) {
        return Err(CacheFileError::TokenOutOfRange { path: p(), id, vocab_size });
    }
    let views: Vec<LayerKv<M::Float>> = layers.iter().map(|(k, v)| (k.view(), v.view())).collect();
    model.restore_caches(&views)?;
    Ok(ids)
}
// ANCHOR_END: load

/// Bytes read (and hashed) at a time while loading: small enough to stay in cache, a whole
/// number of values of every dtype.
const CHUNK_BYTES: usize = 1 << 16;

/// The payload of an open file, read in order through its running checksum.
struct Payload {
    file: std::fs::File,
    hash: Fnv1a,
    chunk: Vec<u8>,
}

impl Payload {
    /// The next `count` values of `width` bytes each, hashed and converted by `value`.
    fn read_values<T>(&mut self, count: usize, width: usize, value: impl Fn(&[u8]) -> T) -> std::io::Result<Vec<T>> {
        let mut values = Vec::with_capacity(count);
        let mut left = count * width;
        while left > 0 {
            let bytes = &mut self.chunk[..left.min(CHUNK_BYTES)];
            self.file.read_exact(bytes)?;
            self.hash.update(bytes);
            values.extend(bytes.chunks_exact(width).map(&value));
            left -= bytes.len();
        }
        Ok(values)
    }
}
