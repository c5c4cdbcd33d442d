//! Exercise ch04-2: top-k and top-p (nucleus) filtering for sampling.
//!
//! With `--features ex-ch04-2` this file replaces `src/sampling/filters.rs`.
//! Check it: `cargo run -p exercises -- check ch04-2`. Stuck: `cargo run -p exercises -- hint ch04-2`.
#![allow(unused_variables)] // nothing is used yet: delete this line when done

/// Top-k. logits: `[vocab_size]`, changed in place.
pub fn keep_top_k(logits: &mut [f64], k: usize) {
    // TODO: find the k-th largest logit; set every logit smaller than it to f64::NEG_INFINITY
    // (ties with the k-th stay). With k >= the number of logits, keep them all.
    todo!("ch04-2: keep the k largest logits, set the others to -inf")
}

/// Top-p. probs: `[vocab_size]`, summing to 1, changed in place.
pub fn keep_top_p(probs: &mut [f64], p: f64) {
    // TODO: take the tokens from most to least likely (the lower index first on ties) until
    // the probabilities taken add up to p or more (at least one token). Set the others to 0,
    // then divide the kept ones by their sum so they add up to 1.
    todo!("ch04-2: keep the most likely tokens until their mass reaches p, zero the rest, renormalise")
}
