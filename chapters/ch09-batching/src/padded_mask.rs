//! The causal mask combined with each row's padding (the reference solution of exercise ch09-2).

use ndarray::{Array3, ArrayView2};
use shared::Float;

// ANCHOR: padded_causal_mask
// ANCHOR: padded_causal_mask_signature
/// key_mask: `[batch, kv_len]` (true = a real token), for the `q_len` newest positions ->
/// additive mask `[batch, q_len, kv_len]`: `0` where query `i` may look at key `j`, `-inf`
/// elsewhere. Query `i` sits at column `kv_len - q_len + i` and sees key `j` when
///
/// - `j` is not in its future (the causal mask, offset by the positions cached before), and
/// - `j` is a real token (the attention mask), or `j` is the query itself.
///
/// The last rule only matters for pad queries, which would otherwise see nothing at all (a row
/// of `-inf`, whose softmax is 0/0): a pad sees itself, computes something finite, and no
/// real token ever looks at it.
///
/// ```text
/// row [pad, pad, The, cat] (prefill, q_len = kv_len = 4); x = visible
///            pad pad The cat
/// query pad   x   .   .   .
/// query pad   .   x   .   .
/// query The   .   .   x   .
/// query cat   .   .   x   x
/// ```
pub fn padded_causal_mask<F: Float>(key_mask: ArrayView2<bool>, q_len: usize) -> Array3<F> {
    // ANCHOR_END: padded_causal_mask_signature
    let (batch, kv_len) = key_mask.dim();
    let offset = kv_len - q_len; // positions cached before these queries
    Array3::from_shape_fn((batch, q_len, kv_len), |(b, i, j)| {
        let query = offset + i; // the query's column
        if j <= query && (key_mask[[b, j]] || j == query) {
            F::zero()
        } else {
            F::neg_infinity()
        }
    })
}
// ANCHOR_END: padded_causal_mask
