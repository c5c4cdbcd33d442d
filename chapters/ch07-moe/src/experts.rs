//! A mixture of experts: a router and `n_experts` SwiGLU MLPs (chapter 6's [`SwiGlu`]).
//!
//! Each token's output is the weighted sum of its `top_k` experts' outputs. Two ways to
//! compute it give the same numbers:
//!
//! - [`SparseMoe::forward_dense`], the reference: every expert reads every token, and the
//!   outputs of the experts a token did not choose are multiplied by zero. Easy to check,
//!   and as slow as a model `n_experts / top_k` times wider.
//! - [`SparseMoe::forward`], what runs: each expert reads only the tokens that chose it, and an
//!   expert nobody chose is never read. Decoding one token reads `top_k` experts of each layer:
//!   the weights read per token, hence the speed of memory-bound decode, are those of the
//!   active parameters, not of all of them.

use crate::router::{Router, Routing};
use ch06_llama_qwen::SwiGlu;
use ndarray::{Array2, ArrayView2, Axis};
use shared::{Error, Float, Result};

// Exercise ch07-2: `--features ex-ch07-2` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch07-2", path = "../exercises/ch07_2_combine.rs")]
mod combine;
pub use combine::add_weighted;

/// One MoE layer (`block_sparse_moe` in Mixtral, `mlp` in Qwen3-MoE).
#[derive(Debug, Clone)]
pub struct SparseMoe<F> {
    pub router: Router<F>,
    pub experts: Vec<SwiGlu<F>>,
    /// How many tokens each expert has read since the last [`take_counts`](Self::take_counts)
    /// (the expert-usage histogram; not a weight).
    counts: Vec<u64>,
    /// Run [`forward_dense`](Self::forward_dense) as the layer's forward (the benchmark's
    /// all-experts baseline); `false` unless [`set_dense_path`](Self::set_dense_path).
    dense_path: bool,
}

impl<F: Float> SparseMoe<F> {
    pub fn new(router: Router<F>, experts: Vec<SwiGlu<F>>) -> Result<Self> {
        if experts.len() != router.n_experts() {
            return Err(Error::Shape {
                op: "moe",
                expected: format!("{} experts (the router's rows)", router.n_experts()),
                found: format!("{} experts", experts.len()),
            });
        }
        let counts = vec![0; experts.len()];
        Ok(SparseMoe { router, experts, counts, dense_path: false })
    }

    // ANCHOR: forward
    /// The sparse path. x: `[n, d_model]` -> `[n, d_model]`
    pub fn forward(&mut self, x: ArrayView2<F>) -> Result<Array2<F>> {
        let routing = self.router.route(x)?; // [n, top_k] experts and weights
        let mut out = Array2::zeros(x.raw_dim()); // [n, d_model]
        // expert by expert, in index order (transformers' order of the sums)
        for (e, expert) in self.experts.iter().enumerate() {
            let (rows, weights) = routing.tokens_of(e); // the m tokens that chose e
            if rows.is_empty() {
                continue; // nobody chose it: its weights are not read
            }
            self.counts[e] += rows.len() as u64;
            let chosen = x.select(Axis(0), &rows); // [m, d_model]
            let y = expert.forward(chosen.view())?; // [m, d_model]
            add_weighted(&mut out, &rows, &weights, y.view()); // out[rows] += w * y
        }
        Ok(out)
    }
    // ANCHOR_END: forward

    // ANCHOR: forward_dense
    /// The dense reference path: every expert reads every token; a token keeps only the
    /// outputs of its chosen experts (the others are multiplied by 0).
    /// x: `[n, d_model]` -> `[n, d_model]`
    pub fn forward_dense(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        let routing = self.router.route(x)?;
        let gates = routing.dense_weights(self.experts.len()); // [n, n_experts], 0 if not chosen
        let mut out = Array2::zeros(x.raw_dim()); // [n, d_model]
        for (e, expert) in self.experts.iter().enumerate() {
            let y = expert.forward(x)?; // [n, d_model]: all tokens, chosen or not
            let gate = gates.column(e).insert_axis(Axis(1)); // [n, 1]
            out = out + &(&y * &gate); // [n, d_model]
        }
        Ok(out)
    }
    // ANCHOR_END: forward_dense

