//! The ndarray core of the workspace: what no chapter is about, but every chapter uses.
//!
//! - [`Float`]: every model is generic over `f32` (speed) and `f64` (near-exact proofs).
//! - numerics: [`Linear`], [`LayerNorm`], [`gelu`] (and [`gelu_erf`]), [`softmax_rows`], [`causal_mask`],
//!   [`Embedding`], seeded initialisation ([`init`]).
//! - plumbing: [`GptConfig`] (reads Hugging Face `config.json`), [`Checkpoint`] (reads
//!   `model.safetensors` or the shards of `model.safetensors.index.json`), [`Error`], and
//!   [`cli`], the command-line options every binary shares.
//! - the fast paths: [`gemv`] (decode's parallel matrix x vector), [`gemv_rows`] (a batch's
//!   decode: a few vectors, each weight read once), [`matmul_t`] (prefill's matrix x matrix on
//!   every core), [`causal_attention`] and [`masked_attention`] (chapter 3's attention with the
//!   heads on every core; a mask per row for chapter 9's batches), and [`parallel`] (when each
//!   of them splits its work).

pub mod activation;
pub mod attention_kernel;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod embedding;
pub mod fast_exp;
pub mod error;
pub mod float;
pub mod gemv;
pub mod gemv_half;
pub mod gemv_rows;
pub mod half_matrix;
pub mod huge_pages;
pub mod matmul;
pub mod init;
pub mod layer_norm;
pub mod linear;
pub mod mask;
pub mod parallel;
pub mod parity;
pub mod prefetch;
pub mod rng;
pub mod simd_tier;
pub mod softmax;
pub mod tolerance;

pub use activation::{gelu, gelu_erf};
pub use attention_kernel::{causal_attention, masked_attention};
pub use checkpoint::Checkpoint;
pub use config::GptConfig;
pub use embedding::Embedding;
pub use error::{exit_code, Error, Result};
pub use float::Float;
pub use layer_norm::LayerNorm;
pub use linear::{linear, Linear};
pub use mask::causal_mask;
pub use parallel::on_worker_thread;
pub use rng::Rng;
pub use matmul::matmul_t;
pub use softmax::softmax_rows;

/// Re-exported so chapters and tests use the exact same ndarray.
pub use ndarray;

/// Write a file atomically: to a temporary file beside it, then rename over the target, so a
/// reader never sees half a file and a crash never leaves one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    // one temporary name per call: the process id alone would let two threads of one process,
    // writing the same path, share (and clobber) one temporary file
    static NEXT_TMP: AtomicU64 = AtomicU64::new(0);
    let write_err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        NEXT_TMP.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = written {
        // never leave a half-written temporary behind
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(source));
    }
    // make the rename itself durable (best effort: not every platform can open a directory)
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
