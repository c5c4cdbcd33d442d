//! What can stop the binary, each printed as one `error: ...` line.

use std::path::PathBuf;

/// Every way the demo and the benchmark can fail.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A command-line value that makes no sense (exit code 2, like clap's own errors).
    #[error("{0}")]
    Usage(String),
    /// The model: loading, shapes, context length, ...
    #[error(transparent)]
    Model(#[from] shared::Error),
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] ch01_tokenizer::TokenizerError),
    #[error("cannot draw {what}: {reason}")]
    Plot { what: &'static str, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    /// The output folder cannot take files (checked before any work starts).
    #[error("{0}")]
    OutDir(String),
    /// The whole point of the chapter failed: the cache changed the tokens.
    #[error(
        "the cached and uncached generations differ at new token {position}: \
         cached {cached_id}, uncached {uncached_id} (the KV cache must not change the output)"
    )]
    Mismatch { position: usize, cached_id: u32, uncached_id: u32 },
    /// A thread pool for the benchmark's one-thread measurements could not be started.
    #[error("could not start a thread pool: {0}")]
    Threads(rayon::ThreadPoolBuildError),
    /// stdout closed (for example `| head`): stop quietly.
    #[error("stdout closed")]
    StdoutClosed,
}

pub type DemoResult<T> = Result<T, DemoError>;

impl From<measure::MeasureError> for DemoError {
    fn from(e: measure::MeasureError) -> Self {
        match e {
            measure::MeasureError::Usage(m) => DemoError::Usage(m),
            measure::MeasureError::Model(e) => DemoError::Model(e),
            measure::MeasureError::Threads(e) => DemoError::Threads(e),
            measure::MeasureError::StdoutClosed => DemoError::StdoutClosed,
        }
    }
}

impl DemoError {
    /// 2 for a bad command line, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            DemoError::Usage(_) | DemoError::OutDir(_) => 2,
            _ => 1,
        }
    }

    /// The message on a single line (some library errors carry newlines).
    pub fn one_line(&self) -> String {
        self.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
    }
}
