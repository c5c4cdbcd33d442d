//! The router (`gate`): which experts read each token, and with what weight.
//!
//! A linear layer scores every expert for the token, softmax turns the scores into
//! probabilities, the `top_k` largest are kept, and (Mixtral always, Qwen3-MoE when
//! `norm_topk_prob`) they are divided by their sum so the kept weights add up to 1. The order
//! is transformers' `MixtralTopKRouter` and `Qwen3MoeTopKRouter`: softmax over all experts
//! first, then top-k.

use ndarray::{Array2, ArrayView2, Axis};
use shared::{softmax_rows, Error, Float, Linear, Result};

// Exercise ch07-1: `--features ex-ch07-1` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch07-1", path = "../exercises/ch07_1_top_k.rs")]
mod top_k;
pub use top_k::top_k;

/// The router of one MoE layer.
#[derive(Debug, Clone)]
pub struct Router<F> {
    /// `gate`: `[n_experts, d_model]`, no bias.
    pub gate: Linear<F>,
    /// Experts each token reads (`num_experts_per_tok`).
    pub top_k: usize,
    /// Renormalise the kept probabilities to sum to 1.
    pub norm_topk_prob: bool,
}

/// The router's decision for `n` tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing<F> {
    /// `[n, top_k]`: the chosen experts of each token, most probable first.
    pub experts: Array2<usize>,
    /// `[n, top_k]`: the weight of each chosen expert's output.
    pub weights: Array2<F>,
}

impl<F: Float> Router<F> {
    pub fn n_experts(&self) -> usize {
        self.gate.n_out()
    }

    // ANCHOR: route
    /// x: `[n, d_model]` -> the `top_k` experts of each token and their weights.
    pub fn route(&self, x: ArrayView2<F>) -> Result<Routing<F>> {
        if self.top_k == 0 || self.top_k > self.n_experts() {
            return Err(Error::InvalidConfig(format!("top-k {} of {} experts", self.top_k, self.n_experts())));
        }
        let mut probs = self.gate.forward(x)?; // [n, n_experts]: one score per expert
        softmax_rows(probs.view_mut()); // [n, n_experts]: probabilities, over all experts
        let n = probs.nrows();
        let mut experts = Array2::zeros((n, self.top_k)); // [n, top_k]
        let mut weights = Array2::zeros((n, self.top_k)); // [n, top_k]
        for (t, row) in probs.axis_iter(Axis(0)).enumerate() {
            let (chosen, w) = top_k(row, self.top_k, self.norm_topk_prob);
            for (j, (e, w)) in chosen.into_iter().zip(w).enumerate() {
                experts[[t, j]] = e;
                weights[[t, j]] = w;
            }
        }
        Ok(Routing { experts, weights })
    }
    // ANCHOR_END: route
}

impl<F: Float> Routing<F> {
    /// The tokens that chose `expert`, in token order, with the weight each gives it.
    pub fn tokens_of(&self, expert: usize) -> (Vec<usize>, Vec<F>) {
        let mut rows = Vec::new();
        let mut weights = Vec::new();
        for (t, chosen) in self.experts.axis_iter(Axis(0)).enumerate() {
            if let Some(j) = chosen.iter().position(|&e| e == expert) {
                rows.push(t);
                weights.push(self.weights[[t, j]]);
            }
        }
        (rows, weights)
    }

    /// `[n, n_experts]`: each token's weight for every expert, zero for those not chosen (the
    /// mask of the dense reference path).
    pub fn dense_weights(&self, n_experts: usize) -> Array2<F> {
        let mut dense = Array2::zeros((self.experts.nrows(), n_experts));
        for ((t, j), &e) in self.experts.indexed_iter() {
            dense[[t, e]] = self.weights[[t, j]];
        }
        dense
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn routes_by_softmax_then_top_k_then_renormalises() {
        // 3 experts scoring x = [1, 0] as [2, 1, 0] (gate rows [2, 0], [1, 0], [0, 0]).
        let gate = Linear::new(array![[2.0f64, 0.0], [1.0, 0.0], [0.0, 0.0]], None);
        let x = array![[1.0, 0.0], [-1.0, 0.0]];
        // softmax([2, 1, 0]) = [e^2, e, 1] / (e^2 + e + 1) = [0.66524, 0.24473, 0.09003]
        let z = (2.0f64).exp() + 1.0f64.exp() + 1.0;
        let (p0, p1, p2) = ((2.0f64).exp() / z, 1.0f64.exp() / z, 1.0 / z);
        let plain = Router { gate: gate.clone(), top_k: 2, norm_topk_prob: false }.route(x.view()).unwrap();
        assert_eq!(plain.experts, array![[0, 1], [2, 1]]);
        assert!((plain.weights[[0, 0]] - p0).abs() < 1e-15 && (plain.weights[[0, 1]] - p1).abs() < 1e-15);
        // token 2 scores [-2, -1, 0]: expert 2 first (p = e^0 / (e^-2 + e^-1 + 1) = p0)
        assert!((plain.weights[[1, 0]] - p0).abs() < 1e-15);
        let norm = Router { gate, top_k: 2, norm_topk_prob: true }.route(x.view()).unwrap();
        assert!((norm.weights[[0, 0]] - p0 / (p0 + p1)).abs() < 1e-15);
        assert!((norm.weights[[0, 1]] - p1 / (p0 + p1)).abs() < 1e-15);
        assert!(p2 > 0.0);
        let dense = norm.dense_weights(3);
        assert_eq!(dense[[0, 2]], 0.0);
        assert_eq!(dense[[1, 2]], norm.weights[[1, 0]]);
        assert_eq!(norm.tokens_of(1), (vec![0, 1], vec![norm.weights[[0, 1]], norm.weights[[1, 1]]]));
        assert_eq!(norm.tokens_of(0).0, vec![0]);
    }

    #[test]
    fn a_top_k_larger_than_the_experts_is_an_error() {
        let gate = Linear::new(Array2::<f32>::zeros((2, 4)), None);
        assert!(Router { gate, top_k: 3, norm_topk_prob: true }.route(Array2::zeros((1, 4)).view()).is_err());
    }
}
