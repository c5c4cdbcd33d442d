//! The dimensions and choices of a Llama, Qwen2, Qwen3 or GPT-NeoX model, read from a Hugging
//! Face `config.json`.
//!
//! One struct covers the four families: they differ in a few switches (which norm, which MLP,
//! parallel or sequential residual, biases, Qwen3's q/k norm) and in the names and defaults of
//! their `config.json` fields. The defaults below are those of transformers' config classes
//! (`LlamaConfig`, `Qwen2Config`, `Qwen3Config`, `GPTNeoXConfig`), used when a field is absent.

use crate::rope::{Llama3Scaling, Rope, RopeConfig};
use serde_json::{Map, Value};
use shared::{Error, Result};
use std::path::Path;

/// The `model_type` values this chapter runs.
pub const SUPPORTED_MODEL_TYPES: &str = "llama, qwen2, qwen3, gpt_neox";

/// Which architecture a `config.json` describes (its `model_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `llama`: Llama 2/3, SmolLM, TinyLlama, ...
    Llama,
    /// `qwen2`: like Llama, with biases on the q, k and v projections.
    Qwen2,
    /// `qwen3`: like Llama, with an RMSNorm on each head's queries and keys.
    Qwen3,
    /// `gpt_neox`: Pythia. LayerNorm, GELU MLP, partial rotary, parallel residual.
    GptNeoX,
}

impl Family {
    /// The `model_type` string of `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Qwen2 => "qwen2",
            Family::Qwen3 => "qwen3",
            Family::GptNeoX => "gpt_neox",
        }
    }

    /// The family of a `model_type` string; `None` when this chapter does not run it.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        [Family::Llama, Family::Qwen2, Family::Qwen3, Family::GptNeoX]
            .into_iter()
            .find(|f| f.model_type() == model_type)
    }
}

/// The MLP's activation (`hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `"silu"`: the gate of the SwiGLU MLP (Llama, Qwen).
    Silu,
    /// `"gelu"`: the exact GELU, `0.5 x (1 + erf(x / sqrt 2))` (GPT-NeoX).
    GeluErf,
}

/// Everything the decoder needs to know about its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    pub family: Family,
    /// Number of token ids (`vocab_size`).
    pub vocab_size: usize,
    /// Width of the residual stream (`hidden_size`).
    pub d_model: usize,
    /// Number of blocks (`num_hidden_layers`).
    pub n_layers: usize,
    /// Query heads (`num_attention_heads`).
    pub n_heads: usize,
    /// Key/value heads (`num_key_value_heads`; GQA when fewer than `n_heads`).
    pub n_kv_heads: usize,
    /// Width of one head (`head_dim`, else `hidden_size / num_attention_heads`).
    pub head_dim: usize,
    /// Hidden width of the MLP (`intermediate_size`).
    pub d_ff: usize,
    /// Epsilon of every norm (`rms_norm_eps`, GPT-NeoX's `layer_norm_eps`).
    pub norm_eps: f64,
    /// Longest sequence (`max_position_embeddings`).
    pub context_length: usize,
    /// The LM head is the token embedding (`tie_word_embeddings`).
    pub tie_word_embeddings: bool,
    /// The rotary embedding: theta, rotating fraction, Llama 3 scaling.
    pub rope: RopeConfig,
    /// GPT-NeoX's `use_parallel_residual`: `x + attn(ln1(x)) + mlp(ln2(x))`.
    pub parallel_residual: bool,
    pub activation: Activation,
    /// Biases on the q, k and v projections (Qwen2 always; `attention_bias` elsewhere).
    pub qkv_bias: bool,
    /// Bias on the output projection (`attention_bias` for Llama, Qwen3 and GPT-NeoX).
    pub o_bias: bool,
    /// Biases in the MLP (Llama's `mlp_bias`; GPT-NeoX always).
    pub mlp_bias: bool,
    /// Qwen3's RMSNorm on each head's queries and keys.
    pub qk_norm: bool,
    pub bos_token_id: Option<u32>,
    /// The first of `eos_token_id` when it is a list.
    pub eos_token_id: Option<u32>,
}

