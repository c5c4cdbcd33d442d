//! Model dimensions, read from a Hugging Face `config.json` or built from a preset.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::Path;

/// The dimensions of a GPT-2 style model (names follow what each number holds).
#[derive(Debug, Clone, PartialEq)]
pub struct GptConfig {
    /// Number of token ids the model knows (`vocab_size`).
    pub vocab_size: usize,
    /// Longest sequence the learned positions cover (`n_positions`).
    pub context_length: usize,
    /// Width of the residual stream (`n_embd`).
    pub d_model: usize,
    /// Number of transformer blocks (`n_layer`).
    pub n_layers: usize,
    /// Number of query heads (`n_head`).
    pub n_heads: usize,
    /// Number of key/value heads: `n_heads` for multi-head attention, fewer for grouped-query
    /// attention, 1 for multi-query attention. GPT-2 files do not set it (it equals `n_heads`).
    pub n_kv_heads: usize,
    /// Hidden width of the MLP (`n_inner`, default `4 * d_model`).
    pub d_ff: usize,
    /// Epsilon of every layer norm (`layer_norm_epsilon`).
    pub layer_norm_eps: f64,
    /// End-of-text token, if the config names one (`eos_token_id`).
    pub eos_token_id: Option<u32>,
}

/// The fields of a Hugging Face GPT-2 `config.json` this crate reads; others are ignored.
#[derive(Deserialize)]
struct HfGpt2Config {
    vocab_size: usize,
    n_positions: usize,
    n_embd: usize,
    n_layer: usize,
    n_head: usize,
    #[serde(default)]
    n_inner: Option<usize>,
    #[serde(default)]
    num_key_value_heads: Option<usize>,
    #[serde(default = "default_eps")]
    layer_norm_epsilon: f64,
    #[serde(default)]
    eos_token_id: Option<u32>,
    #[serde(default)]
    activation_function: Option<String>,
}

fn default_eps() -> f64 {
    1e-5
}

impl GptConfig {
    /// GPT-2 small, the 124M-parameter model (`gpt2` on the Hugging Face hub).
    pub fn gpt2_124m() -> Self {
        Self::gpt2_like(50257, 1024, 768, 12, 12)
    }
    /// GPT-2 medium (355M).
    pub fn gpt2_medium() -> Self {
        Self::gpt2_like(50257, 1024, 1024, 24, 16)
    }
    /// GPT-2 large (774M).
    pub fn gpt2_large() -> Self {
        Self::gpt2_like(50257, 1024, 1280, 36, 20)
    }
    /// GPT-2 XL (1.5B).
    pub fn gpt2_xl() -> Self {
        Self::gpt2_like(50257, 1024, 1600, 48, 25)
    }
    /// A small model with GPT-2's vocabulary: 4 layers, 256 wide (the "small" benchmark config).
    pub fn small() -> Self {
        Self::gpt2_like(50257, 1024, 256, 4, 4)
    }

    /// A GPT-2 shaped config: MHA, `d_ff = 4 * d_model`, eps 1e-5, EOS = last id.
    pub fn gpt2_like(
        vocab_size: usize,
        context_length: usize,
        d_model: usize,
        n_layers: usize,
        n_heads: usize,
    ) -> Self {
        GptConfig {
            vocab_size,
            context_length,
            d_model,
            n_layers,
            n_heads,
            n_kv_heads: n_heads,
            d_ff: 4 * d_model,
            layer_norm_eps: 1e-5,
            eos_token_id: Some(vocab_size as u32 - 1),
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// Check the numbers fit together (head width divides, kv heads divide heads, ...).
    pub fn validate(&self) -> Result<()> {
        let bad = |s: String| Err(Error::InvalidConfig(s));
        if self.vocab_size == 0 || self.context_length == 0 || self.d_model == 0 {
            return bad("vocab_size, context_length and d_model must be positive".into());
        }
        if self.n_layers == 0 || self.n_heads == 0 || self.n_kv_heads == 0 || self.d_ff == 0 {
            return bad("n_layers, n_heads, n_kv_heads and d_ff must be positive".into());
        }
        if self.d_model % self.n_heads != 0 {
            return bad(format!(
                "d_model {} is not a multiple of n_heads {}",
                self.d_model, self.n_heads
            ));
        }
        if self.n_heads % self.n_kv_heads != 0 {
            return bad(format!(
                "n_heads {} is not a multiple of n_kv_heads {}",
                self.n_heads, self.n_kv_heads
            ));
        }
        if !(self.layer_norm_eps > 0.0) {
            return bad(format!("layer_norm_eps {} must be > 0", self.layer_norm_eps));
        }
        Ok(())
    }

    /// Read a Hugging Face GPT-2 `config.json`.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_hf_str(&text).map_err(|reason| Error::BadConfig {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse the text of a Hugging Face GPT-2 `config.json`.
    pub fn from_hf_str(text: &str) -> std::result::Result<Self, String> {
        let hf: HfGpt2Config = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(act) = &hf.activation_function {
            if act != "gelu_new" && act != "gelu_pytorch_tanh" {
                return Err(format!(
                    "activation_function {act:?} is not supported (GPT-2 uses \"gelu_new\")"
                ));
            }
        }
        let config = GptConfig {
            vocab_size: hf.vocab_size,
            context_length: hf.n_positions,
            d_model: hf.n_embd,
            n_layers: hf.n_layer,
            n_heads: hf.n_head,
            n_kv_heads: hf.num_key_value_heads.unwrap_or(hf.n_head),
            d_ff: hf.n_inner.unwrap_or(4 * hf.n_embd),
            layer_norm_eps: hf.layer_norm_epsilon,
            eos_token_id: hf.eos_token_id,
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// Number of parameters (weights and biases; the tied LM head counted once).
    pub fn n_params(&self) -> usize {
        let d = self.d_model;
        let kv = self.n_kv_heads * self.head_dim();
        let attn = d * (d + 2 * kv) + (d + 2 * kv) + d * d + d;
        let mlp = d * self.d_ff + self.d_ff + self.d_ff * d + d;
        let norms = 4 * d;
        self.vocab_size * d
            + self.context_length * d
            + self.n_layers * (attn + mlp + norms)
            + 2 * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_124m_has_124m_parameters() {
        // 124,439,808 is the parameter count PyTorch reports for `gpt2` (tied head counted once).
        assert_eq!(GptConfig::gpt2_124m().n_params(), 124_439_808);
    }

    #[test]
    fn reads_a_hf_config() {
        let c = GptConfig::from_hf_str(
            r#"{"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12,
                "n_head": 12, "n_inner": null, "layer_norm_epsilon": 1e-05,
                "activation_function": "gelu_new", "eos_token_id": 50256, "model_type": "gpt2"}"#,
        )
        .unwrap();
        let mut expected = GptConfig::gpt2_124m();
        expected.eos_token_id = Some(50256);
        assert_eq!(c, expected);
    }

    #[test]
    fn rejects_heads_that_do_not_divide() {
        let err = GptConfig::from_hf_str(
            r#"{"vocab_size": 10, "n_positions": 8, "n_embd": 10, "n_layer": 1, "n_head": 3}"#,
        )
        .unwrap_err();
        assert!(err.contains("not a multiple of n_heads"), "{err}");
    }

    #[test]
    fn rejects_a_missing_field() {
        let err = GptConfig::from_hf_str(r#"{"vocab_size": 10}"#).unwrap_err();
        assert!(err.contains("missing field"), "{err}");
    }
}
