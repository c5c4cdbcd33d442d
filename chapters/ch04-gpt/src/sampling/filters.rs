//! Top-k and top-p (nucleus) filtering (the reference solution of exercise ch04-2).

// ANCHOR: filters
// ANCHOR: keep_top_k_signature
/// Top-k: keep every token at least as likely as the `k`-th most likely one (ties with it stay,
/// as in PyTorch and Hugging Face) and set the other logits to `-inf`. logits: `[vocab_size]`.
pub fn keep_top_k(logits: &mut [f64], k: usize) {
    // ANCHOR_END: keep_top_k_signature
    if k == 0 || k >= logits.len() {
        return; // nothing to cut (`Sampling::validate` refuses k = 0)
    }
    let mut sorted = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a)); // most likely first
    let kth = sorted[k - 1];
    logits.iter_mut().filter(|x| **x < kth).for_each(|x| *x = f64::NEG_INFINITY);
}

// ANCHOR: keep_top_p_signature
/// Top-p (nucleus): keep the most likely tokens, most likely first (the lower id first on
/// ties), until their probabilities add up to at least `p` (at least one token); set the
/// others to 0 and rescale the kept ones to sum to 1. probs: `[vocab_size]`, summing to 1.
pub fn keep_top_p(probs: &mut [f64], p: f64) {
    // ANCHOR_END: keep_top_p_signature
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    let mut mass = 0.0;
    let mut keep = vec![false; probs.len()];
    for &i in &order {
        keep[i] = true;
        mass += probs[i];
        if mass >= p {
            break;
        }
    }
    for (prob, kept) in probs.iter_mut().zip(&keep) {
        if !kept {
            *prob = 0.0;
        }
    }
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|x| *x /= total);
}
// ANCHOR_END: filters
