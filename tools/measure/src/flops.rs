//! Counting work and traffic: the formulas behind the `bench` subcommand's ratios.
//!
//! - **Prefill FLOPs** of a `T`-token prompt (one forward pass, logits of the last position):
//!
//!   `2 x P_blocks x T  +  n_layers x 4 x T^2 x n_heads x head_dim  +  2 x d_model x vocab`
//!
//!   `P_blocks` is every parameter outside the embedding tables and the LM head (each weight
//!   does one multiply and one add per token); the middle term is attention, `Q K^T` and `A V`, each
//!   `2 x T x T x head_dim` per head, counted over the full `T x T` square because chapter 3's
//!   attention computes it all and masks half; the last term is the tied LM head, applied to
//!   the last position only.
//! - **Weight bytes read per decoded token**: `4 x P_read` for fp32. For GPT-2, `P_read` is the
//!   parameter count with the tied LM head counted once (the embedding lookup reads one row,
//!   the LM head the whole matrix; the position table, 0.6% of GPT-2 124M, is counted though
//!   only one row is read). A model with an untied head reads its head, not its embedding
//!   table (one row of it).
//! - **KV cache bytes read per decoded token** at sequence length `s`:
//!   `2 x n_layers x n_kv_heads x head_dim x 4 x s`.

use serde::Serialize;
use shared::GptConfig;

/// Bytes per fp32 number.
pub const F32_BYTES: usize = 4;

/// What the formulas need to know about a decoder, whatever its family (each model adapter
/// fills it in from its own configuration).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelShape {
    pub n_layers: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub context_length: usize,
    pub vocab_size: usize,
    /// Every parameter (a tied LM head counted once).
    pub n_params: usize,
    /// `P_blocks`: parameters of the matrices and vectors every token goes through, outside
    /// the embedding tables and the LM head.
    pub block_params: usize,
    /// `P_read`: parameters one decoded token reads from memory (every block, the final norm,
    /// the LM head; GPT-2 also counts its position table).
    pub params_read_per_token: usize,
}

impl ModelShape {
    /// GPT-2 (chapter 4): learned positions, tied LM head.
    pub fn gpt2(config: &GptConfig) -> Self {
        let tables = config.vocab_size * config.d_model + config.context_length * config.d_model;
        ModelShape {
            n_layers: config.n_layers,
            d_model: config.d_model,
            n_heads: config.n_heads,
            n_kv_heads: config.n_kv_heads,
            head_dim: config.head_dim(),
            context_length: config.context_length,
            vocab_size: config.vocab_size,
            n_params: config.n_params(),
            block_params: config.n_params() - tables,
            params_read_per_token: config.n_params(),
        }
    }
}

/// FLOPs of a prefill of `tokens` tokens (see the module documentation).
pub fn prefill_flops(shape: &ModelShape, tokens: usize) -> f64 {
    let t = tokens as f64;
    let weights = 2.0 * shape.block_params as f64 * t;
    let attention = shape.n_layers as f64 * 4.0 * t * t * (shape.n_heads * shape.head_dim) as f64;
    let lm_head = 2.0 * (shape.d_model * shape.vocab_size) as f64;
    weights + attention + lm_head
}

/// Bytes of fp32 weights one decoded token reads: `4 x P_read`.
pub fn weight_bytes_per_token(shape: &ModelShape) -> f64 {
    weight_bytes_per_token_at(shape, F32_BYTES)
}

/// Bytes one decoded token reads with `bytes` a weight: `bytes x P_read` (with 16-bit weights
/// the norms and biases, 0.1% of GPT-2's numbers, stay f32 and are counted at 2 bytes too).
pub fn weight_bytes_per_token_at(shape: &ModelShape, bytes: usize) -> f64 {
    (shape.params_read_per_token * bytes) as f64
}

/// Bytes of fp32 keys and values read by one decoded token attending over `seq` positions.
pub fn kv_bytes_read(shape: &ModelShape, seq: usize) -> f64 {
    (2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * F32_BYTES * seq) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_124m_counts() {
        let c = ModelShape::gpt2(&GptConfig::gpt2_124m());
        // 124,439,808 - 50257 x 768 - 1024 x 768 = 85,056,000 (the "85M" of non-embedding weights)
        assert_eq!(c.block_params, 85_056_000);
        assert_eq!(weight_bytes_per_token(&c), 497_759_232.0);
        assert_eq!(kv_bytes_read(&c, 1), 73_728.0); // = memory.rs's per-token figure
        let one = prefill_flops(&c, 1);
        assert_eq!(one, 2.0 * 85_056_000.0 + 12.0 * 4.0 * 768.0 + 2.0 * 768.0 * 50257.0);
    }
}
