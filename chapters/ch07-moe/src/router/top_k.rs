//! Keep the `k` most probable experts (exercise ch07-1 replaces this file).

use ndarray::ArrayView1;
use shared::Float;

// ANCHOR: top_k
// ANCHOR: top_k_signature
/// The `k` largest of `probs` (one token's probabilities over the experts), largest first
/// (equal ones: the lower expert index first), as `(expert indices, weights)`; with
/// `renormalise`, the weights are divided by their sum, so they add up to 1.
pub fn top_k<F: Float>(probs: ArrayView1<F>, k: usize, renormalise: bool) -> (Vec<usize>, Vec<F>) {
    // ANCHOR_END: top_k_signature
    let mut order: Vec<usize> = (0..probs.len()).collect();
    // largest first; a stable sort keeps equal ones in index order
    order.sort_by(|&a, &b| probs[b].partial_cmp(&probs[a]).unwrap_or(std::cmp::Ordering::Equal));
    order.truncate(k);
    let mut weights: Vec<F> = order.iter().map(|&e| probs[e]).collect();
    if renormalise {
        let sum = weights.iter().fold(F::zero(), |s, &w| s + w);
        weights.iter_mut().for_each(|w| *w = *w / sum);
    }
    (order, weights)
}
// ANCHOR_END: top_k
