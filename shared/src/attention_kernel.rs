//! The fast path of attention: the function chapter 3 teaches as `scaled_dot_product_attention`,
//! with the heads on every core and most of the masked triangle skipped.
//!
//! Chapter 3's listing is the plain reference: per head, scores, mask, softmax, weights x
//! values. The model runs this kernel instead (through `MultiHeadAttention::attend`), and
//! chapter 3's tests check that both give the same values for every branch below:
//!
//! - **heads in parallel**: every (batch, head) pair is independent, so rayon runs them on all
//!   cores once the work pays for waking threads ([`ATTENTION_MIN_WORK`]);
//! - **decode** (one query): a matrix x vector, reading each cached key and value row once;
//! - **prefill** in blocks of [`QUERY_BLOCK`] queries: a block's scores stop at the last key its
//!   last query may see, so a causal prefill computes about half the scores of the full square.

use crate::parallel::ATTENTION_MIN_WORK;
use crate::{causal_mask, Error, Float, Result};
use crate::gemv::dot;
use crate::fast_exp::softmax_rows_fast;
use crate::matmul::product_into;
use crate::softmax::softmax_inplace;
use ndarray::{s, Array2, Array4, ArrayView2, ArrayView3, ArrayView4, ArrayViewMut1, ArrayViewMut2, Axis};
use std::any::Any;
use std::sync::OnceLock;
use rayon::prelude::*;

/// Queries per block in a prefill: large enough for the matrix multiply to run at full speed,
/// small enough that a block's keys stop well before the end of a long prompt.
pub const QUERY_BLOCK: usize = 64;

