//! The feed-forward part of a block: widen, GELU, narrow back.

use ndarray::{Array2, ArrayView2};
use ndarray_rand::rand::Rng;
use shared::{gelu, Checkpoint, Float, GptConfig, Linear, Result};

#[derive(Debug, Clone)]
pub struct Mlp<F> {
    pub c_fc: Linear<F>,   // d_model -> d_ff
    pub c_proj: Linear<F>, // d_ff -> d_model
}

impl<F: Float> Mlp<F> {
    pub fn random<R: Rng>(config: &GptConfig, rng: &mut R) -> Self {
        let proj_std = 0.02 / (2.0 * config.n_layers as f64).sqrt();
        Mlp {
            c_fc: Linear::random(config.d_model, config.d_ff, true, 0.02, rng),
            c_proj: Linear::random(config.d_ff, config.d_model, true, proj_std, rng),
        }
    }

    /// Load `{prefix}.c_fc` and `{prefix}.c_proj`, e.g. prefix `h.0.mlp`.
    pub fn load(ckpt: &Checkpoint, prefix: &str, config: &GptConfig) -> Result<Self> {
        Ok(Mlp {
            c_fc: Linear::load_conv1d(ckpt, &format!("{prefix}.c_fc"), config.d_model, config.d_ff)?,
            c_proj: Linear::load_conv1d(ckpt, &format!("{prefix}.c_proj"), config.d_ff, config.d_model)?,
        })
    }

    // ANCHOR: forward
    /// x: `[n, d_model]` -> `[n, d_model]`
    pub fn forward(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        let mut h = self.c_fc.forward(x)?; // [n, d_ff]
        gelu(&mut h);
        self.c_proj.forward(h.view()) // [n, d_model]
    }
    // ANCHOR_END: forward
}
