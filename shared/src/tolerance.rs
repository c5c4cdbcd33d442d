//! The tolerances of the workspace's numeric proofs, each stated once, with its reason and the
//! agreement measured when it was set.
//!
//! Two kinds of comparison:
//! - **reordered**: the same model and weights computed two ways in this workspace (with and
//!   without the KV cache, a prompt in chunks or whole, the cached keys against a recompute).
//!   The products and sums are the same; only their grouping differs (a matrix x vector product
//!   instead of a matrix product, other block edges), so results differ by rounding alone.
//! - **against transformers**: this workspace against PyTorch on the committed fixtures:
//!   another library, other kernels, another order of summation.
//!
//! Each tolerance sits orders of magnitude above the measured agreement (so a change of
//! summation order never fails a test) and orders of magnitude below what a real bug does: a
//! wrong position, a mis-offset mask or a stale cache moves logits by 1e-2 or more.

/// f64, same model computed two ways. Measured: max |diff| 1.6e-14 on chapter 8's logits at
/// every step (logits up to ~8 on the 0.3-init fixture), 1.7e-16 on chunked prefill and on the
/// cached keys and values against a recompute: about 70 ulps of the largest logit at worst.
pub const F64_REORDERED: f64 = 1e-12;

/// f32, same model computed two ways. Measured: max |diff| 8.8e-6 on chapter 8's logits at every
/// step (f32 keeps about 7 significant digits: a few ulps of logits up to ~8).
pub const F32_REORDERED: f64 = 1e-4;

/// f64 against transformers' `model.double()`. Measured: max |diff| 1.8e-14 on the two fixtures
/// (9.2e-15 on gpt2-tiny-a, 1.8e-14 on gpt2-tiny-b, logits up to ~8).
pub const F64_VS_TRANSFORMERS: f64 = 1e-12;

/// f32 against transformers' float32 model. Measured: max |diff| 1.2e-5 on the two fixtures
/// (4.3e-6 on gpt2-tiny-a, 1.2e-5 on gpt2-tiny-b).
pub const F32_VS_TRANSFORMERS: f64 = 1e-4;