impl DecoderConfig {
    /// SmolLM2-135M's shape (a Llama): 30 layers, 576 wide, 9 query heads sharing 3 key/value
    /// heads, tied embeddings.
    pub fn smollm2_135m() -> Self {
        DecoderConfig {
            family: Family::Llama,
            vocab_size: 49152,
            d_model: 576,
            n_layers: 30,
            n_heads: 9,
            n_kv_heads: 3,
            head_dim: 64,
            d_ff: 1536,
            norm_eps: 1e-5,
            context_length: 8192,
            tie_word_embeddings: true,
            rope: RopeConfig::new(64, 100000.0),
            parallel_residual: false,
            activation: Activation::Silu,
            qkv_bias: false,
            o_bias: false,
            mlp_bias: false,
            qk_norm: false,
            bos_token_id: Some(1),
            eos_token_id: Some(2),
        }
    }

    /// A tiny model of `family` for tests: `d_model` wide, `n_heads` query heads over `n_kv_heads`,
    /// head_dim `d_model / n_heads`, 64 positions, the family's switches (NeoX: half the head
    /// rotates, parallel residual, biases; Qwen2: q/k/v biases; Qwen3: q/k norm).
    pub fn tiny(family: Family, vocab_size: usize, d_model: usize, n_layers: usize, n_heads: usize, n_kv_heads: usize) -> Self {
        let head_dim = d_model / n_heads.max(1);
        let neox = family == Family::GptNeoX;
        DecoderConfig {
            family,
            vocab_size,
            d_model,
            n_layers,
            n_heads,
            n_kv_heads,
            head_dim,
            d_ff: if neox { 4 * d_model } else { 3 * d_model },
            norm_eps: 1e-5,
            context_length: 64,
            tie_word_embeddings: false,
            rope: RopeConfig { partial_rotary_factor: if neox { 0.5 } else { 1.0 }, ..RopeConfig::new(head_dim, 10000.0) },
            parallel_residual: neox,
            activation: if neox { Activation::GeluErf } else { Activation::Silu },
            qkv_bias: family == Family::Qwen2 || neox,
            o_bias: neox,
            mlp_bias: neox,
            qk_norm: family == Family::Qwen3,
            bos_token_id: None,
            eos_token_id: None,
        }
    }

    /// Number of parameters (weights, biases and norms; a tied LM head counted once).
    pub fn n_params(&self) -> usize {
        let (d, hd, ff) = (self.d_model, self.head_dim, self.d_ff);
        let (q, kv) = (self.n_heads * hd, self.n_kv_heads * hd);
        let neox = self.family == Family::GptNeoX;
        let qkv = d * (q + 2 * kv) + if self.qkv_bias { q + 2 * kv } else { 0 };
        let o = q * d + if self.o_bias { d } else { 0 };
        let mlp = if neox { 2 * d * ff } else { 3 * d * ff } + if self.mlp_bias { if neox { ff + d } else { 2 * ff + d } } else { 0 };
        let norm = if neox { 2 * d } else { d }; // LayerNorm has a bias
        let qk_norm = if self.qk_norm { 2 * hd } else { 0 };
        let head = if self.tie_word_embeddings { 0 } else { self.vocab_size * d };
        self.vocab_size * d + self.n_layers * (qkv + o + mlp + 2 * norm + qk_norm) + norm + head
    }

