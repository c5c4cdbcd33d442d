//! Does a header fit this model, and how long must its file be (the reference solution of
//! exercise ch11-1)? Decided from the header's 64 bytes alone, before anything is allocated.

use crate::fingerprint::{Fingerprint, ModelShape};
use crate::format::{CacheFileError, Dtype, Header, HEADER_BYTES};
use std::path::Path;

// ANCHOR: check_header
// ANCHOR: check_header_signature
/// Compare a decoded header with the model that will load it, in this order: the fingerprint
/// (`OtherModel`), the dtype (`Dtype`: the model's own float, or f16 / bf16), the shapes
/// (`Shape`: n_layers, n_kv_heads, head_dim), the token count (`TokenCount`: 1 to the model's
/// context length). Then return the file's exact length in bytes:
/// `HEADER_BYTES + 4·n_tokens + 2·n_layers·n_kv_heads·n_tokens·head_dim·dtype.bytes()`.
///
/// Every size comes from the model's own shapes once they match, and the token count is bounded
/// by its context, so a header claiming four billion tokens is refused here, before the caller
/// allocates anything, and the product cannot overflow a `u64`.
pub fn check_header(path: &Path, h: &Header, model: &ModelShape, fingerprint: Fingerprint, native: Dtype) -> Result<u64, CacheFileError> {
    // ANCHOR_END: check_header_signature
    let p = || path.to_path_buf();
    if h.fingerprint != fingerprint.0 {
        return Err(CacheFileError::OtherModel { path: p(), file: h.fingerprint, model: fingerprint.0 });
    }
    if !h.dtype.fits(native) {
        return Err(CacheFileError::Dtype { path: p(), file: h.dtype.name(), model: native.name() });
    }
    for (what, file, model) in [
        ("n_layers", h.n_layers as usize, model.n_layers),
        ("n_kv_heads", h.n_kv_heads as usize, model.n_kv_heads),
        ("head_dim", h.head_dim as usize, model.head_dim),
    ] {
        if file != model {
            return Err(CacheFileError::Shape { path: p(), what, file, model });
        }
    }
    let n = h.n_tokens as u64;
    if n == 0 || n > model.context_length as u64 {
        return Err(CacheFileError::TokenCount { path: p(), n_tokens: h.n_tokens as usize, context_length: model.context_length });
    }
    // [n_layers] x (K, V) x [n_kv_heads, n_tokens, head_dim] values of dtype.bytes() each
    let kv = 2 * model.n_layers as u64 * model.n_kv_heads as u64 * n * model.head_dim as u64 * h.dtype.bytes() as u64;
    Ok(HEADER_BYTES as u64 + 4 * n + kv)
}
// ANCHOR_END: check_header
