//! Scaled dot-product attention with a causal mask, for any number of key/value heads: the
//! plain reference, one head at a time. The model runs a faster version of the same function,
//! `shared::causal_attention` (see `MultiHeadAttention::attend`), which is tested against this one.

use ndarray::{s, Array4, ArrayView4};
use shared::attention_kernel::query_heads_per_kv_head;
use shared::{causal_mask, softmax_rows, Float, Result};

// ANCHOR: sdpa
/// Causal attention of `q_len` queries over `kv_len` keys/values.
///
/// - q: `[batch, n_heads, q_len, head_dim]`
/// - k, v: `[batch, n_kv_heads, kv_len, head_dim]`, `n_kv_heads` divides `n_heads`
/// - returns `[batch, n_heads, q_len, head_dim]`
///
/// The queries are the last `q_len` positions of the `kv_len` (see [`causal_mask`]): without a
/// cache `q_len == kv_len`; with one, `kv_len - q_len` tokens were cached before.
pub fn scaled_dot_product_attention<F: Float>(
    q: ArrayView4<F>,
    k: ArrayView4<F>,
    v: ArrayView4<F>,
) -> Result<Array4<F>> {
    let group = query_heads_per_kv_head(q, k, v)?; // query heads per key/value head (checks the shapes)
    let (batch, n_heads, q_len, head_dim) = q.dim();
    let kv_len = k.dim().2;
    let scale = F::one() / F::cast(head_dim as f64).sqrt();
    // 0 where query i may see key j (j <= kv_len - q_len + i), -inf elsewhere
    let mask = causal_mask::<F>(q_len, kv_len)?; // [q_len, kv_len]
    let mut out = Array4::zeros((batch, n_heads, q_len, head_dim));
    for b in 0..batch {
        for h in 0..n_heads {
            let kv_h = h / group; // the key/value head this query head reads
            let q_bh = q.slice(s![b, h, .., ..]); // [q_len, head_dim]
            let k_bh = k.slice(s![b, kv_h, .., ..]); // [kv_len, head_dim]
            let v_bh = v.slice(s![b, kv_h, .., ..]); // [kv_len, head_dim]

            // pass 1: how well each query matches each key, q k^T / sqrt(head_dim)
            let mut scores = q_bh.dot(&k_bh.t()) * scale; // [q_len, kv_len]
            // pass 2: hide the future: masked scores become -inf
            scores += &mask;
            // pass 3: softmax over the keys: each row becomes weights that sum to 1 (masked: 0)
            softmax_rows(scores.view_mut());
            // pass 4: each query's output is the weighted sum of the values
            let context = scores.dot(&v_bh); // [q_len, kv_len] x [kv_len, head_dim] = [q_len, head_dim]
            out.slice_mut(s![b, h, .., ..]).assign(&context);
        }
    }
    Ok(out)
}
// ANCHOR_END: sdpa

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array4};

    #[test]
    fn first_query_sees_only_first_value_and_equal_scores_average() {
        // one head, head_dim 1, 2 positions; q . k = 0 everywhere, so the weights are uniform
        // over what the mask allows: position 0 -> v0; position 1 -> (v0 + v1) / 2.
        let q = Array4::<f64>::zeros((1, 1, 2, 1));
        let k = Array4::<f64>::zeros((1, 1, 2, 1));
        let v = array![[[[2.0], [4.0]]]];
        let out = scaled_dot_product_attention(q.view(), k.view(), v.view()).unwrap();
        assert_eq!(out, array![[[[2.0], [3.0]]]]);
    }

    #[test]
    fn hand_computed_weights() {
        // head_dim 4 (scale 1/2), one query at position 1 after one cached key.
        // scores = [q.k0, q.k1]/2 = [0, ln 3] -> weights [1/4, 3/4]
        let l3 = 3f64.ln();
        let q = array![[[[2.0 * l3, 0.0, 0.0, 0.0]]]];
        let k = array![[[[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]]];
        let v = array![[[[4.0, 0.0, 0.0, 0.0], [8.0, 0.0, 0.0, 1.0]]]];
        let out = scaled_dot_product_attention(q.view(), k.view(), v.view()).unwrap();
        assert!((out[[0, 0, 0, 0]] - 7.0).abs() < 1e-12); // 4/4 + 8*3/4
        assert!((out[[0, 0, 0, 3]] - 0.75).abs() < 1e-12);
    }

    #[test]
    fn rejects_heads_that_do_not_group_and_more_queries_than_keys() {
        let q = Array4::<f32>::zeros((1, 3, 1, 2));
        let k = Array4::<f32>::zeros((1, 2, 1, 2));
        assert!(scaled_dot_product_attention(q.view(), k.view(), k.view()).is_err());
        let q = Array4::<f32>::zeros((1, 2, 3, 2));
        assert!(scaled_dot_product_attention(q.view(), k.view(), k.view()).is_err());
    }
}
