//! Where a generation runs: on one of rayon's worker threads.
//!
//! Every matrix x vector of a decode step ([`crate::gemv`]) splits its rows across rayon's
//! threads. Called from the program's main thread, each of those ~50 products per token is
//! handed to the pool while the main thread sleeps until it is done, so every product pays for
//! waking threads up, and at 50-80 GB/s a 2.4 MB weight takes only 30-50 µs to read. Called
//! from a worker thread, the product is split in place: the calling thread works on its share
//! and the other workers steal the rest. Decode of GPT-2 124M measured 3-10% faster this way
//! on 2 cores (interleaved runs).

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
