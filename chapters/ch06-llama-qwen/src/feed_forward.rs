//! The feed-forward part of a block: SwiGLU (Llama, Qwen) or GPT-NeoX's GELU MLP, and the
//! small trait a block asks of it (so chapter 7 can swap in a mixture of experts).

use crate::swiglu::SwiGlu;
use ndarray::{Array2, ArrayView2};
use shared::{gelu_erf, Float, Linear, Result};

/// GPT-NeoX's MLP: `dense_4h_to_h(gelu(dense_h_to_4h(x)))`, with biases and the exact (erf)
/// GELU. The same shape as chapter 4's GPT-2 MLP; only the GELU differs.
#[derive(Debug, Clone)]
pub struct GeluMlp<F> {
    pub dense_h_to_4h: Linear<F>, // [d_ff, d_model]
    pub dense_4h_to_h: Linear<F>, // [d_model, d_ff]
}

impl<F: Float> GeluMlp<F> {
    // ANCHOR: gelu_mlp
    /// x: `[n, d_model]` -> `[n, d_model]`
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        let mut h = self.dense_h_to_4h.forward(x)?; // [n, d_ff]
        gelu_erf(&mut h);
        self.dense_4h_to_h.forward(h.view()) // [n, d_model]
    }
    // ANCHOR_END: gelu_mlp
}

// ANCHOR: trait
/// What a block needs of its feed-forward part: each position's vector in, one out,
/// `[n, d_model] -> [n, d_model]`. Chapter 7 plugs a mixture of experts in here.
pub trait FeedForwardLayer<F> {
    /// `&mut self`: a layer may keep statistics (chapter 7 counts which experts ran).
    fn forward(&mut self, x: ArrayView2<F>) -> Result<Array2<F>>;
}
// ANCHOR_END: trait

/// Either MLP.
#[derive(Debug, Clone)]
pub enum FeedForward<F> {
    SwiGlu(SwiGlu<F>),
    Gelu(GeluMlp<F>),
}

impl<F: Float> FeedForward<F> {
    /// x: `[n, d_model]` -> `[n, d_model]`
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        match self {
            FeedForward::SwiGlu(mlp) => mlp.forward(x),
            FeedForward::Gelu(mlp) => mlp.forward(x),
        }
    }
}

impl<F: Float> FeedForwardLayer<F> for FeedForward<F> {
    fn forward(&mut self, x: ArrayView2<F>) -> Result<Array2<F>> {
        FeedForward::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gelu_mlp_by_hand() {
        // d_model 1, d_ff 2: h = [x + 1, -x] -> gelu -> [g(h0), g(h1)] . [2, 3] + 0.5
        let mlp = GeluMlp {
            dense_h_to_4h: Linear::new(array![[1.0f64], [-1.0]], Some(array![1.0, 0.0])),
            dense_4h_to_h: Linear::new(array![[2.0, 3.0]], Some(array![0.5])),
        };
        let y = mlp.forward(array![[1.0]].view()).unwrap();
        // x Phi(x): Phi(2) = 0.9772498680518208, Phi(-1) = 0.15865525393145707
        let want = 2.0 * (2.0 * 0.977_249_868_051_820_8) + 3.0 * (-0.158_655_253_931_457_07) + 0.5;
        assert!((y[[0, 0]] - want).abs() < 1e-14, "{y} vs {want}");
    }
}
