//! The loss: cross-entropy of the logits against the real next tokens, averaged over every
//! position of the batch (PyTorch's `F.cross_entropy` with its default `reduction="mean"`).

use ndarray::{Array2, ArrayView2, Axis, Zip};
use rayon::prelude::*;
use shared::{Error, Float, Result};

// ANCHOR: cross_entropy
/// `loss = mean over the n positions of -log softmax(logits)[target]`, computed as
/// `logsumexp(logits) - logits[target]` (no `exp` can overflow, no `log` of an underflowed 0).
///
/// logits: `[n, vocab_size]` (n = batch * seq), targets: n ids -> (loss, probs), where probs
/// `[n, vocab_size]` is the softmax of every row, which the backward needs.
pub fn cross_entropy<F: Float>(logits: ArrayView2<F>, targets: &[u32]) -> Result<(F, Array2<F>)> {
    let (n, vocab_size) = logits.dim();
    if targets.len() != n || n == 0 {
        return Err(Error::Shape {
            op: "cross_entropy",
            expected: format!("{n} targets (one per row of the logits), at least one"),
            found: format!("{} targets", targets.len()),
        });
    }
    if let Some(&id) = targets.iter().find(|&&t| t as usize >= vocab_size) {
        return Err(Error::TokenOutOfRange { id, vocab_size });
    }
    let mut probs = logits.to_owned();
    // each row on its own (rows in parallel): -log p[target] = logsumexp(row) - row[target]
    let losses: Vec<F> = probs
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(targets.par_iter())
        .map(|(mut row, &target)| {
            let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
            let target_logit = row[target as usize];
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            row /= sum; // p = exp(logit - max) / sum
            max + sum.ln() - target_logit
        })
        .collect();
    Ok((losses.into_iter().sum::<F>() / F::cast(n as f64), probs))
}
// ANCHOR_END: cross_entropy

// ANCHOR: cross_entropy_backward
/// The gradient of the mean loss with respect to the logits, softmax and log together:
/// `d_logits = (probs - onehot(target)) / n`. Takes probs `[n, vocab_size]` and returns it
/// turned into d_logits (the same memory: the largest activation of a small model).
pub fn cross_entropy_backward<F: Float>(mut probs: Array2<F>, targets: &[u32]) -> Array2<F> {
    let inv_n = F::one() / F::cast(probs.nrows() as f64);
    Zip::from(probs.rows_mut()).and(targets).for_each(|mut row, &target| {
        row[target as usize] -= F::one(); // p - 1 at the target, p elsewhere
        row *= inv_n;
    });
    probs
}
// ANCHOR_END: cross_entropy_backward

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn uniform_logits_cost_log_vocab_and_bad_targets_are_errors() {
        // equal logits: p = 1/4 everywhere, loss = ln 4 whatever the targets
        let (loss, probs) = cross_entropy(array![[0.0f64, 0.0, 0.0, 0.0], [3.0, 3.0, 3.0, 3.0]].view(), &[1, 3]).unwrap();
        assert!((loss - 4f64.ln()).abs() < 1e-15);
        assert!(probs.iter().all(|&p| (p - 0.25).abs() < 1e-15));
        // two rows: d_logits = (p - onehot) / 2
        let d = cross_entropy_backward(probs, &[1, 3]);
        assert_eq!(d.row(0).to_vec(), vec![0.125, -0.375, 0.125, 0.125]);
        assert!(cross_entropy(array![[0.0f64, 1.0]].view(), &[2]).is_err());
        assert!(cross_entropy(array![[0.0f64, 1.0]].view(), &[0, 1]).is_err());
        // huge logits do not overflow
        let (loss, _) = cross_entropy(array![[1000.0f32, 0.0]].view(), &[1]).unwrap();
        assert!((loss - 1000.0).abs() < 1e-3);
    }
}
