//! Exercise ch07-1: keep the `k` most probable experts of one token, and renormalise.
//!
//! The router has turned a token's scores into probabilities over all the experts (softmax).
//! Only the `k` largest are kept: those experts read the token, and their probabilities are the
//! weights of their outputs. Mixtral (and Qwen3-MoE with `norm_topk_prob`) then divides the
//! kept weights by their sum, so they add up to 1.
//!
//! With `--features ex-ch07-1` this file replaces `src/router/top_k.rs`.
//! Check it: `cargo run -p exercises -- check ch07-1`. Stuck: `cargo run -p exercises -- hint ch07-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use ndarray::ArrayView1;
use shared::Float;

/// The `k` largest of `probs` (one token's probabilities over the experts), largest first
/// (equal ones: the lower expert index first), as `(expert indices, weights)`; with
/// `renormalise`, the weights are divided by their sum, so they add up to 1.
pub fn top_k<F: Float>(probs: ArrayView1<F>, k: usize, renormalise: bool) -> (Vec<usize>, Vec<F>) {
    // TODO: return the indices of the k largest probabilities, largest first, and their
    // probabilities; divided by the sum of those k when `renormalise` is true.
    todo!("ch07-1: keep the k most probable experts, largest first, and renormalise")
}
