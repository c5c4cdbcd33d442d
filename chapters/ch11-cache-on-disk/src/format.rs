//! The bytes of a cache file, and every way a file can be refused.
//!
// ANCHOR: layout
//! ```text
//! offset  bytes  field (all integers little-endian)
//!      0      8  magic            b"KVCACHE\0"
//!      8      4  version          1
//!     12      4  header_bytes     64 (the header has this one fixed, bounded size)
//!     16      8  fingerprint      the model's (see `fingerprint`)
//!     24      4  dtype            1 = f32, 2 = f64, 3 = f16, 4 = bf16 (IEEE binary16, bfloat16)
//!     28      4  layout           1 = per layer K then V, each [n_kv_heads, n_tokens, head_dim], row-major
//!     32      4  n_layers
//!     36      4  n_kv_heads
//!     40      4  head_dim
//!     44      4  n_tokens         cached positions 0..n_tokens (the next token is at n_tokens)
//!     48      8  payload_checksum FNV-1a of every byte after the header
//!     56      8  header_checksum  FNV-1a of bytes 0..56
//!     64         payload: n_tokens token ids (u32), then layer 0 K, layer 0 V, layer 1 K, ...
//! ```
// ANCHOR_END: layout

use crate::fnv::fnv1a;
use std::path::PathBuf;

// ANCHOR: header
pub const MAGIC: [u8; 8] = *b"KVCACHE\0";
pub const VERSION: u32 = 1;
pub const HEADER_BYTES: usize = 64;
/// The one layout of version 1: per layer K then V, each `[n_kv_heads, n_tokens, head_dim]`.
pub const LAYOUT_LAYER_K_V: u32 = 1;

/// Everything the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fingerprint: u64,
    pub dtype: Dtype,
    pub n_layers: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    pub n_tokens: u32,
    pub payload_checksum: u64,
}
// ANCHOR_END: header

// ANCHOR: dtype
/// How the keys and values are stored. f32 and f64 are a model's own float, stored exactly;
/// f16 and bf16 are storage formats that halve an f32 file, rounded on save (to nearest, ties
/// to even) and widened back to the model's float on load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    F16,
    Bf16,
}
// ANCHOR_END: dtype

impl Dtype {
    pub const ALL: [Dtype; 4] = [Dtype::F32, Dtype::F64, Dtype::F16, Dtype::Bf16];

    pub fn code(self) -> u32 {
        match self {
            Dtype::F32 => 1,
            Dtype::F64 => 2,
            Dtype::F16 => 3,
            Dtype::Bf16 => 4,
        }
    }

    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    pub fn bytes(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            Dtype::F16 | Dtype::Bf16 => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
            Dtype::F16 => "f16",
            Dtype::Bf16 => "bf16",
        }
    }

    /// `f32`, `f64`, `f16` or `bf16`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The model's own float (f32 or f64): the dtype that stores its caches exactly.
    pub fn of<F: shared::Float>() -> Self {
        if std::mem::size_of::<F>() == 4 { Dtype::F32 } else { Dtype::F64 }
    }

    /// Whether a model computing in `model` can use a cache stored in `self`: its own float,
    /// or a 16-bit storage format (widened on load). An f32 cache in an f64 model is refused:
    /// it would mix precisions silently.
    pub fn fits(self, model: Dtype) -> bool {
        self == model || matches!(self, Dtype::F16 | Dtype::Bf16)
    }

    // ANCHOR: convert
    /// Append `x` in this dtype, little-endian. `false` when a finite `x` does not fit (beyond
    /// f16's 65504, say): the caller refuses to save rather than store an infinity.
    pub fn write(self, x: f64, out: &mut Vec<u8>) -> bool {
        let widened = match self {
            Dtype::F32 => {
                out.extend_from_slice(&(x as f32).to_le_bytes());
                f64::from(x as f32)
            }
            Dtype::F64 => {
                out.extend_from_slice(&x.to_le_bytes());
                x
            }
            // the `half` crate's conversions, the ones that read f16 and bf16 safetensors weights
            Dtype::F16 => {
                let h = half::f16::from_f64(x);
                out.extend_from_slice(&h.to_le_bytes());
                h.to_f64()
            }
            Dtype::Bf16 => {
                let h = half::bf16::from_f64(x);
                out.extend_from_slice(&h.to_le_bytes());
                h.to_f64()
            }
        };
        widened.is_finite() || !x.is_finite()
    }

    /// One value stored in this dtype (`bytes` holds exactly [`Dtype::bytes`] of them), widened
    /// to the model's float `F`.
    pub fn read<F: shared::Float>(self, bytes: &[u8]) -> F {
        let two = || [bytes[0], bytes[1]];
        match self {
            Dtype::F32 => F::cast_f32(f32::from_le_bytes(bytes.try_into().expect("4 bytes"))),
            Dtype::F64 => F::cast(f64::from_le_bytes(bytes.try_into().expect("8 bytes"))),
            Dtype::F16 => F::cast_f32(half::f16::from_le_bytes(two()).to_f32()),
            Dtype::Bf16 => F::cast_f32(half::bf16::from_le_bytes(two()).to_f32()),
        }
    }
    // ANCHOR_END: convert
}

