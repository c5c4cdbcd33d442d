//! The one error type of the core. Messages name the file, the tensor, and the expected
//! and found shapes, so a binary can print `error: {e}` and the user knows what to fix.

use std::path::PathBuf;

/// Every way the core can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid config.json: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error("{path} is not a valid safetensors file: {reason}")]
    BadCheckpoint { path: PathBuf, reason: String },
    #[error("{path} is not a valid model.safetensors.index.json: {reason}")]
    BadIndex { path: PathBuf, reason: String },
    #[error("{path}: shard named in {index} does not exist")]
    MissingShard { path: PathBuf, index: PathBuf },
    #[error("{path}: shard file name `{shard}` is not a plain file name inside the model folder (refused)")]
    UnsafeShardName { path: PathBuf, shard: String },
    #[error("{path}: tensor `{name}` is listed in {index} but absent from this shard")]
    TensorNotInShard {
        path: PathBuf,
        index: PathBuf,
        name: String,
    },
    #[error("{path}: tensor `{name}` is missing (looked for {tried})")]
    MissingTensor {
        path: PathBuf,
        name: String,
        tried: String,
    },
    #[error("{path}: tensor `{name}` has shape {found:?}, config.json implies {expected:?}")]
    TensorShape {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{path}: tensor `{name}` has dtype {dtype}, expected F32, F64, F16 or BF16")]
    TensorDtype {
        path: PathBuf,
        name: String,
        dtype: String,
    },
    #[error("{path}: tensor `{name}` has dtype {dtype}, expected BF16 or F16 (16-bit weights are kept as stored, never rounded down)")]
    TensorNotHalf {
        path: PathBuf,
        name: String,
        dtype: String,
    },
    #[error("{op} needs f32 weights, but this model keeps its weights in 16 bits ({format}): load it with `--weights f32`")]
    NeedsF32Weights { op: &'static str, format: &'static str },
    #[error("shape mismatch in {op}: expected {expected}, found {found}")]
    Shape {
        op: &'static str,
        expected: String,
        found: String,
    },
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("token id {id} is out of range for a vocabulary of {vocab_size}")]
    TokenOutOfRange { id: u32, vocab_size: usize },
    #[error("the prompt is empty: give at least one token")]
    EmptyPrompt,
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("sequence of {len} tokens does not fit the context of {context_length} tokens")]
    ContextOverflow { len: usize, context_length: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// How a binary ends: success, or the error as one `error: ...` line on stderr and exit code 1
/// (no panic, no backtrace). `fn main() -> ExitCode { shared::exit_code(run(&Args::parse())) }`
pub fn exit_code<E: std::fmt::Display>(result: std::result::Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
