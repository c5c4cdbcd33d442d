//! One transformer block, pre-LN as in GPT-2.

use crate::attention::Attention;
use crate::mlp::Mlp;
use shared::{Float, LayerNorm};

// Exercise ch04-1 (the block's forward pass): `--features ex-ch04-1` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch04-1", path = "../exercises/ch04_1_block_forward.rs")]
mod forward;

/// `x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))`, generic over the attention layer.
#[derive(Debug, Clone)]
pub struct Block<F, A> {
    pub ln_1: LayerNorm<F>,
    pub attn: A,
    pub ln_2: LayerNorm<F>,
    pub mlp: Mlp<F>,
}

impl<F: Float, A: Attention<F>> Block<F, A> {
    /// The same block with its attention replaced (how chapter 8 adds a cache).
    pub fn map_attention<B>(self, f: impl FnOnce(A) -> B) -> Block<F, B> {
        Block {
            ln_1: self.ln_1,
            attn: f(self.attn),
            ln_2: self.ln_2,
            mlp: self.mlp,
        }
    }
}