    /// The router's decision for `x` (`[n, d_model]`), for the usage plot and the tests.
    pub fn route(&self, x: ArrayView2<F>) -> Result<Routing<F>> {
        self.router.route(x)
    }

    /// Use the dense reference path as this layer's forward (every expert reads every token).
    pub fn set_dense_path(&mut self, on: bool) {
        self.dense_path = on;
    }

    pub fn dense_path(&self) -> bool {
        self.dense_path
    }

    /// Tokens each expert has read since the last call, and start counting again.
    pub fn take_counts(&mut self) -> Vec<u64> {
        std::mem::replace(&mut self.counts, vec![0; self.experts.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{init, Linear};

    fn random_moe(n_experts: usize, top_k: usize, norm: bool, seed: u64) -> SparseMoe<f64> {
        let mut rng = init::rng(seed);
        let router = Router { gate: Linear::random(8, n_experts, false, 1.0, &mut rng), top_k, norm_topk_prob: norm };
        let experts = (0..n_experts).map(|_| SwiGlu::random(8, 12, 0.5, &mut rng)).collect();
        SparseMoe::new(router, experts).unwrap()
    }

    #[test]
    fn the_sparse_path_equals_the_dense_reference() {
        for (n_experts, top_k, norm) in [(4, 1, false), (4, 2, true), (6, 3, false), (5, 5, true)] {
            let mut moe = random_moe(n_experts, top_k, norm, 3 + n_experts as u64);
            let x: Array2<f64> = init::normal((9, 8), 1.0, &mut init::rng(4));
            let dense = moe.forward_dense(x.view()).unwrap();
            let sparse = moe.forward(x.view()).unwrap();
            let diff = (&dense - &sparse).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
            assert!(diff < 1e-13, "{n_experts} experts, top-{top_k}: {diff}");
            // 9 tokens read top_k experts each
            assert_eq!(moe.take_counts().iter().sum::<u64>(), 9 * top_k as u64);
        }
    }

    #[test]
    fn one_token_is_the_weighted_sum_of_its_experts_written_out() {
        let mut moe = random_moe(4, 2, true, 5);
        let x: Array2<f64> = init::normal((1, 8), 1.0, &mut init::rng(6));
        // by hand: softmax of the gate's scores, the two largest, renormalised
        let scores: Vec<f64> = (0..4).map(|e| (0..8).map(|k| moe.router.gate.weight[[e, k]] * x[[0, k]]).sum()).collect();
        let z: f64 = scores.iter().map(|s| s.exp()).sum();
        let p: Vec<f64> = scores.iter().map(|s| s.exp() / z).collect();
        let mut idx = [0, 1, 2, 3];
        idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let (a, b) = (idx[0], idx[1]);
        let (wa, wb) = (p[a] / (p[a] + p[b]), p[b] / (p[a] + p[b]));
        let ya = moe.experts[a].forward(x.view()).unwrap();
        let yb = moe.experts[b].forward(x.view()).unwrap();
        let want = &ya * wa + &yb * wb;
        let got = moe.forward(x.view()).unwrap();
        assert!((&got - &want).iter().all(|d| d.abs() < 1e-13), "{got} vs {want}");
        // and an expert outside the top 2 changes nothing when it changes
        let other = idx[2];
        moe.experts[other] = SwiGlu::random(8, 12, 3.0, &mut init::rng(99));
        assert_eq!(moe.forward(x.view()).unwrap(), got);
    }

    #[test]
    fn a_router_and_experts_that_disagree_are_a_shape_error() {
        let mut rng = init::rng(1);
        let router = Router { gate: Linear::<f32>::random(8, 3, false, 1.0, &mut rng), top_k: 1, norm_topk_prob: false };
        let experts = vec![SwiGlu::random(8, 12, 0.5, &mut rng)];
        assert!(matches!(SparseMoe::new(router, experts), Err(Error::Shape { op: "moe", .. })));
    }
}
