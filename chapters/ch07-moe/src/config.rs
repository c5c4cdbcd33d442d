//! The shape of a Mixtral or Qwen3-MoE model, read from its Hugging Face `config.json`.
//!
//! Both are chapter 6's decoders with a different feed-forward: Mixtral's attention is Llama's,
//! Qwen3-MoE's is Qwen3's (with the q/k norm). So [`MoeConfig`] is chapter 6's
//! [`DecoderConfig`] (everything about attention, norms and positions) plus the experts:
//! how many, how wide, how many each token reads, and which layers have them. Defaults for
//! absent fields are those of transformers' `MixtralConfig` and `Qwen3MoeConfig`.

use ch06_llama_qwen::{DecoderConfig, Family};
use serde_json::{Map, Value};
use shared::{Error, Result};
use std::path::Path;

/// The `model_type` values this chapter runs.
pub const SUPPORTED_MODEL_TYPES: &str = "mixtral, qwen3_moe";

/// Which mixture-of-experts architecture a `config.json` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoeFamily {
    /// `mixtral`: Llama attention; every layer has experts (`block_sparse_moe`, `w1/w2/w3`);
    /// the top-k weights are always renormalised.
    Mixtral,
    /// `qwen3_moe`: Qwen3 attention; experts under `mlp` (`gate_proj/up_proj/down_proj`),
    /// `decoder_sparse_step` and `mlp_only_layers` choose which layers have them.
    Qwen3Moe,
}

impl MoeFamily {
    pub fn model_type(self) -> &'static str {
        match self {
            MoeFamily::Mixtral => "mixtral",
            MoeFamily::Qwen3Moe => "qwen3_moe",
        }
    }

    /// The chapter 6 family whose attention (and `config.json` names) it shares.
    pub fn attention_family(self) -> Family {
        match self {
            MoeFamily::Mixtral => Family::Llama,
            MoeFamily::Qwen3Moe => Family::Qwen3,
        }
    }

    /// Where a layer keeps its feed-forward (`{layer}.{this}`).
    pub fn mlp_name(self) -> &'static str {
        match self {
            MoeFamily::Mixtral => "block_sparse_moe",
            MoeFamily::Qwen3Moe => "mlp",
        }
    }

    /// The names of an expert's gate, up and down projections.
    pub fn expert_names(self) -> [&'static str; 3] {
        match self {
            MoeFamily::Mixtral => ["w1", "w3", "w2"],
            MoeFamily::Qwen3Moe => ["gate_proj", "up_proj", "down_proj"],
        }
    }
}

/// A decoder whose feed-forward is a mixture of experts in some layers.
#[derive(Debug, Clone, PartialEq)]
pub struct MoeConfig {
    pub family: MoeFamily,
    /// Attention, norms, positions, vocabulary, and the width `d_ff` of the dense
    /// feed-forward of layers without experts (`intermediate_size`).
    pub decoder: DecoderConfig,
    /// Experts per MoE layer (`num_local_experts`, Qwen3-MoE's `num_experts`).
    pub n_experts: usize,
    /// Experts each token reads (`num_experts_per_tok`).
    pub top_k: usize,
    /// Divide the chosen experts' probabilities by their sum (always for Mixtral;
    /// `norm_topk_prob` for Qwen3-MoE).
    pub norm_topk_prob: bool,
    /// Hidden width of one expert (Mixtral: `intermediate_size`; Qwen3-MoE:
    /// `moe_intermediate_size`).
    pub expert_d_ff: usize,
    /// `moe_layers[i]`: layer `i` has experts (else chapter 6's SwiGLU of width `decoder.d_ff`).
    pub moe_layers: Vec<bool>,
}

impl MoeConfig {
    /// A tiny Mixtral for tests: `n_layers` layers of `n_experts` experts, `top_k` per token.
    pub fn tiny(family: MoeFamily, vocab_size: usize, d_model: usize, n_layers: usize, n_experts: usize, top_k: usize) -> Self {
        let decoder = DecoderConfig::tiny(family.attention_family(), vocab_size, d_model, n_layers, 4, 2);
        MoeConfig {
            family,
            expert_d_ff: decoder.d_ff / 2,
            decoder,
            n_experts,
            top_k,
            norm_topk_prob: family == MoeFamily::Mixtral,
            moe_layers: vec![true; n_layers],
        }
    }

    /// The random model of the binary without `--model`: a small Mixtral (4 layers, 256 wide,
    /// 8 query heads sharing 2 key/value heads, 8 experts of width 512, 2 per token, tied
    /// embeddings, 2048 positions).
    pub fn small_mixtral(vocab_size: usize) -> Self {
        let mut decoder = DecoderConfig::tiny(Family::Llama, vocab_size, 256, 4, 8, 2);
        decoder.d_ff = 512;
        decoder.context_length = 2048;
        decoder.tie_word_embeddings = true;
        decoder.rope.theta = 1e6;
        MoeConfig { family: MoeFamily::Mixtral, decoder, n_experts: 8, top_k: 2, norm_topk_prob: true, expert_d_ff: 512, moe_layers: vec![true; 4] }
    }

