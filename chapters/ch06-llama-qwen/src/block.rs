//! One decoder block, pre-norm like GPT-2's, with a sequential or a parallel residual.

use crate::feed_forward::{FeedForward, FeedForwardLayer};
use crate::norm::Norm;
use ch04_gpt::Attention;
use ndarray::Array3;
use shared::{Float, Result};

/// Llama and Qwen (sequential):
/// `x = x + attn(input_norm(x)); x = x + mlp(post_attention_norm(x))`.
/// GPT-NeoX with `use_parallel_residual` (Pythia): both branches read the same `x`,
/// `x = x + attn(input_norm(x)) + mlp(post_attention_norm(x))`.
/// The feed-forward `M` is chapter 6's [`FeedForward`] unless chapter 7 swaps in experts.
#[derive(Debug, Clone)]
pub struct DecoderBlock<F, A, M = FeedForward<F>> {
    pub input_norm: Norm<F>,          // `input_layernorm`
    pub attn: A,                      // `self_attn` / `attention`
    pub post_attention_norm: Norm<F>, // `post_attention_layernorm`
    pub mlp: M,                       // `mlp` / `block_sparse_moe`
    pub parallel_residual: bool,
}

impl<F: Float, A: Attention<F>, M: FeedForwardLayer<F>> DecoderBlock<F, A, M> {
    // ANCHOR: forward
    /// x: `[batch, seq, d_model]` -> `[batch, seq, d_model]`
    pub fn forward(&mut self, x: Array3<F>, use_cache: bool) -> Result<Array3<F>> {
        let (batch, seq, d_model) = x.dim();
        let mut x = x.into_shape_with_order((batch * seq, d_model)).expect("contiguous"); // [n, d]

        let h = self.input_norm.forward(x.view())?; // [n, d]
        let h = h.into_shape_with_order((batch, seq, d_model)).expect("contiguous");
        let a = self.attn.forward(h.view(), use_cache)?; // [batch, seq, d]
        let a = a.into_shape_with_order((batch * seq, d_model)).expect("contiguous"); // [n, d]
        if self.parallel_residual {
            let m = self.mlp.forward(self.post_attention_norm.forward(x.view())?.view())?; // from x
            x = m + &a + &x; // (mlp + attn) + x, transformers' order of the sums
        } else {
            x += &a; // residual
            let m = self.mlp.forward(self.post_attention_norm.forward(x.view())?.view())?; // from x + a
            x += &m; // residual
        }
        Ok(x.into_shape_with_order((batch, seq, d_model)).expect("contiguous"))
    }
    // ANCHOR_END: forward

    /// The same block with its attention replaced (how chapter 8 adds a cache).
    pub fn map_attention<B>(self, f: impl FnOnce(A) -> B) -> DecoderBlock<F, B, M> {
        DecoderBlock {
            input_norm: self.input_norm,
            attn: f(self.attn),
            post_attention_norm: self.post_attention_norm,
            mlp: self.mlp,
            parallel_residual: self.parallel_residual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::RotaryAttention;
    use crate::config::{DecoderConfig, Family};
    use crate::feed_forward::GeluMlp;
    use ndarray::Array2;
    use shared::{init, LayerNorm, Linear};

    /// A GPT-NeoX block with every parameter random (norm weights and biases too).
    fn neox_block(parallel: bool) -> DecoderBlock<f64, RotaryAttention<f64>> {
        let c = DecoderConfig::tiny(Family::GptNeoX, 20, 8, 1, 2, 2);
        let mut rng = init::rng(11);
        let mut ln = || {
            let mut n = LayerNorm::<f64>::new(8, 1e-5);
            n.weight = init::normal(8, 1.0, &mut rng);
            n.bias = init::normal(8, 1.0, &mut rng);
            n
        };
        let (ln1, ln2) = (ln(), ln());
        let mut rng = init::rng(12);
        DecoderBlock {
            input_norm: Norm::Layer(ln1),
            attn: RotaryAttention::random(&c, 0.5, &mut rng).unwrap(),
            post_attention_norm: Norm::Layer(ln2),
            mlp: FeedForward::Gelu(GeluMlp {
                dense_h_to_4h: Linear::random(8, 32, true, 0.5, &mut rng),
                dense_4h_to_h: Linear::random(32, 8, true, 0.5, &mut rng),
            }),
            parallel_residual: parallel,
        }
    }

    #[test]
    fn parallel_and_sequential_residuals_follow_their_formulas() {
        let x: Array3<f64> = init::normal((1, 4, 8), 1.0, &mut init::rng(13));
        for parallel in [true, false] {
            let mut block = neox_block(parallel);
            let got = block.forward(x.clone(), false).unwrap();
            // written out from the parts
            let flat = |a: Array3<f64>| -> Array2<f64> { a.into_shape_with_order((4, 8)).unwrap() };
            let x2 = flat(x.clone());
            let attn_of = |block: &mut DecoderBlock<f64, RotaryAttention<f64>>, v: &Array2<f64>| {
                let h = block.input_norm.forward(v.view()).unwrap().into_shape_with_order((1, 4, 8)).unwrap();
                flat(block.attn.forward(h.view(), false).unwrap())
            };
            let a = attn_of(&mut block, &x2);
            let want = if parallel {
                // x + attn(ln1(x)) + mlp(ln2(x))
                let m = block.mlp.forward(block.post_attention_norm.forward(x2.view()).unwrap().view()).unwrap();
                &x2 + &a + &m
            } else {
                // y = x + attn(ln1(x)); y + mlp(ln2(y))
                let y = &x2 + &a;
                let m = block.mlp.forward(block.post_attention_norm.forward(y.view()).unwrap().view()).unwrap();
                &y + &m
            };
            let diff = (&flat(got) - &want).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
            assert!(diff < 1e-13, "parallel = {parallel}: {diff}");
        }
        // and the two wirings differ: the test can tell them apart
        let p = neox_block(true).forward(x.clone(), false).unwrap();
        let s = neox_block(false).forward(x.clone(), false).unwrap();
        assert!((&p - &s).iter().any(|d| d.abs() > 1e-3));
    }
}
