//! The norm of a block: RMSNorm (Llama, Qwen) or LayerNorm (GPT-NeoX).

use crate::rms_norm::RmsNorm;
use ndarray::{Array2, ArrayView2};
use shared::{Checkpoint, Float, LayerNorm, Result};

/// Either norm, over the last axis of `[n, d_model]`.
#[derive(Debug, Clone)]
pub enum Norm<F> {
    Rms(RmsNorm<F>),
    Layer(LayerNorm<F>),
}

impl<F: Float> Norm<F> {
    /// Weight one (and bias zero): the initialisation of both.
    pub fn new(d: usize, eps: f64, layer_norm: bool) -> Self {
        if layer_norm {
            Norm::Layer(LayerNorm::new(d, eps))
        } else {
            Norm::Rms(RmsNorm::new(d, eps))
        }
    }

    /// Load `{name}.weight` (and `{name}.bias` for LayerNorm), each `[d]`.
    pub fn load(ckpt: &Checkpoint, name: &str, d: usize, eps: f64, layer_norm: bool) -> Result<Self> {
        Ok(if layer_norm {
            Norm::Layer(LayerNorm::load(ckpt, name, d, eps)?)
        } else {
            Norm::Rms(RmsNorm { weight: ckpt.vector(&format!("{name}.weight"), d)?, eps: F::cast(eps) })
        })
    }

    /// x: `[n, d_model]` -> `[n, d_model]`
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        match self {
            Norm::Rms(norm) => norm.forward(x),
            Norm::Layer(norm) => Ok(norm.forward(x)),
        }
    }
}