    /// Check that the numbers fit together (typed errors, no panic later).
    pub fn validate(&self) -> Result<()> {
        self.decoder.validate()?;
        let bad = |s: String| Err(Error::InvalidConfig(s));
        if self.moe_layers.len() != self.decoder.n_layers {
            return bad(format!("{} layers but {} MoE flags", self.decoder.n_layers, self.moe_layers.len()));
        }
        if self.moe_layers.iter().any(|&m| m) {
            if self.n_experts == 0 || self.expert_d_ff == 0 {
                return bad(format!("MoE layers need experts: {} experts of width {}", self.n_experts, self.expert_d_ff));
            }
            if self.top_k == 0 || self.top_k > self.n_experts {
                return bad(format!("num_experts_per_tok {} must be between 1 and the {} experts", self.top_k, self.n_experts));
            }
        }
        Ok(())
    }

    /// How many layers have experts.
    pub fn n_moe_layers(&self) -> usize {
        self.moe_layers.iter().filter(|&&m| m).count()
    }

    /// Parameters of the model (every expert counted).
    pub fn n_params(&self) -> usize {
        self.params_reading(self.n_experts)
    }

    /// Parameters one token reads: the router of each MoE layer, but only `top_k` experts.
    pub fn n_active_params(&self) -> usize {
        self.params_reading(self.top_k)
    }

    /// Chapter 6's count with each dense SwiGLU replaced by the router and `experts` experts.
    fn params_reading(&self, experts: usize) -> usize {
        let d = self.decoder.d_model;
        let dense_mlp = 3 * d * self.decoder.d_ff;
        let moe_mlp = self.n_experts * d + experts * 3 * d * self.expert_d_ff; // router + experts
        let n_moe = self.n_moe_layers();
        self.decoder.n_params() - n_moe * dense_mlp + n_moe * moe_mlp
    }