// ANCHOR: errors
/// Why a cache file was refused. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CacheFileError {
    #[error("cannot read the cache file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the cache file {path} is empty")]
    Empty { path: PathBuf },
    #[error("the cache file {path} is truncated: {found} bytes, its {part} needs {needed}")]
    Truncated { path: PathBuf, part: &'static str, found: u64, needed: u64 },
    #[error("the cache file {path} is longer than its contents: {extra} extra byte(s) after the expected {expected}")]
    TrailingBytes { path: PathBuf, expected: u64, extra: u64 },
    #[error("{path} is not a KV cache file (its first bytes are not the magic KVCACHE)")]
    NotACacheFile { path: PathBuf },
    #[error("the cache file {path} has version {found}; this program reads version {supported}")]
    Version { path: PathBuf, found: u32, supported: u32 },
    #[error("the cache file {path} has a damaged header ({reason})")]
    DamagedHeader { path: PathBuf, reason: String },
    #[error("the cache file {path} was made by another model (fingerprint {file:016x}, this model's is {model:016x})")]
    OtherModel { path: PathBuf, file: u64, model: u64 },
    #[error("the cache file {path} holds {file} keys and values, this model computes in {model} (it reads {model}, f16 or bf16)")]
    Dtype { path: PathBuf, file: &'static str, model: &'static str },
    #[error("the cache file {path} has {what} = {file}, this model has {model}")]
    Shape { path: PathBuf, what: &'static str, file: usize, model: usize },
    #[error("the cache file {path} holds {n_tokens} tokens, this model's context holds 1 to {context_length}")]
    TokenCount { path: PathBuf, n_tokens: usize, context_length: usize },
    #[error("the cache file {path} has a damaged payload (its checksum does not match)")]
    DamagedPayload { path: PathBuf },
    #[error("the cache file {path} holds token id {id}, outside this model's vocabulary of {vocab_size}")]
    TokenOutOfRange { path: PathBuf, id: u32, vocab_size: usize },
    #[error("cannot save a cache to {path}: {reason}")]
    Save { path: PathBuf, reason: String },
    #[error(transparent)]
    Model(#[from] shared::Error),
}
// ANCHOR_END: errors

impl Header {
    /// The 64 header bytes, ending with their own checksum.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut h = [0u8; HEADER_BYTES];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(HEADER_BYTES as u32).to_le_bytes());
        h[16..24].copy_from_slice(&self.fingerprint.to_le_bytes());
        h[24..28].copy_from_slice(&self.dtype.code().to_le_bytes());
        h[28..32].copy_from_slice(&LAYOUT_LAYER_K_V.to_le_bytes());
        h[32..36].copy_from_slice(&self.n_layers.to_le_bytes());
        h[36..40].copy_from_slice(&self.n_kv_heads.to_le_bytes());
        h[40..44].copy_from_slice(&self.head_dim.to_le_bytes());
        h[44..48].copy_from_slice(&self.n_tokens.to_le_bytes());
        h[48..56].copy_from_slice(&self.payload_checksum.to_le_bytes());
        let checksum = fnv1a(&h[..56]);
        h[56..64].copy_from_slice(&checksum.to_le_bytes());
        h
    }

    // ANCHOR: decode
    /// Read a header, in the order that gives the most useful message: what the file is
    /// (magic), which version, whether the header is intact; the model checks come after.
    pub fn decode(path: &std::path::Path, h: &[u8; HEADER_BYTES]) -> Result<Self, CacheFileError> {
        let path = || path.to_path_buf();
        let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
        if h[0..8] != MAGIC {
            return Err(CacheFileError::NotACacheFile { path: path() });
        }
        if u32_at(8) != VERSION {
            return Err(CacheFileError::Version { path: path(), found: u32_at(8), supported: VERSION });
        }
        let damaged = |reason: String| CacheFileError::DamagedHeader { path: path(), reason };
        if u64_at(56) != fnv1a(&h[..56]) {
            return Err(damaged("its checksum does not match".into()));
        }
        if u32_at(12) as usize != HEADER_BYTES {
            return Err(damaged(format!("header size {} instead of {HEADER_BYTES}", u32_at(12))));
        }
        let dtype = Dtype::from_code(u32_at(24)).ok_or_else(|| damaged(format!("unknown dtype code {}", u32_at(24))))?;
        if u32_at(28) != LAYOUT_LAYER_K_V {
            return Err(damaged(format!("unknown layout code {}", u32_at(28))));
        }
        Ok(Header {
            fingerprint: u64_at(16),
            dtype,
            n_layers: u32_at(32),
            n_kv_heads: u32_at(36),
            head_dim: u32_at(40),
            n_tokens: u32_at(44),
            payload_checksum: u64_at(48),
        })
    }
    // ANCHOR_END: decode
}