    /// Check that the numbers fit together (typed errors, no panic later).
    pub fn validate(&self) -> Result<()> {
        let bad = |s: String| Err(Error::InvalidConfig(s));
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.d_model),
            ("num_hidden_layers", self.n_layers),
            ("num_attention_heads", self.n_heads),
            ("num_key_value_heads", self.n_kv_heads),
            ("head_dim", self.head_dim),
            ("intermediate_size", self.d_ff),
            ("max_position_embeddings", self.context_length),
        ] {
            if v == 0 {
                return bad(format!("{name} must be at least 1, got 0"));
            }
        }
        if !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.n_heads, self.n_kv_heads
            ));
        }
        if self.family == Family::GptNeoX && self.n_kv_heads != self.n_heads {
            return bad(format!("gpt_neox has no grouped-query attention: {} kv heads for {} heads", self.n_kv_heads, self.n_heads));
        }
        if self.family == Family::GptNeoX && self.n_heads * self.head_dim != self.d_model {
            return bad(format!("gpt_neox: hidden_size {} is not num_attention_heads {} x head_dim {}", self.d_model, self.n_heads, self.head_dim));
        }
        if !(self.norm_eps.is_finite() && self.norm_eps > 0.0) {
            return bad(format!("the norm epsilon must be a finite number > 0, got {}", self.norm_eps));
        }
        if self.rope.head_dim != self.head_dim {
            return bad(format!("rope head_dim {} differs from head_dim {}", self.rope.head_dim, self.head_dim));
        }
        Rope::new(&self.rope)?; // theta, rotating fraction, even rotary dim, scaling
        Ok(())
    }

    /// Read `config.json` (a missing file or a bad field is one error naming the file).
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
        Self::from_hf_str(&text).map_err(|reason| Error::BadConfig { path: path.to_path_buf(), reason })
    }

    /// Parse the text of a Hugging Face `config.json` (transformers 4 or 5).
    pub fn from_hf_str(text: &str) -> std::result::Result<Self, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let c = json.as_object().ok_or("expected a JSON object")?;
        let family = match c.get("model_type").and_then(Value::as_str) {
            Some(t) => Family::from_model_type(t)
                .ok_or_else(|| format!("model_type \"{t}\" is not supported (supported: {SUPPORTED_MODEL_TYPES})"))?,
            None => return Err(format!("no model_type (supported: {SUPPORTED_MODEL_TYPES})")),
        };
        let neox = family == Family::GptNeoX;
        let qwen = matches!(family, Family::Qwen2 | Family::Qwen3);

        if get_bool(c, "use_sliding_window")?.unwrap_or(false) {
            return Err("use_sliding_window: true (sliding-window attention) is not supported".into());
        }
        if let Some(types) = c.get("layer_types").and_then(Value::as_array) {
            if let Some(t) = types.iter().find(|t| t.as_str() != Some("full_attention")) {
                return Err(format!("layer_types holds {t}: only \"full_attention\" layers are supported"));
            }
        }

        let d_model = need_usize(c, "hidden_size")?;
        let n_heads = need_usize(c, "num_attention_heads")?;
        // transformers' defaults: Qwen2/Qwen3 `num_key_value_heads = 32`, Qwen3 `head_dim = 128`
        let n_kv_heads = match (get_usize(c, "num_key_value_heads")?, family) {
            (Some(n), _) => n,
            (None, Family::Qwen2 | Family::Qwen3) => 32,
            (None, _) => n_heads,
        };
        let head_dim = match (get_usize(c, "head_dim")?, family) {
            (Some(d), _) => d,
            (None, Family::Qwen3) => 128,
            (None, _) => {
                if n_heads == 0 || d_model % n_heads != 0 {
                    return Err(format!("hidden_size {d_model} is not a multiple of num_attention_heads {n_heads}"));
                }
                d_model / n_heads
            }
        };
        let activation = match (get_str(c, "hidden_act")?, neox) {
            (None, false) | (Some("silu"), false) => Activation::Silu,
            (None, true) | (Some("gelu"), true) => Activation::GeluErf,
            (Some(other), _) => {
                let want = if neox { "\"gelu\"" } else { "\"silu\"" };
                return Err(format!("hidden_act \"{other}\" is not supported ({} uses {want})", family.model_type()));
            }
        };
        let attention_bias = get_bool(c, "attention_bias")?.unwrap_or(neox); // NeoX default true
        if get_bool(c, "mlp_bias")?.unwrap_or(false) && family != Family::Llama {
            return Err("mlp_bias: true is only supported for llama".into());
        }
        let norm_eps = if neox {
            get_f64(c, "layer_norm_eps")?.unwrap_or(1e-5)
        } else {
            get_f64(c, "rms_norm_eps")?.unwrap_or(1e-6)
        };
        let context_length = get_usize(c, "max_position_embeddings")?.unwrap_or(if qwen { 32768 } else { 2048 });
        let config = DecoderConfig {
            family,
            vocab_size: need_usize(c, "vocab_size")?,
            d_model,
            n_layers: need_usize(c, "num_hidden_layers")?,
            n_heads,
            n_kv_heads,
            head_dim,
            d_ff: need_usize(c, "intermediate_size")?,
            norm_eps,
            context_length,
            tie_word_embeddings: get_bool(c, "tie_word_embeddings")?.unwrap_or(false),
            rope: rope_config(c, family, head_dim)?,
            parallel_residual: neox && get_bool(c, "use_parallel_residual")?.unwrap_or(true),
            activation,
            qkv_bias: family == Family::Qwen2 || attention_bias,
            o_bias: family != Family::Qwen2 && attention_bias,
            mlp_bias: neox || get_bool(c, "mlp_bias")?.unwrap_or(false),
            qk_norm: family == Family::Qwen3,
            bos_token_id: token_id(c, "bos_token_id")?,
            eos_token_id: token_id(c, "eos_token_id")?,
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// The rotary embedding from `rope_parameters` (transformers 5) or `rope_theta` +
/// `rope_scaling` (transformers 4), and GPT-NeoX's `rotary_emb_base` / `rotary_pct`.
fn rope_config(c: &Map<String, Value>, family: Family, head_dim: usize) -> std::result::Result<RopeConfig, String> {
    let params = match (c.get("rope_parameters"), c.get("rope_scaling")) {
        (Some(Value::Object(p)), _) => Some(p),
        (_, Some(Value::Object(p))) => Some(p),
        (None | Some(Value::Null), None | Some(Value::Null)) => None,
        _ => return Err("rope_parameters / rope_scaling must be an object".into()),
    };
    let from_params = |key: &str| -> std::result::Result<Option<f64>, String> {
        match params {
            Some(p) => get_f64(p, key),
            None => Ok(None),
        }
    };
    let theta = match from_params("rope_theta")? {
        Some(t) => t,
        None => get_f64(c, "rope_theta")?.or(get_f64(c, "rotary_emb_base")?).unwrap_or(10000.0),
    };
    let partial = match from_params("partial_rotary_factor")? {
        Some(p) => p,
        None => get_f64(c, "partial_rotary_factor")?
            .or(get_f64(c, "rotary_pct")?)
            .unwrap_or(if family == Family::GptNeoX { 0.25 } else { 1.0 }),
    };
    let rope_type = match params {
        Some(p) => get_str(p, "rope_type")?.or(get_str(p, "type")?).unwrap_or("default"),
        None => "default",
    };
    let llama3 = match rope_type {
        "default" => None,
        "llama3" => {
            let p = params.expect("rope_type came from params");
            let need = |key: &str| get_f64(p, key)?.ok_or_else(|| format!("rope_type llama3 needs `{key}`"));
            Some(Llama3Scaling {
                factor: need("factor")?,
                low_freq_factor: need("low_freq_factor")?,
                high_freq_factor: need("high_freq_factor")?,
                original_max_position_embeddings: get_usize(p, "original_max_position_embeddings")?
                    .ok_or("rope_type llama3 needs `original_max_position_embeddings`")?,
            })
        }
        other => return Err(format!("rope_type \"{other}\" is not supported (supported: default, llama3)")),
    };
    Ok(RopeConfig { head_dim, theta, partial_rotary_factor: partial, llama3 })
}

fn need_usize(c: &Map<String, Value>, key: &str) -> std::result::Result<usize, String> {
    get_usize(c, key)?.ok_or_else(|| format!("missing field `{key}`"))
}

fn get_usize(c: &Map<String, Value>, key: &str) -> std::result::Result<Option<usize>, String> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| format!("`{key}` must be a whole number >= 0, got {v}")),
    }
}

