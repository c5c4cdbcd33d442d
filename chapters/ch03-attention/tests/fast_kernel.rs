//! The model's attention kernel, `shared::causal_attention`, equals this chapter's plain
//! `scaled_dot_product_attention` on every branch of the kernel, in thread pools of 1, 2 and
//! 8 threads (so a 2-core machine runs the parallel branches with real splitting, and with
//! more threads than cores).
//!
//! The kernel's branches and the cases that reach them:
//! - heads one after the other (`work < ATTENTION_MIN_WORK`): the `serial` cases, head_dim 2;
//! - heads in parallel (`work >= ATTENTION_MIN_WORK`): the `parallel` cases, head_dim 16 and a
//!   batch just large enough to cross the threshold;
//! - decode (q_len 1) and prefill in one block (63, 64 queries), in a full block and a short one
//!   (65) and in three blocks (130 = 64 + 64 + 2), each over a cache of 0, 1, 63, 64 and 65
//!   earlier positions, so a block's last visible key crosses the block edges;
//! - grouped-query (4 query heads over 2 kv heads) and multi-head (4 over 4);
//! - f64 and f32.
//!
//! `work` is `batch * n_heads * q_len * kv_len * head_dim`, the kernel's own measure; each case
//! asserts which side of the threshold it is on, so a change of the threshold that would leave
//! a branch untested fails here instead.

use ch03_attention::scaled_dot_product_attention;
use ndarray::{s, Array4};
use shared::parallel::ATTENTION_MIN_WORK;
use shared::{causal_attention, init, Float};

const QUERY_LENGTHS: [usize; 5] = [1, 63, 64, 65, 130];
const CACHED_BEFORE: [usize; 5] = [0, 1, 63, 64, 65];
const HEADS: [(usize, usize); 2] = [(4, 2), (4, 4)]; // (n_heads, n_kv_heads): GQA, MHA
const THREADS: [usize; 3] = [1, 2, 8];

/// Largest |fast - plain| allowed, in units of the type's machine epsilon. The two compute the
/// same sums in other groupings (a dot product of one query vs a matrix product, rows cut at the
/// last visible key, where the reference adds exact zeros instead). Each output is a weighted
/// mean of at most 195 values of size below ~5, so regrouping moves it by at most about
/// 195 x 5 ~ 1000 epsilons: 2.3e-13 in f64, 1.2e-4 in f32. A wrong mask offset or block edge
/// moves outputs by ~0.1.
const TOLERANCE_IN_EPSILONS: f64 = 1024.0;

struct Case {
    batch: usize,
    n_heads: usize,
    n_kv_heads: usize,
    q_len: usize,
    kv_len: usize,
    head_dim: usize,
}

impl Case {
    fn work(&self) -> usize {
        self.batch * self.n_heads * self.q_len * self.kv_len * self.head_dim
    }
}

/// Every case: each (query length, cache, heads), once below the threshold and once above it.
fn cases() -> Vec<(Case, bool)> {
    let mut all = vec![];
    for q_len in QUERY_LENGTHS {
        for cached in CACHED_BEFORE {
            for (n_heads, n_kv_heads) in HEADS {
                let kv_len = cached + q_len;
                let serial = Case { batch: 1, n_heads, n_kv_heads, q_len, kv_len, head_dim: 2 };
                assert!(serial.work() < ATTENTION_MIN_WORK, "a serial case must stay below the threshold");
                let head_dim = 16;
                let batch = ATTENTION_MIN_WORK.div_ceil(n_heads * q_len * kv_len * head_dim);
                let parallel = Case { batch, n_heads, n_kv_heads, q_len, kv_len, head_dim };
                assert!(parallel.work() >= ATTENTION_MIN_WORK);
                all.push((serial, false));
                all.push((parallel, true));
            }
        }
    }
    all
}

/// Max |fast - plain| for one case; k and v are views into longer buffers, as a cache's are.
fn max_difference<F: Float>(case: &Case, seed: u64) -> f64 {
    let Case { batch, n_heads, n_kv_heads, q_len, kv_len, head_dim } = *case;
    let mut rng = init::rng(seed);
    let q: Array4<F> = init::normal((batch, n_heads, q_len, head_dim), 1.5, &mut rng);
    let k_buffer: Array4<F> = init::normal((batch, n_kv_heads, kv_len + 3, head_dim), 1.5, &mut rng);
    let v_buffer: Array4<F> = init::normal((batch, n_kv_heads, kv_len + 3, head_dim), 1.0, &mut rng);
    let (k, v) = (k_buffer.slice(s![.., .., ..kv_len, ..]), v_buffer.slice(s![.., .., ..kv_len, ..]));
    let plain = scaled_dot_product_attention(q.view(), k, v).expect("shapes fit");
    let fast = causal_attention(q.view(), k, v).expect("shapes fit");
    assert_eq!(fast.dim(), plain.dim());
    fast.iter().zip(plain.iter()).fold(0.0f64, |m, (a, b)| m.max((a.as_f64() - b.as_f64()).abs()))
}

fn fast_equals_plain<F: Float>() -> Result<(), rayon::ThreadPoolBuildError> {
    let tolerance = TOLERANCE_IN_EPSILONS * F::epsilon().as_f64();
    let mut largest = 0.0f64;
    for threads in THREADS {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        for (i, (case, parallel)) in cases().iter().enumerate() {
            let diff = pool.install(|| max_difference::<F>(case, i as u64));
            assert!(
                diff <= tolerance,
                "{}: {threads} threads, heads {} in parallel: batch {} heads {}/{} q_len {} kv_len {} head_dim {}: \
                 max |fast - plain| = {diff:e} > {tolerance:e}",
                F::NAME,
                if *parallel { "" } else { "not" },
                case.batch,
                case.n_heads,
                case.n_kv_heads,
                case.q_len,
                case.kv_len,
                case.head_dim,
            );
            largest = largest.max(diff);
        }
    }
    eprintln!("{}: largest |fast - plain| = {largest:e} (tolerance {tolerance:e})", F::NAME);
    Ok(())
}

#[test]
fn fast_kernel_equals_plain_attention_f64() -> Result<(), rayon::ThreadPoolBuildError> {
    fast_equals_plain::<f64>()
}

#[test]
fn fast_kernel_equals_plain_attention_f32() -> Result<(), rayon::ThreadPoolBuildError> {
    fast_equals_plain::<f32>()
}

/// The check above can fail: attention with the mask's offset wrong by one (the queries taken
/// as one position earlier) is caught by a wide margin.
#[test]
fn an_off_by_one_mask_is_caught() {
    let mut rng = init::rng(1);
    let (q_len, kv_len) = (65, 129);
    let q: Array4<f64> = init::normal((1, 4, q_len, 16), 1.5, &mut rng);
    let k: Array4<f64> = init::normal((1, 2, kv_len, 16), 1.5, &mut rng);
    let v: Array4<f64> = init::normal((1, 2, kv_len, 16), 1.0, &mut rng);
    let fast = causal_attention(q.view(), k.view(), v.view()).unwrap();
    // one key fewer: every query sees one position less than it should
    let (k1, v1) = (k.slice(s![.., .., ..kv_len - 1, ..]), v.slice(s![.., .., ..kv_len - 1, ..]));
    let shifted = scaled_dot_product_attention(q.view(), k1, v1).unwrap();
    let diff = fast.iter().zip(shifted.iter()).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff > 1e6 * TOLERANCE_IN_EPSILONS * f64::EPSILON, "max diff {diff}");
}
