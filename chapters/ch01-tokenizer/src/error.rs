//! What can go wrong with a tokenizer.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("cannot load tokenizer {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("cannot encode text: {0}")]
    Encode(String),
    #[error("cannot decode ids: {0}")]
    Decode(String),
    #[error("token id {id} is not in the vocabulary of {vocab_size} tokens")]
    UnknownId { id: u32, vocab_size: usize },
    #[error("tokenizer training failed: {0}")]
    Train(String),
    #[error(transparent)]
    Write(#[from] shared::Error),
}