/// How many query heads share each key/value head, after checking the shapes of attention's
/// inputs: q `[batch, n_heads, q_len, head_dim]`, k and v `[batch, n_kv_heads, kv_len,
/// head_dim]` with `n_kv_heads` dividing `n_heads` (`q_len <= kv_len` is [`causal_mask`]'s check).
pub fn query_heads_per_kv_head<F: Float>(q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<usize> {
    let (batch, n_heads, _, head_dim) = q.dim();
    let (kb, n_kv_heads, _, kd) = k.dim();
    if kb != batch || kd != head_dim || v.dim() != k.dim() || n_kv_heads == 0 || n_heads % n_kv_heads != 0 {
        return Err(Error::Shape {
            op: "scaled_dot_product_attention",
            expected: format!("k, v = [{batch}, n_kv_heads dividing {n_heads}, kv_len, {head_dim}]"),
            found: format!("k {:?}, v {:?}", k.shape(), v.shape()),
        });
    }
    Ok(n_heads / n_kv_heads)
}

// ANCHOR: causal_attention
/// Causal attention of `q_len` queries over `kv_len` keys/values: the same function as chapter
/// 3's `scaled_dot_product_attention`, same shapes and errors.
///
/// - q: `[batch, n_heads, q_len, head_dim]`
/// - k, v: `[batch, n_kv_heads, kv_len, head_dim]`, `n_kv_heads` divides `n_heads`
/// - returns `[batch, n_heads, q_len, head_dim]`
pub fn causal_attention<F: Float>(q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<Array4<F>> {
    let group = query_heads_per_kv_head(q, k, v)?; // query heads per key/value head
    let (q_len, kv_len) = (q.dim().2, k.dim().2);
    let mask = causal_mask::<F>(q_len, kv_len)?; // [q_len, kv_len], the same for every row
    Ok(every_head(q, k, v, group, |_b| mask.view()))
}

/// `out[b, h] = softmax(q[b, h] k[b, h / group]^T / sqrt(head_dim) + mask_of(b)) v[b, h / group]`
/// for every (batch, head) pair: `[batch, n_heads, q_len, head_dim]`.
fn every_head<'m, F: Float>(q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>, group: usize, mask_of: impl Fn(usize) -> ArrayView2<'m, F> + Sync) -> Array4<F> {
    let (batch, n_heads, q_len, head_dim) = q.dim();
    let kv_len = k.dim().2;
    let scale = F::one() / F::cast(head_dim as f64).sqrt();
    let mut out = Array4::zeros((batch, n_heads, q_len, head_dim));
    let one_head = |b: usize, h: usize, out_bh: ArrayViewMut2<F>| {
        let kv_h = h / group; // the key/value head this query head reads
        let q_bh = q.slice(s![b, h, .., ..]); // [q_len, head_dim]
        let k_bh = k.slice(s![b, kv_h, .., ..]); // [kv_len, head_dim]
        let v_bh = v.slice(s![b, kv_h, .., ..]); // [kv_len, head_dim]
        attend_one_head(q_bh, k_bh, v_bh, mask_of(b), scale, out_bh);
    };
    let mut heads = out.view_mut().into_shape_with_order((batch * n_heads, q_len, head_dim)).expect("fresh array");
    // Every (batch, head) pair is independent: rayon runs them on all cores, unless the work
    // is too small to pay for waking the other threads (a decode step over a short cache).
    if batch * n_heads * q_len * kv_len * head_dim >= ATTENTION_MIN_WORK {
        heads.outer_iter_mut().into_par_iter().enumerate().for_each(|(i, o)| one_head(i / n_heads, i % n_heads, o));
    } else {
        heads.outer_iter_mut().enumerate().for_each(|(i, o)| one_head(i / n_heads, i % n_heads, o));
    }
    out
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
    if q.nrows() == 1 && mask.row(0).iter().all(|&m| m == F::zero()) {
        // decode: one query, reading each cached key and value row once. It is the last
        // position, so under the causal mask it sees every key (a padded batch row, whose
        // mask hides its pads, takes the general path below).
        let (q, k, v) = (q.row(0), k.as_standard_layout(), v.as_standard_layout()); // cache rows already are
        let (q, mut out) = (q.as_standard_layout(), out.row_mut(0)); // [head_dim]
        let contiguous = "standard layout";
        let out = out.as_slice_mut().expect("a row of the fresh output array");
        let mut scores = vec![F::zero(); k.nrows()]; // [kv_len]
        one_query_kernel::<F>()(q.as_slice().expect(contiguous), k.as_slice().expect(contiguous), v.as_slice().expect(contiguous), scale, &mut scores, out);
    } else {
        // prefill: many queries, matrix x matrix, in blocks of queries. A block's scores stop
        // at the last key its last query may see, so most of the masked triangle is skipped.
        // The two products run the kernel of `matmul_t` (the `gemm` crate for f32) on this
        // thread, the heads being the parallelism; one scores buffer serves every block.
        let (q_len, kv_len) = (q.nrows(), k.nrows());
        let offset = kv_len - q_len; // positions cached before these queries
        let mut scores_buf = Array2::zeros((QUERY_BLOCK.min(q_len), kv_len)); // [block, kv_len]
        for start in (0..q_len).step_by(QUERY_BLOCK) {
            let end = (start + QUERY_BLOCK).min(q_len);
            let keys = offset + end; // keys 0..keys are visible to some query of the block
            let mut scores = scores_buf.slice_mut(s![..end - start, ..keys]); // [block, keys]
            product_into(q.slice(s![start..end, ..]), k.slice(s![..keys, ..]).t(), scale, scores.view_mut()); // q k^T * scale
            scores += &mask.slice(s![start..end, ..keys]);
            softmax_rows_fast(scores.view_mut()); // each row sums to 1 (f32: SIMD exp, fast_exp.rs)
            let out_block = out.slice_mut(s![start..end, ..]); // [block, head_dim]
            product_into(scores.view(), v.slice(s![..keys, ..]), F::one(), out_block);
        }
    }
}
// ANCHOR_END: causal_attention

// ANCHOR: masked_attention
/// Attention with a mask per batch row: the same kernel as [`causal_attention`], with
/// `mask[b]` in place of the shared causal mask. Chapter 9's batches of left-padded prompts
/// pass the causal mask combined with each row's padding.
///
/// - q: `[batch, n_heads, q_len, head_dim]`, k and v: `[batch, n_kv_heads, kv_len, head_dim]`
/// - mask: `[batch, q_len, kv_len]`, additive (`0` visible, `-inf` hidden); it must hide at
///   least the future (every key after `kv_len - q_len + i` for query `i`, as
///   [`causal_mask`] does), and leave every query at least one visible key
/// - returns `[batch, n_heads, q_len, head_dim]`
pub fn masked_attention<F: Float>(q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>, mask: ArrayView3<F>) -> Result<Array4<F>> {
    let group = query_heads_per_kv_head(q, k, v)?; // query heads per key/value head
    let (batch, _, q_len, _) = q.dim();
    let kv_len = k.dim().2;
    let causal = causal_mask::<F>(q_len, kv_len)?; // [q_len, kv_len]: what the mask must hide at least
    let hides_the_future = mask.outer_iter().all(|m| m.indexed_iter().all(|((i, j), &x)| causal[[i, j]] == F::zero() || x == F::neg_infinity()));
    let sees_something = mask.outer_iter().all(|m| m.rows().into_iter().all(|row| row.iter().any(|&x| x != F::neg_infinity())));
    if mask.dim() != (batch, q_len, kv_len) || !hides_the_future || !sees_something {
        return Err(Error::Shape {
            op: "masked_attention",
            expected: format!("mask = [{batch}, {q_len}, {kv_len}], hiding the future, at least one visible key per query"),
            found: format!("{:?}", mask.shape()),
        });
    }
    Ok(every_head(q, k, v, group, |b| mask.index_axis(Axis(0), b)))
}
// ANCHOR_END: masked_attention

/// One query over `kv_len` keys and values, rows of `head_dim = q.len()` values one after the
/// other: `out = softmax(K q * scale) V`, reading each key and value row once.
///
/// A decode step runs it once per head per layer, between two matrix products, on one thread
/// while the others wait (270 times a token for SmolLM2-135M's 30 layers of 9 heads): its
/// per-key cost is what matters, so it is plain loops over slices, and for f32 on a CPU with
/// AVX2 the same loops compiled for AVX2 ([`one_query_kernel`]).
/// `scores` (`[kv_len]`) is the caller's buffer, so a decode step can reuse one.
#[inline(always)]
fn one_query<F: Float>(q: &[F], k: &[F], v: &[F], scale: F, scores: &mut [F], out: &mut [F]) {
    let head_dim = q.len();
    for (s, k_j) in scores.iter_mut().zip(k.chunks_exact(head_dim)) {
        *s = dot(k_j, q) * scale;
    }
    softmax_inplace(ArrayViewMut1::from(&mut scores[..]));
    out.fill(F::zero());
    for (&p, v_j) in scores.iter().zip(v.chunks_exact(head_dim)) {
        for (o, &x) in out.iter_mut().zip(v_j) {
            *o = *o + p * x; // out += p_j v_j
        }
    }
}

/// One query over `kv_len = scores.len()` cached keys and values (rows of `q.len()` values):
/// `out = softmax(K q * scale) V`, with `scores` as the caller's scratch. The decode kernel of
/// [`causal_attention`], for a decode path that keeps its own buffers (chapter 8's fast step).
pub fn one_query_into<F: Float>(q: &[F], k: &[F], v: &[F], scale: F, scores: &mut [F], out: &mut [F]) {
    let kv_len = scores.len();
    assert!(k.len() == kv_len * q.len() && v.len() == k.len() && out.len() == q.len(), "one_query_into: shapes");
    one_query_kernel::<F>()(q, k, v, scale, scores, out)
}

/// The signature of [`one_query`]: q, keys, values, scale, scores (scratch), out.
type OneQuery<F> = fn(&[F], &[F], &[F], F, &mut [F], &mut [F]);

/// [`one_query`] for `F`: for f32 on a CPU with AVX2 (checked once, at run time), the same
/// code compiled for AVX2, eight lanes per instruction instead of four.
fn one_query_kernel<F: Float>() -> OneQuery<F> {
    type Kernel<F> = OneQuery<F>;
    static F32: OnceLock<Kernel<f32>> = OnceLock::new();
    let f32_kernel: &dyn Any = F32.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return |q, k, v, scale, scores, out| {
                // SAFETY: the CPU supports AVX2, checked when this closure was chosen.
                unsafe { one_query_avx2(q, k, v, scale, scores, out) }
            };
        }
        one_query::<f32>
    });
    match f32_kernel.downcast_ref::<Kernel<F>>() {
        Some(&kernel) => kernel, // F is f32
        None => one_query::<F>,  // F is f64
    }
}

