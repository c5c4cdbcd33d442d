//! What can go wrong with the runner itself (not with an exercise: that is a FAIL verdict).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadInfo { path: PathBuf, reason: String },
    #[error("no workspace with a chapters/ folder at or above {0}: run this inside the project")]
    NoWorkspace(PathBuf),
    #[error("no exercise or chapter `{given}`; the exercises are {known} (see `cargo run -p exercises -- list`)")]
    Unknown { given: String, known: String },
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` ran no test: does test_filter `{filter}` in {info} match the names in tests/exercises.rs?")]
    NoTests { command: String, filter: String, info: PathBuf },
}

pub type Result<T> = std::result::Result<T, Error>;
