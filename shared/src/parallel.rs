//! Where a generation runs: on one of rayon's worker threads.
//!
//! Every matrix x vector of a decode step ([`crate::gemv`]) splits its rows across rayon's
//! threads. Called from the program's main thread, each of those ~50 products per token is
//! handed to the pool while the main thread sleeps until it is done, so every product pays for
//! waking threads up, and at 50-80 GB/s a 2.4 MB weight takes only 30-50 µs to read. Called
//! from a worker thread, the product is split in place: the calling thread works on its share
//! and the other workers steal the rest. Decode of GPT-2 124M measured 3-10% faster this way
//! on 2 cores (interleaved runs).

// ANCHOR: thresholds
// When to split work across rayon's threads. Waking a sleeping thread and joining it costs a
// few microseconds; each threshold sits where one core's share is around a tenth of a
// millisecond, so a split that happens always pays for itself and a tiny call (a decode step
// over a short cache, a test model) stays on the calling thread. They are rough (set by
// order of magnitude, not tuned), and each is defined here only.

/// [`crate::matmul_t`]: multiply-adds `n * in * out` below which one core does the whole
/// product (2^20 multiply-adds is ~0.2 ms of sgemm at ~5 G multiply-adds/s). Higher than
/// attention's: every thread packs all of `x` again for its block of features.
pub const MATMUL_MIN_WORK: usize = 1 << 20;

/// [`crate::matmul_t`]: output features per thread below which one core does the whole
/// product: a thread's block should be at least two 16-wide tiles of the sgemm kernel.
pub const MATMUL_MIN_FEATURES_PER_THREAD: usize = 32;

/// [`crate::causal_attention`]: multiply-adds of the scores, `batch * n_heads * q_len * kv_len
/// * head_dim`, below which the heads run one after the other on the calling thread. Lower than
/// matmul's because the count leaves out as much again (weights x values) and the softmax's
/// `exp`s, and the heads share nothing that a split would do twice.
pub const ATTENTION_MIN_WORK: usize = 1 << 18;

/// [`crate::gelu`]: elements below which one core maps them all. 2^13 splits a decode step's
/// GELU from a batch of 3 rows of GPT-2's 3072-wide MLP on (the first setting, 2^15, kept
/// even 8 rows on one core).
pub const GELU_MIN_LEN: usize = 1 << 13;

/// [`crate::LayerNorm`]: elements (`rows * d`) below which one core normalises every row. Three
/// passes over each element, a little heavier than GELU's one `exp`: 2^15 keeps a decode
/// step's rows (and a batch's few) on one core and splits a prefill's hundreds.
pub const LAYER_NORM_MIN_LEN: usize = 1 << 15;
// ANCHOR_END: thresholds

/// Run `f` on one of rayon's worker threads (the calling thread waits) and return its result.
pub fn on_worker_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f()) // `scope` runs its body on a worker of the global pool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_rayon_worker_and_returns_the_result() {
        assert_eq!(rayon::current_thread_index(), None, "tests start outside the pool");
        let (index, value) = on_worker_thread(|| (rayon::current_thread_index(), 6 * 7));
        assert!(index.is_some(), "the body ran on a worker thread");
        assert_eq!(value, 42);
    }
}