fn get_f64(c: &Map<String, Value>, key: &str) -> std::result::Result<Option<f64>, String> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| format!("`{key}` must be a number, got {v}")),
    }
}

fn get_bool(c: &Map<String, Value>, key: &str) -> std::result::Result<Option<bool>, String> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or_else(|| format!("`{key}` must be true or false, got {v}")),
    }
}

fn get_str<'a>(c: &'a Map<String, Value>, key: &str) -> std::result::Result<Option<&'a str>, String> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| format!("`{key}` must be a string, got {v}")),
    }
}

/// A token id, or the first of a list of them (`"eos_token_id": [128001, 128008, 128009]`).
fn token_id(c: &Map<String, Value>, key: &str) -> std::result::Result<Option<u32>, String> {
    let v = match c.get(key) {
        Some(Value::Array(list)) => list.first(),
        other => other,
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a token id, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M's config.json as published (transformers 4 layout).
    const SMOLLM2: &str = r#"{"architectures": ["LlamaForCausalLM"], "attention_bias": false,
        "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu",
        "hidden_size": 576, "initializer_range": 0.041666666666666664, "intermediate_size": 1536,
        "is_llama_config": true, "max_position_embeddings": 8192, "model_type": "llama",
        "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_interleaved": false,
        "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
        "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true,
        "vocab_size": 49152}"#;

    #[test]
    fn reads_smollm2() {
        let c = DecoderConfig::from_hf_str(SMOLLM2).unwrap();
        let want = DecoderConfig { bos_token_id: Some(0), eos_token_id: Some(0), ..DecoderConfig::smollm2_135m() };
        assert_eq!(c, want);
    }

    #[test]
    fn parameter_counts_of_published_models() {
        // SmolLM2-135M: 134,515,008 parameters; Pythia-70m: 70,426,624 (as PyTorch counts them)
        assert_eq!(DecoderConfig::smollm2_135m().n_params(), 134_515_008);
        let pythia = DecoderConfig::from_hf_str(PYTHIA_70M).unwrap();
        assert_eq!(pythia.n_params(), 70_426_624);
    }

    /// EleutherAI/pythia-70m's config.json (abridged to the fields that matter).
    const PYTHIA_70M: &str = r#"{"model_type": "gpt_neox", "hidden_act": "gelu", "hidden_size": 512,
        "intermediate_size": 2048, "layer_norm_eps": 1e-05, "max_position_embeddings": 2048,
        "num_attention_heads": 8, "num_hidden_layers": 6, "rotary_emb_base": 10000,
        "rotary_pct": 0.25, "tie_word_embeddings": false, "use_parallel_residual": true,
        "vocab_size": 50304, "bos_token_id": 0, "eos_token_id": 0}"#;

    #[test]
    fn reads_pythia_with_its_neox_names() {
        let c = DecoderConfig::from_hf_str(PYTHIA_70M).unwrap();
        assert_eq!((c.family, c.head_dim, c.n_kv_heads, c.rope.rotary_dim()), (Family::GptNeoX, 64, 8, 16));
        assert!(c.parallel_residual && c.qkv_bias && c.o_bias && c.mlp_bias && !c.tie_word_embeddings);
        assert_eq!(c.activation, Activation::GeluErf);
        assert_eq!(c.rope.theta, 10000.0);
    }

    #[test]
    fn reads_transformers_5_rope_parameters_and_llama3_scaling() {
        // Llama 3.2 1B's rope, in transformers 5's `rope_parameters`; eos is a list
        let c = DecoderConfig::from_hf_str(
            r#"{"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192,
            "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 16,
            "head_dim": 64, "vocab_size": 128256, "max_position_embeddings": 131072,
            "rms_norm_eps": 1e-05, "tie_word_embeddings": true,
            "eos_token_id": [128001, 128008, 128009], "bos_token_id": 128000,
            "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
            "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}"#,
        )
        .unwrap();
        assert_eq!(c.rope.theta, 500000.0);
        assert_eq!(c.eos_token_id, Some(128001));
        let s = c.rope.llama3.unwrap();
        assert_eq!((s.factor, s.original_max_position_embeddings), (32.0, 8192));
    }

    #[test]
    fn qwen_biases_and_norms_follow_the_family() {
        let base = r#""hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": 1, "vocab_size": 10"#;
        let qwen2 = DecoderConfig::from_hf_str(&format!(r#"{{"model_type": "qwen2", {base}}}"#)).unwrap();
        assert!(qwen2.qkv_bias && !qwen2.o_bias && !qwen2.qk_norm);
        assert_eq!((qwen2.head_dim, qwen2.norm_eps, qwen2.context_length), (8, 1e-6, 32768));
        let qwen3 = DecoderConfig::from_hf_str(&format!(r#"{{"model_type": "qwen3", "head_dim": 16, {base}}}"#)).unwrap();
        assert!(!qwen3.qkv_bias && qwen3.qk_norm);
        assert_eq!(qwen3.head_dim, 16); // explicit, not 32 / 4
        let llama = DecoderConfig::from_hf_str(&format!(r#"{{"model_type": "llama", "attention_bias": true, {base}}}"#)).unwrap();
        assert!(llama.qkv_bias && llama.o_bias && !llama.tie_word_embeddings);
    }

    #[test]
    fn every_bad_config_is_one_clear_error() {
        let base = r#""hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1, "vocab_size": 10"#;
        // later keys win: each case overrides the base
        let err = |extra: &str| DecoderConfig::from_hf_str(&format!("{{{base}{extra}}}")).unwrap_err();
        let e = err(r#", "model_type": "gpt2""#);
        assert!(e.contains("\"gpt2\" is not supported") && e.contains(SUPPORTED_MODEL_TYPES), "{e}");
        assert!(err("").contains("no model_type (supported: llama, qwen2, qwen3, gpt_neox)"));
        assert!(err(r#", "model_type": "qwen2", "use_sliding_window": true"#).contains("sliding-window"));
        assert!(err(r#", "model_type": "qwen2", "num_key_value_heads": 4, "layer_types": ["sliding_attention"]"#).contains("full_attention"));
        let e = err(r#", "model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 4.0}"#);
        assert!(e.contains("rope_type \"yarn\" is not supported (supported: default, llama3)"), "{e}");
        assert!(err(r#", "model_type": "llama", "rope_parameters": {"rope_type": "llama3", "factor": 8.0}"#).contains("needs `low_freq_factor`"));
        assert!(err(r#", "model_type": "llama", "hidden_act": "gelu""#).contains("hidden_act \"gelu\" is not supported"));
        assert!(err(r#", "model_type": "gpt_neox", "hidden_act": "gelu_new""#).contains("uses \"gelu\""));
        assert!(err(r#", "model_type": "llama", "num_key_value_heads": 3"#).contains("not a multiple of num_key_value_heads 3"));
        assert!(err(r#", "model_type": "llama", "num_key_value_heads": 0"#).contains("num_key_value_heads must be at least 1"));
        assert!(err(r#", "model_type": "llama", "head_dim": 5"#).contains("must be even"));
        assert!(err(r#", "model_type": "gpt_neox", "rotary_pct": 0.1"#).contains("must be even")); // int(8 * 0.1) = 0
        assert!(err(r#", "model_type": "llama", "rms_norm_eps": -1"#).contains("epsilon"));
        assert!(err(r#", "model_type": "llama", "rope_theta": 0"#).contains("rope_theta"));
        assert!(err(r#", "model_type": "llama", "vocab_size": -3"#).contains("whole number"));
        assert!(err(r#", "model_type": "llama", "eos_token_id": "x""#).contains("token id"));
        assert!(DecoderConfig::from_hf_str(r#"{"model_type": "llama", "hidden_size": 32}"#).unwrap_err().contains("missing field `num_attention_heads`"));
        assert!(DecoderConfig::from_hf_str("[1]").unwrap_err().contains("object"));
    }
}
