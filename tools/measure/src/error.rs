//! What can stop a measurement, each printed by the binary as one `error: ...` line.

/// Every way the benchmark can fail.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// A command-line value that makes no sense (exit code 2, like clap's own errors).
    #[error("{0}")]
    Usage(String),
    /// The model: loading, shapes, context length, ...
    #[error(transparent)]
    Model(#[from] shared::Error),
    /// A thread pool for a one-thread measurement could not be started.
    #[error("could not start a thread pool: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    /// stdout closed (for example `| head`): stop quietly.
    #[error("stdout closed")]
    StdoutClosed,
}

pub type MeasureResult<T> = Result<T, MeasureError>;

impl MeasureError {
    /// 2 for a bad command line, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            MeasureError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The message on a single line (some library errors carry newlines).
    pub fn one_line(&self) -> String {
        self.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
    }
}