/// [`one_query`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn one_query_avx2(q: &[f32], k: &[f32], v: &[f32], scale: f32, scores: &mut [f32], out: &mut [f32]) {
    one_query(q, k, v, scale, scores, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_shapes_that_do_not_fit() {
        let q = Array4::<f32>::zeros((1, 3, 1, 2));
        let k = Array4::<f32>::zeros((1, 2, 1, 2));
        assert!(causal_attention(q.view(), k.view(), k.view()).is_err(), "3 query heads over 2 kv heads");
        let q = Array4::<f32>::zeros((1, 2, 3, 2));
        assert!(causal_attention(q.view(), k.view(), k.view()).is_err(), "3 queries over 1 key");
        let q = Array4::<f32>::zeros((1, 2, 1, 4));
        assert!(causal_attention(q.view(), k.view(), k.view()).is_err(), "head_dim 4 against 2");
    }

    #[test]
    fn a_causal_mask_per_row_gives_causal_attention_and_a_bad_mask_is_refused() {
        let q: Array4<f64> = crate::init::normal((2, 2, 3, 4), 1.0, &mut crate::init::rng(1));
        let k: Array4<f64> = crate::init::normal((2, 1, 5, 4), 1.0, &mut crate::init::rng(2));
        let v: Array4<f64> = crate::init::normal((2, 1, 5, 4), 1.0, &mut crate::init::rng(3));
        let causal = causal_mask::<f64>(3, 5).unwrap();
        let mask = ndarray::stack(Axis(0), &[causal.view(), causal.view()]).unwrap(); // [2, 3, 5]
        let got = masked_attention(q.view(), k.view(), v.view(), mask.view()).unwrap();
        assert_eq!(got, causal_attention(q.view(), k.view(), v.view()).unwrap());
        let mut future = mask.clone();
        future[[1, 0, 4]] = 0.0; // query 0 of row 1 would see key 4, after it
        assert!(masked_attention(q.view(), k.view(), v.view(), future.view()).is_err());
        let mut blind = mask.clone();
        blind.slice_mut(s![0, 2, ..]).fill(f64::NEG_INFINITY); // query 2 of row 0 sees nothing
        assert!(masked_attention(q.view(), k.view(), v.view(), blind.view()).is_err());
    }
}
