//! The ndarray core of the workspace: what no chapter is about, but every chapter uses.
//!
//! - [`Float`]: every model is generic over `f32` (speed) and `f64` (near-exact proofs).
//! - numerics: [`Linear`], [`LayerNorm`], [`gelu`] (and [`gelu_erf`]), [`softmax_rows`], [`causal_mask`],
//!   [`Embedding`], seeded initialisation ([`init`]).
//! - plumbing: [`GptConfig`] (reads Hugging Face `config.json`), [`Checkpoint`] (reads
//!   `model.safetensors` or the shards of `model.safetensors.index.json`), [`Error`], and
//!   [`cli`], the command-line options every binary shares.
//! - the fast paths: [`gemv`] (decode's parallel matrix x vector), [`matmul_t`] (prefill's
//!   matrix x matrix on every core), [`causal_attention`] (chapter 3's attention with the
//!   heads on every core), and [`parallel`] (when each of them splits its work).

pub mod activation;
pub mod attention_kernel;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod embedding;
pub mod error;
pub mod float;
pub mod gemv;
pub mod matmul;
pub mod init;
pub mod layer_norm;
pub mod linear;
pub mod mask;
pub mod parallel;
pub mod parity;
pub mod softmax;
pub mod tolerance;

pub use activation::{gelu, gelu_erf};
pub use attention_kernel::causal_attention;
pub use checkpoint::Checkpoint;
pub use config::GptConfig;
pub use embedding::Embedding;
pub use error::{exit_code, Error, Result};
pub use float::Float;
pub use layer_norm::LayerNorm;
pub use linear::{linear, Linear};
pub use mask::causal_mask;
pub use parallel::on_worker_thread;
pub use matmul::matmul_t;
pub use softmax::softmax_rows;

/// Re-exported so chapters and tests use the exact same ndarray.
pub use ndarray;

/// Write a file atomically: to a temporary file beside it, then rename over the target, so a
/// reader never sees half a file and a crash never leaves one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}
