//! Exercise ch11-1: does a cache file's header fit this model, and how long must the file be?
//!
//! A file's header says how many layers, heads and tokens it holds. Trusting those numbers to
//! size an allocation lets one flipped bit ask for gigabytes: check them against the model
//! first, and only then compute the length the file must have.
//!
//! With `--features ex-ch11-1` this file replaces `src/header_check.rs`.
//! Check it: `cargo run -p exercises -- check ch11-1`. Stuck: `cargo run -p exercises -- hint ch11-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use crate::fingerprint::{Fingerprint, ModelShape};
use crate::format::{CacheFileError, Dtype, Header, HEADER_BYTES};
use std::path::Path;

/// Compare a decoded header with the model that will load it, in this order: the fingerprint
/// (`OtherModel`), the dtype (`Dtype`: the model's own float, or f16 / bf16), the shapes
/// (`Shape`: n_layers, n_kv_heads, head_dim), the token count (`TokenCount`: 1 to the model's
/// context length). Then return the file's exact length in bytes:
/// `HEADER_BYTES + 4·n_tokens + 2·n_layers·n_kv_heads·n_tokens·head_dim·dtype.bytes()`.
pub fn check_header(path: &Path, h: &Header, model: &ModelShape, fingerprint: Fingerprint, native: Dtype) -> Result<u64, CacheFileError> {
    // TODO: each refusal names the file (path.to_path_buf()); then the length, computed in u64.
    todo!("ch11-1: check the header against the model, then the file's length")
}