    /// Read `config.json` (a missing file or a bad field is one error naming the file).
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
        Self::from_hf_str(&text).map_err(|reason| Error::BadConfig { path: path.to_path_buf(), reason })
    }

    // ANCHOR: from_hf_str
    /// Parse the text of a Mixtral or Qwen3-MoE `config.json` (transformers 4 or 5).
    ///
    /// The attention half is read by chapter 6 as the family it shares (`llama`, `qwen3`), with
    /// the MoE config class's defaults filled in first where they differ from that family's.
    pub fn from_hf_str(text: &str) -> std::result::Result<Self, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut c = json.as_object().ok_or("expected a JSON object")?.clone();
        let family = match c.get("model_type").and_then(Value::as_str) {
            Some("mixtral") => MoeFamily::Mixtral,
            Some("qwen3_moe") => MoeFamily::Qwen3Moe,
            Some(t) => return Err(format!("model_type \"{t}\" is not a mixture of experts this chapter runs (supported: {SUPPORTED_MODEL_TYPES})")),
            None => return Err(format!("no model_type (supported: {SUPPORTED_MODEL_TYPES})")),
        };
        let defaults: &[(&str, Value)] = match family {
            // MixtralConfig: rms_norm_eps 1e-5, rope_theta 1e6, 8 kv heads, 4096 * 32 positions
            MoeFamily::Mixtral => &[
                ("rms_norm_eps", Value::from(1e-5)),
                ("rope_theta", Value::from(1e6)),
                ("num_key_value_heads", Value::from(8)),
                ("max_position_embeddings", Value::from(4096 * 32)),
            ],
            // Qwen3MoeConfig: 4 kv heads; head_dim is hidden_size / num_attention_heads
            MoeFamily::Qwen3Moe => &[("num_key_value_heads", Value::from(4))],
        };
        for (key, value) in defaults {
            if c.get(*key).is_none_or(Value::is_null) {
                c.insert(key.to_string(), value.clone());
            }
        }
        if family == MoeFamily::Qwen3Moe && c.get("head_dim").is_none_or(Value::is_null) {
            let (d, h) = (get_usize(&c, "hidden_size")?.unwrap_or(0), get_usize(&c, "num_attention_heads")?.unwrap_or(0));
            if h > 0 && d % h == 0 {
                c.insert("head_dim".into(), Value::from(d / h));
            }
        }
        // Mixtral's attention takes `sliding_window` as it is (Qwen3-MoE only with
        // `use_sliding_window: true`, which chapter 6 refuses); a window that covers the whole
        // context changes nothing
        if family == MoeFamily::Mixtral {
            if let Some(window) = get_usize(&c, "sliding_window")? {
                let context = get_usize(&c, "max_position_embeddings")?.unwrap_or(0);
                if window < context {
                    return Err(format!(
                        "sliding_window: {window} (sliding-window attention over {context} positions) is not supported"
                    ));
                }
            }
        }
        c.insert("model_type".into(), Value::from(family.attention_family().model_type()));
        let decoder = DecoderConfig::from_hf_str(&Value::Object(c.clone()).to_string())?;

        let n_layers = decoder.n_layers;
        let (n_experts, top_k, norm_topk_prob, expert_d_ff, moe_layers) = match family {
            MoeFamily::Mixtral => {
                let n_experts = get_usize(&c, "num_local_experts")?.unwrap_or(8);
                let top_k = get_usize(&c, "num_experts_per_tok")?.unwrap_or(2);
                (n_experts, top_k, true, decoder.d_ff, vec![true; n_layers])
            }
            MoeFamily::Qwen3Moe => {
                // transformers 5 writes `num_local_experts`; published configs say `num_experts`
                let n_experts = match get_usize(&c, "num_experts")? {
                    Some(n) => n,
                    None => get_usize(&c, "num_local_experts")?.unwrap_or(128),
                };
                let top_k = get_usize(&c, "num_experts_per_tok")?.unwrap_or(8);
                let norm = match c.get("norm_topk_prob") {
                    None | Some(Value::Null) => false,
                    Some(v) => v.as_bool().ok_or_else(|| format!("`norm_topk_prob` must be true or false, got {v}"))?,
                };
                let expert_d_ff = get_usize(&c, "moe_intermediate_size")?.unwrap_or(768);
                let step = get_usize(&c, "decoder_sparse_step")?.unwrap_or(1);
                if step == 0 {
                    return Err("decoder_sparse_step must be at least 1".into());
                }
                let dense_only: Vec<usize> = match c.get("mlp_only_layers") {
                    None | Some(Value::Null) => vec![],
                    Some(Value::Array(list)) => list
                        .iter()
                        .map(|v| v.as_u64().map(|n| n as usize).ok_or_else(|| format!("mlp_only_layers holds {v}, not a layer index")))
                        .collect::<std::result::Result<_, _>>()?,
                    Some(v) => return Err(format!("`mlp_only_layers` must be a list of layer indices, got {v}")),
                };
                // Qwen3MoeDecoderLayer: experts unless listed in mlp_only_layers, every `step`-th layer
                let moe_layers = (0..n_layers).map(|i| !dense_only.contains(&i) && n_experts > 0 && (i + 1) % step == 0).collect();
                (n_experts, top_k, norm, expert_d_ff, moe_layers)
            }
        };
        let config = MoeConfig { family, decoder, n_experts, top_k, norm_topk_prob, expert_d_ff, moe_layers };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
    // ANCHOR_END: from_hf_str
}

/// The `model_type` of a `config.json` text, if it names one this chapter runs.
pub fn is_moe_model_type(model_type: &str) -> bool {
    matches!(model_type, "mixtral" | "qwen3_moe")
}

