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
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{path}: {reason}; the runner changes nothing in it: set \"{key}\" yourself (the book's page \"Exercises: how they work\" shows how)")]
    Settings { path: PathBuf, reason: String, key: &'static str },
    /// A command line that asks for something impossible (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// Standard output is closed (a pipe whose reader has gone, `| head`) or full.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("`{command}` ran no test: does test_filter `{filter}` in {info} match the names in tests/exercises.rs?")]
    NoTests { command: String, filter: String, info: PathBuf },
}

impl Error {
    /// A file the runner writes (with `shared::write_atomic`) could not be written.
    pub fn write(path: &std::path::Path, e: shared::Error) -> Error {
        let reason = match e {
            shared::Error::Io { source, .. } | shared::Error::Write { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        Error::Write { path: path.to_path_buf(), reason }
    }

    /// 2 for a usage error (an unknown id, an impossible option), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Unknown { .. } | Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// `print!` that returns [`Error::Stdout`] from the enclosing function, instead of panicking,
/// when standard output cannot be written.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*).map_err($crate::error::Error::Stdout)?
    }};
}

/// `println!` that returns [`Error::Stdout`] from the enclosing function, instead of panicking,
/// when standard output cannot be written.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*).map_err($crate::error::Error::Stdout)?
    }};
}
