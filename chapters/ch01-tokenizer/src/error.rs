//! What can go wrong with a tokenizer. Every message says what was being done and with which
//! file or id, so a binary can print `error: {e}` and the user knows what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A `tokenizer.json` file could not be read or is not a valid tokenizer.
    #[error("cannot load tokenizer {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    /// The text given to [`Tokenizer::from_json`](crate::Tokenizer::from_json) is not a valid
    /// tokenizer.
    #[error("invalid tokenizer JSON: {0}")]
    Parse(String),
    #[error("cannot encode text: {0}")]
    Encode(String),
    #[error("cannot decode ids: {0}")]
    Decode(String),
    /// An id the vocabulary does not have (decoding it would silently drop it).
    #[error("token id {id} is not in the vocabulary (ids 0..{vocab_size})")]
    UnknownId { id: u32, vocab_size: usize },
    #[error("tokenizer training failed: {0}")]
    Train(String),
    #[error("cannot write tokenizer {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

pub type Result<T, E = TokenizerError> = std::result::Result<T, E>;
