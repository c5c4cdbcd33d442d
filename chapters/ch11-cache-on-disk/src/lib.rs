//! # Chapter 11: caches on disk
//!
//! Chapter 8's KV cache lives in memory and dies with the process. Here it goes to one file
//! after a context, and a fresh model loads it and continues with a question, computing only
//! the question's tokens. The answer equals plain generation on context + question.
//!
//! A file on disk can be damaged, cut short, written by another version, or made by another
//! model with the same shapes. Each is refused with a typed [`CacheFileError`] that names the
//! file, checked before anything is allocated: never a panic, never a wrong answer.
//!
//! - [`format`]: the bytes of the file (header, then token ids, then every layer's K and V);
//! - [`fingerprint`]: which model made the cache (its config and weights, hashed);
//! - [`header_check`]: whether a header fits the model, and the file length it implies;
//! - [`file`]: [`save_cache`] and [`load_cache`];
//! - [`resume`]: generation that continues from a loaded cache;
//! - [`cache_dir`]: a folder of caches, searched for the longest saved prefix of a prompt
//!   ([`longest_prefix`]).

pub mod cache_dir;
pub mod file;
pub mod fingerprint;
pub mod fnv;
pub mod format;
// `--features ex-ch11-1` / `ex-ch11-2` swap in the learner's stubs.
#[cfg_attr(feature = "ex-ch11-1", path = "../exercises/ch11_1_header_check.rs")]
pub mod header_check;
#[cfg_attr(feature = "ex-ch11-2", path = "../exercises/ch11_2_longest_prefix.rs")]
pub mod longest_prefix;
pub mod resume;

pub use cache_dir::CacheDir;
pub use file::{load_cache, save_cache};
pub use fingerprint::{CacheShape, Fingerprint};
pub use format::{CacheFileError, Dtype};
pub use header_check::check_header;
pub use longest_prefix::longest_prefix;
pub use resume::Resumed;
