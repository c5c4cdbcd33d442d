//! The feed-forward part of an MoE model's block: experts, or (in Qwen3-MoE's
//! `mlp_only_layers`) chapter 6's dense SwiGLU.

use crate::experts::SparseMoe;
use ch06_llama_qwen::{FeedForwardLayer, SwiGlu};
use ndarray::{Array2, ArrayView2};
use shared::{Float, Result};

// ANCHOR: moe_feed_forward
/// What chapter 6's block calls as its `mlp`.
#[derive(Debug, Clone)]
pub enum MoeFeedForward<F> {
    /// A layer without experts (chapter 6's SwiGLU).
    Dense(SwiGlu<F>),
    /// A mixture of experts.
    Experts(SparseMoe<F>),
}

impl<F: Float> FeedForwardLayer<F> for MoeFeedForward<F> {
    /// x: `[n, d_model]` -> `[n, d_model]`
    fn forward(&mut self, x: ArrayView2<F>) -> Result<Array2<F>> {
        match self {
            MoeFeedForward::Dense(mlp) => mlp.forward(x),
            MoeFeedForward::Experts(moe) if moe.dense_path() => moe.forward_dense(x), // the benchmark's baseline
            MoeFeedForward::Experts(moe) => moe.forward(x),
        }
    }
}
// ANCHOR_END: moe_feed_forward

impl<F> MoeFeedForward<F> {
    /// The experts, if this layer has them.
    pub fn experts(&self) -> Option<&SparseMoe<F>> {
        match self {
            MoeFeedForward::Experts(moe) => Some(moe),
            MoeFeedForward::Dense(_) => None,
        }
    }

    pub fn experts_mut(&mut self) -> Option<&mut SparseMoe<F>> {
        match self {
            MoeFeedForward::Experts(moe) => Some(moe),
            MoeFeedForward::Dense(_) => None,
        }
    }
}
