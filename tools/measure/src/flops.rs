//! Counting work and traffic: the formulas behind the `bench` subcommand's ratios.
//!
//! - **Prefill FLOPs** of a `T`-token prompt (one forward pass, logits of the last position):
//!
//!   `2 x P_blocks x T  +  n_layers x 4 x T^2 x d_model  +  2 x d_model x vocab`
//!
//!   `P_blocks` is every parameter except the two embedding tables (each weight does one
//!   multiply and one add per token); the middle term is attention, `Q K^T` and `A V`, each
//!   `2 x T x T x head_dim` per head, counted over the full `T x T` square because chapter 3's
//!   attention computes it all and masks half; the last term is the tied LM head, applied to
//!   the last position only.
//! - **Weight bytes read per decoded token**: `4 x P` for fp32, `P` the parameter count with
//!   the tied LM head counted once (the embedding lookup reads one row, the LM head the whole
//!   matrix; the position table, 0.6% of GPT-2 124M, is counted though only one row is read).
//! - **KV cache bytes read per decoded token** at sequence length `s`:
//!   `2 x n_layers x n_kv_heads x head_dim x 4 x s`.

use shared::GptConfig;

/// Bytes per fp32 number.
pub const F32_BYTES: usize = 4;

/// Parameters outside the token and position embedding tables.
pub fn block_params(config: &GptConfig) -> usize {
    config.n_params() - config.vocab_size * config.d_model - config.context_length * config.d_model
}

/// FLOPs of a prefill of `tokens` tokens (see the module documentation).
pub fn prefill_flops(config: &GptConfig, tokens: usize) -> f64 {
    let t = tokens as f64;
    let weights = 2.0 * block_params(config) as f64 * t;
    let attention = config.n_layers as f64 * 4.0 * t * t * config.d_model as f64;
    let lm_head = 2.0 * (config.d_model * config.vocab_size) as f64;
    weights + attention + lm_head
}

/// Bytes of fp32 weights one decoded token reads: `4 x n_params` (tied LM head counted once).
pub fn weight_bytes_per_token(config: &GptConfig) -> f64 {
    (config.n_params() * F32_BYTES) as f64
}

/// Bytes of fp32 keys and values read by one decoded token attending over `seq` positions.
pub fn kv_bytes_read(config: &GptConfig, seq: usize) -> f64 {
    (2 * config.n_layers * config.n_kv_heads * config.head_dim() * F32_BYTES * seq) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_124m_counts() {
        let c = GptConfig::gpt2_124m();
        // 124,439,808 - 50257 x 768 - 1024 x 768 = 85,056,000 (the "85M" of non-embedding weights)
        assert_eq!(block_params(&c), 85_056_000);
        assert_eq!(weight_bytes_per_token(&c), 497_759_232.0);
        assert_eq!(kv_bytes_read(&c, 1), 73_728.0); // = memory.rs's per-token figure
        let one = prefill_flops(&c, 1);
        assert_eq!(one, 2.0 * 85_056_000.0 + 12.0 * 4.0 * 768.0 + 2.0 * 768.0 * 50257.0);
    }
}