fn get_usize(c: &Map<String, Value>, key: &str) -> std::result::Result<Option<usize>, String> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| format!("`{key}` must be a whole number >= 0, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mixtral-8x7B-v0.1's config.json as published (transformers 4 layout).
    pub(crate) const MIXTRAL_8X7B: &str = r#"{"architectures": ["MixtralForCausalLM"], "attention_dropout": 0.0,
        "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096,
        "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768,
        "model_type": "mixtral", "num_attention_heads": 32, "num_experts_per_tok": 2,
        "num_hidden_layers": 32, "num_key_value_heads": 8, "num_local_experts": 8,
        "output_router_logits": false, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
        "router_aux_loss_coef": 0.02, "sliding_window": null, "tie_word_embeddings": false,
        "torch_dtype": "bfloat16", "transformers_version": "4.36.0.dev0", "use_cache": true,
        "vocab_size": 32000}"#;

    /// Qwen3-30B-A3B's config.json as published.
    pub(crate) const QWEN3_30B_A3B: &str = r#"{"architectures": ["Qwen3MoeForCausalLM"], "attention_bias": false,
        "attention_dropout": 0.0, "bos_token_id": 151643, "decoder_sparse_step": 1,
        "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 2048,
        "initializer_range": 0.02, "intermediate_size": 6144, "max_position_embeddings": 40960,
        "max_window_layers": 48, "mlp_only_layers": [], "model_type": "qwen3_moe",
        "moe_intermediate_size": 768, "norm_topk_prob": true, "num_attention_heads": 32,
        "num_experts": 128, "num_experts_per_tok": 8, "num_hidden_layers": 48,
        "num_key_value_heads": 4, "output_router_logits": false, "rms_norm_eps": 1e-06,
        "rope_scaling": null, "rope_theta": 1000000.0, "router_aux_loss_coef": 0.001,
        "sliding_window": null, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
        "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false,
        "vocab_size": 151936}"#;

    #[test]
    fn mixtral_8x7b_has_47b_parameters_and_reads_13b() {
        let c = MoeConfig::from_hf_str(MIXTRAL_8X7B).unwrap();
        assert_eq!((c.family, c.n_experts, c.top_k, c.expert_d_ff), (MoeFamily::Mixtral, 8, 2, 14336));
        assert!(c.norm_topk_prob && c.moe_layers.iter().all(|&m| m));
        assert_eq!((c.decoder.n_kv_heads, c.decoder.head_dim, c.decoder.family), (8, 128, Family::Llama));
        // Mistral AI's announcement: 46.7B parameters in total, 12.9B used per token. By hand:
        // a layer's attention 2 x 4096 x (4096 + 1024) = 41,943,040, two norms 8,192, router
        // 8 x 4096 = 32,768, one expert 3 x 4096 x 14336 = 176,160,768; embedding and head
        // 2 x 32000 x 4096 = 262,144,000, final norm 4,096.
        // all 8 experts: 32 x (41,943,040 + 8,192 + 32,768 + 8 x 176,160,768) + 262,148,096
        assert_eq!(c.n_params(), 46_702_792_704);
        // 2 experts: 32 x (41,943,040 + 8,192 + 32,768 + 2 x 176,160,768) + 262,148,096
        assert_eq!(c.n_active_params(), 12_879_925_248);
    }

    #[test]
    fn qwen3_30b_a3b_has_30b_parameters_and_reads_3b() {
        let c = MoeConfig::from_hf_str(QWEN3_30B_A3B).unwrap();
        assert_eq!((c.family, c.n_experts, c.top_k, c.expert_d_ff), (MoeFamily::Qwen3Moe, 128, 8, 768));
        assert!(c.norm_topk_prob && c.decoder.qk_norm);
        assert_eq!(c.n_moe_layers(), 48);
        // Qwen's model card: 30.5B in total, 3.3B activated. By hand: a layer's attention
        // 2048 x (4096 + 2 x 512) + 4096 x 2048 = 18,874,368, q/k norms 256, two norms 4,096,
        // router 128 x 2048 = 262,144, one expert 3 x 2048 x 768 = 4,718,592; embedding and
        // head 2 x 151936 x 2048 = 622,329,856, final norm 2,048.
        assert_eq!(c.n_params(), 48 * (18_874_368 + 256 + 4_096 + 262_144 + 128 * 4_718_592) + 622_331_904);
        assert_eq!(c.n_params(), 30_532_122_624);
        assert_eq!(c.n_active_params(), 3_353_032_704); // 8 experts of 128
    }

    #[test]
    fn sparse_step_and_mlp_only_layers_choose_the_moe_layers() {
        let text = QWEN3_30B_A3B
            .replace("\"decoder_sparse_step\": 1", "\"decoder_sparse_step\": 2")
            .replace("\"mlp_only_layers\": []", "\"mlp_only_layers\": [3, 5]");
        let c = MoeConfig::from_hf_str(&text).unwrap();
        // (i + 1) % 2 == 0: layers 1, 3, 5, 7, ...; then 3 and 5 are dense
        assert_eq!(&c.moe_layers[..8], &[false, true, false, false, false, false, false, true]);
        assert_eq!(c.n_moe_layers(), 22);
    }

    #[test]
    fn a_sliding_window_is_a_clear_error() {
        let err = MoeConfig::from_hf_str(&MIXTRAL_8X7B.replace("\"sliding_window\": null", "\"sliding_window\": 4096")).unwrap_err();
        assert!(err.contains("sliding_window: 4096") && err.contains("not supported"), "{err}");
        // a window as long as the context changes nothing
        assert!(MoeConfig::from_hf_str(&MIXTRAL_8X7B.replace("\"sliding_window\": null", "\"sliding_window\": 32768")).is_ok());
        let err = MoeConfig::from_hf_str(&QWEN3_30B_A3B.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true")).unwrap_err();
        assert!(err.contains("sliding"), "{err}");
    }

    #[test]
    fn other_model_types_and_bad_fields_are_errors() {
        let err = MoeConfig::from_hf_str(&MIXTRAL_8X7B.replace("\"mixtral\"", "\"llama\"")).unwrap_err();
        assert!(err.contains("mixtral, qwen3_moe"), "{err}");
        let err = MoeConfig::from_hf_str(&MIXTRAL_8X7B.replace("\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 9")).unwrap_err();
        assert!(err.contains("num_experts_per_tok 9"), "{err}");
        assert!(MoeConfig::from_hf_str(&QWEN3_30B_A3B.replace("\"mlp_only_layers\": []", "\"mlp_only_layers\": [\"x\"]")).is_err());
    }
}
