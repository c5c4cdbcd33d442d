//! # Chapter 2: embeddings
//!
//! A model cannot compute with token ids; it computes with vectors. Two lookup tables turn a
//! batch of ids into the input of the first transformer block:
//!
//! - the **token embedding** `wte`, `[vocab_size, d_model]`: what each token means;
//! - the **position embedding** `wpe`, `[context_length, d_model]`: where it stands.
//!
//! Their sum is the residual stream, `[batch, seq, d_model]`. GPT-2 learns both tables.
//! Because positions are a table with `context_length` rows, a sequence longer than the
//! context has no position vectors at all: that is an error here, not silent garbage.
//!
//! `start_pos` is the position of the first token in `ids`. Without a cache every call sees
//! the whole sequence and `start_pos` is 0; chapter 8 feeds only the new tokens and passes the
//! number of tokens already cached.

use ndarray_rand::rand::Rng;
use ndarray::{Array3, ArrayView2};
use shared::{init, Embedding, Error, Float, GptConfig, Result};

// Each exercise's reference is its own file; its feature swaps in the stub from exercises/
// (see exercises/info.toml).
#[cfg_attr(feature = "ex-ch02-1", path = "../exercises/ch02_1_forward.rs")]
mod forward; // GptEmbeddings::forward
#[cfg_attr(feature = "ex-ch02-2", path = "../exercises/ch02_2_sinusoidal.rs")]
mod sinusoidal;

pub use sinusoidal::sinusoidal_positions;

/// Token + learned position embeddings (GPT-2's `wte` and `wpe`).
#[derive(Debug, Clone)]
pub struct GptEmbeddings<F> {
    pub wte: Embedding<F>, // [vocab_size, d_model]
    pub wpe: Embedding<F>, // [context_length, d_model]
}

impl<F: Float> GptEmbeddings<F> {
    /// Random tables, N(0, 0.02^2) for tokens and N(0, 0.01^2) for positions (GPT-2's init).
    pub fn random<R: Rng>(config: &GptConfig, rng: &mut R) -> Self {
        GptEmbeddings {
            wte: Embedding::new(init::normal((config.vocab_size, config.d_model), 0.02, rng)),
            wpe: Embedding::new(init::normal((config.context_length, config.d_model), 0.01, rng)),
        }
    }

    /// Load `wte.weight` and `wpe.weight` from a GPT-2 checkpoint.
    pub fn load(ckpt: &shared::Checkpoint, config: &GptConfig) -> Result<Self> {
        Ok(GptEmbeddings {
            wte: Embedding::load(ckpt, "wte.weight", config.vocab_size, config.d_model)?,
            wpe: Embedding::load(ckpt, "wpe.weight", config.context_length, config.d_model)?,
        })
    }

    pub fn context_length(&self) -> usize {
        self.wpe.num_embeddings()
    }

    // ANCHOR: forward_at
    /// Chapter 9's batches, where each row has its own positions: ids and positions
    /// `[batch, seq]` -> `[batch, seq, d_model]` = wte[ids] + wpe[positions].
    pub fn forward_at(&self, ids: ArrayView2<u32>, positions: ArrayView2<usize>) -> Result<Array3<F>> {
        if positions.dim() != ids.dim() {
            return Err(Error::Shape { op: "GptEmbeddings::forward_at", expected: format!("positions = {:?}", ids.shape()), found: format!("{:?}", positions.shape()) });
        }
        if let Some(&p) = positions.iter().find(|&&p| p >= self.context_length()) {
            return Err(Error::ContextOverflow { len: p + 1, context_length: self.context_length() });
        }
        let tok = self.wte.forward(ids.iter().map(|&id| id as usize))?; // [batch * seq, d_model]
        let pos = self.wpe.forward(positions.iter().copied())?; // [batch * seq, d_model]
        let (batch, seq) = ids.dim();
        Ok((tok + pos).into_shape_with_order((batch, seq, self.wte.dim())).expect("contiguous"))
    }
    // ANCHOR_END: forward_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2, Axis};
    use shared::Error;

    fn tiny() -> GptEmbeddings<f64> {
        GptEmbeddings {
            // 3 tokens, 4 positions, d_model 2: values chosen so sums are easy to check by hand
            wte: Embedding::new(array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
            wpe: Embedding::new(array![[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]]),
        }
    }

    #[test]
    fn token_plus_position() {
        let x = tiny().forward(array![[2u32, 0], [1, 1]].view(), 0).unwrap();
        assert_eq!(x.dim(), (2, 2, 2));
        assert_eq!(x.index_axis(Axis(0), 0), array![[1.0, 1.0], [11.0, 0.0]]);
        assert_eq!(x.index_axis(Axis(0), 1), array![[0.0, 1.0], [10.0, 1.0]]);
    }

    #[test]
    fn start_pos_shifts_positions() {
        // token 1 at position 2: [0, 1] + [20, 0]
        let x = tiny().forward(array![[1u32]].view(), 2).unwrap();
        assert_eq!(x.index_axis(Axis(0), 0), array![[20.0, 1.0]]);
    }

    #[test]
    fn too_long_and_bad_ids_are_errors() {
        let e = tiny();
        let ids: Array2<u32> = Array2::zeros((1, 5));
        assert!(matches!(
            e.forward(ids.view(), 0),
            Err(Error::ContextOverflow { len: 5, context_length: 4 })
        ));
        assert!(matches!(
            e.forward(array![[0u32]].view(), 4),
            Err(Error::ContextOverflow { len: 5, .. })
        ));
        assert!(matches!(
            e.forward(array![[3u32]].view(), 0),
            Err(Error::TokenOutOfRange { id: 3, .. })
        ));
    }
}
