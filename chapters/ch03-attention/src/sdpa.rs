//! Scaled dot-product attention with a causal mask, for any number of key/value heads.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array4, ArrayView2, ArrayView4, ArrayViewMut2, Axis};
use rayon::prelude::*;
use shared::{causal_mask, softmax_rows, Error, Float, Result};

/// Multiply-adds (`batch x n_heads x q_len x kv_len x head_dim`) below which the heads run on
/// one thread.
const PARALLEL_MIN_WORK: usize = 1 << 18;

/// Queries per block in a prefill (see `attend_one_head`).
const QUERY_BLOCK: usize = 64;

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
    let (batch, n_heads, q_len, head_dim) = q.dim();
    let (kb, n_kv_heads, kv_len, kd) = k.dim();
    if kb != batch || kd != head_dim || v.dim() != k.dim() || n_kv_heads == 0 || n_heads % n_kv_heads != 0 {
        return Err(Error::Shape {
            op: "scaled_dot_product_attention",
            expected: format!("k, v = [{batch}, n_kv_heads dividing {n_heads}, kv_len, {head_dim}]"),
            found: format!("k {:?}, v {:?}", k.shape(), v.shape()),
        });
    }
    let group = n_heads / n_kv_heads; // query heads per key/value head
    let scale = F::one() / F::cast(head_dim as f64).sqrt();
    let mask = causal_mask::<F>(q_len, kv_len)?; // [q_len, kv_len]
    let mut out = Array4::zeros((batch, n_heads, q_len, head_dim));
    // Every (batch, head) pair is independent: rayon runs them on all cores, unless the work
    // is too small to pay for waking the other threads (a decode step over a short cache).
    let parallel = batch * n_heads * q_len * kv_len * head_dim >= PARALLEL_MIN_WORK;
    let one_head = |b: usize, h: usize, out_bh: ArrayViewMut2<F>| {
        let kv_h = h / group; // the key/value head this query head reads
        let q_bh = q.slice(s![b, h, .., ..]); // [q_len, head_dim]
        let k_bh = k.slice(s![b, kv_h, .., ..]); // [kv_len, head_dim]
        let v_bh = v.slice(s![b, kv_h, .., ..]); // [kv_len, head_dim]
        attend_one_head(q_bh, k_bh, v_bh, mask.view(), scale, out_bh);
    };
    let mut heads = out.view_mut().into_shape_with_order((batch * n_heads, q_len, head_dim)).expect("fresh array");
    if parallel {
        heads.outer_iter_mut().into_par_iter().enumerate().for_each(|(i, o)| one_head(i / n_heads, i % n_heads, o));
    } else {
        heads.outer_iter_mut().enumerate().for_each(|(i, o)| one_head(i / n_heads, i % n_heads, o));
    }
    Ok(out)
}

/// One head: `out = softmax(q k^T * scale + mask) v`, written into `out` (`[q_len, head_dim]`).
fn attend_one_head<F: Float>(
    q: ArrayView2<F>,    // [q_len, head_dim]
    k: ArrayView2<F>,    // [kv_len, head_dim]
    v: ArrayView2<F>,    // [kv_len, head_dim]
    mask: ArrayView2<F>, // [q_len, kv_len]
    scale: F,
    mut out: ArrayViewMut2<F>, // [q_len, head_dim]
) {
    if q.nrows() == 1 {
        // decode: one query. Matrix x vector, reading each cached key and value row once.
        let mut scores = k.dot(&q.row(0)) * scale; // [kv_len]
        scores += &mask.row(0);
        softmax_rows(scores.view_mut().insert_axis(Axis(0)));
        let mut out_row = out.row_mut(0);
        for (&p, v_row) in scores.iter().zip(v.rows()) {
            out_row.scaled_add(p, &v_row); // out += p_j v_j
        }
    } else {
        // prefill: many queries, matrix x matrix, in blocks of queries. A block's scores stop
        // at the last key its last query may see, so most of the masked triangle is skipped.
        let (q_len, kv_len) = (q.nrows(), k.nrows());
        let offset = kv_len - q_len; // positions cached before these queries
        for start in (0..q_len).step_by(QUERY_BLOCK) {
            let end = (start + QUERY_BLOCK).min(q_len);
            let keys = offset + end; // keys 0..keys are visible to some query of the block
            let mut scores = q.slice(s![start..end, ..]).dot(&k.slice(s![..keys, ..]).t()) * scale; // [block, keys]
            scores += &mask.slice(s![start..end, ..keys]);
            softmax_rows(scores.view_mut()); // each row sums to 1
            let mut out_block = out.slice_mut(s![start..end, ..]); // [block, head_dim]
            general_mat_mul(F::one(), &scores, &v.slice(s![..keys, ..]), F::zero(), &mut out_block);
        }
    }
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
    fn rejects_heads_that_do_not_group() {
        let q = Array4::<f32>::zeros((1, 3, 1, 2));
        let k = Array4::<f32>::zeros((1, 2, 1, 2));
        assert!(scaled_dot_product_attention(q.view(), k.view(), k.view()).is_err());
    }
}
