//! Exercise ch09-2: the causal mask combined with each row's padding.
//!
//! Every row of a batch hides its own padding from every query, on top of the causal mask that
//! hides the future. Pad queries see themselves, so that no row of scores is all `-inf`.
//!
//! With `--features ex-ch09-2` this file replaces `src/padded_mask.rs`.
//! Check it: `cargo run -p exercises -- check ch09-2`. Stuck: `cargo run -p exercises -- hint ch09-2`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::{Array3, ArrayView2};
use shared::Float;

/// key_mask: `[batch, kv_len]` (true = a real token), for the `q_len <= kv_len` newest
/// positions -> additive mask `[batch, q_len, kv_len]`: `0` where query `i` (at column
/// `kv_len - q_len + i`) may see key `j`, `-inf` elsewhere. Visible: `j` not after the query,
/// and `j` a real token or the query's own column.
pub fn padded_causal_mask<F: Float>(key_mask: ArrayView2<bool>, q_len: usize) -> Array3<F> {
    // TODO: build [batch, q_len, kv_len]: F::zero() where visible, F::neg_infinity() elsewhere.
    todo!("ch09-2: the causal mask and the padding, per row")
}
