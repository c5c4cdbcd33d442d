//! Writing a model as a Hugging Face folder (`config.json` + `model.safetensors`, f32), in the
//! tensor layout of its family: how tests and tools make small checkpoints to load back.

use crate::attention::RotaryAttention;
use crate::config::{Activation, DecoderConfig, Family};
use crate::feed_forward::FeedForward;
use crate::model::Decoder;
use crate::norm::Norm;
use ndarray::{s, Array2, ArrayView2, ArrayViewD};
use shared::{Float, Linear, Result};
use std::path::Path;

/// The inverse of [`crate::attention::neox_qkv_to_fused`]: rows `[q heads | k heads | v heads]`
/// back to GPT-NeoX's per-head `[h0: q k v | h1: q k v | ...]`.
pub fn fused_to_neox_qkv<F: Float>(w: ArrayView2<F>, n_heads: usize, head_dim: usize) -> Array2<F> {
    let mut out = Array2::zeros(w.dim());
    for part in 0..3 {
        for h in 0..n_heads {
            let fused = (part * n_heads + h) * head_dim;
            let neox = (3 * h + part) * head_dim;
            out.slice_mut(s![neox..neox + head_dim, ..]).assign(&w.slice(s![fused..fused + head_dim, ..]));
        }
    }
    out
}

/// name, shape, f32 values
type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

fn put<F: Float>(tensors: &mut Tensors, name: String, a: ArrayViewD<F>) {
    tensors.push((name, a.shape().to_vec(), a.iter().map(|x| x.as_f64() as f32).collect()));
}

fn put_linear<F: Float>(tensors: &mut Tensors, name: &str, l: &Linear<F>) {
    put(tensors, format!("{name}.weight"), l.weight_widened().view().into_dyn());
    if let Some(b) = &l.bias {
        put(tensors, format!("{name}.bias"), b.view().into_dyn());
    }
}

fn put_norm<F: Float>(tensors: &mut Tensors, name: &str, norm: &Norm<F>) {
    match norm {
        Norm::Rms(n) => put(tensors, format!("{name}.weight"), n.weight.view().into_dyn()),
        Norm::Layer(n) => {
            put(tensors, format!("{name}.weight"), n.weight.view().into_dyn());
            put(tensors, format!("{name}.bias"), n.bias.view().into_dyn());
        }
    }
}

impl<F: Float> Decoder<F, RotaryAttention<F>> {
    /// Write `config.json` and `model.safetensors` (f32) as transformers would, each atomically.
    pub fn save_pretrained(&self, dir: &Path) -> Result<()> {
        let c = &self.config;
        let neox = c.family == Family::GptNeoX;
        let layers = if neox { "gpt_neox.layers" } else { "model.layers" };
        let mut t: Tensors = vec![];
        let embed = if neox { "gpt_neox.embed_in.weight" } else { "model.embed_tokens.weight" };
        put(&mut t, embed.into(), self.embed_tokens.weight_widened().view().into_dyn());
        for (i, b) in self.blocks.iter().enumerate() {
            let layer = format!("{layers}.{i}");
            put_norm(&mut t, &format!("{layer}.input_layernorm"), &b.input_norm);
            put_norm(&mut t, &format!("{layer}.post_attention_layernorm"), &b.post_attention_norm);
            let mha = &b.attn.mha;
            let (hd, q_rows, kv_rows) = (mha.head_dim, mha.n_heads * mha.head_dim, mha.n_kv_heads * mha.head_dim);
            if neox {
                let w = fused_to_neox_qkv(mha.c_attn.weight_widened().view(), mha.n_heads, hd);
                put(&mut t, format!("{layer}.attention.query_key_value.weight"), w.view().into_dyn());
                if let Some(bias) = &mha.c_attn.bias {
                    let col = bias.view().insert_axis(ndarray::Axis(1));
                    let b = fused_to_neox_qkv(col, mha.n_heads, hd);
                    put(&mut t, format!("{layer}.attention.query_key_value.bias"), b.column(0).into_dyn());
                }
                put_linear(&mut t, &format!("{layer}.attention.dense"), &mha.c_proj);
            } else {
                let attn = format!("{layer}.self_attn");
                for (name, rows) in [("q_proj", 0..q_rows), ("k_proj", q_rows..q_rows + kv_rows), ("v_proj", q_rows + kv_rows..q_rows + 2 * kv_rows)] {
                    put_linear(&mut t, &format!("{attn}.{name}"), &mha.c_attn.rows(rows));
                }
                put_linear(&mut t, &format!("{attn}.o_proj"), &mha.c_proj);
                for (name, norm) in [("q_norm", &b.attn.q_norm), ("k_norm", &b.attn.k_norm)] {
                    if let Some(n) = norm {
                        put(&mut t, format!("{attn}.{name}.weight"), n.weight.view().into_dyn());
                    }
                }
            }
            match &b.mlp {
                FeedForward::SwiGlu(m) => {
                    put_linear(&mut t, &format!("{layer}.mlp.gate_proj"), &m.projection(false));
                    put_linear(&mut t, &format!("{layer}.mlp.up_proj"), &m.projection(true));
                    put_linear(&mut t, &format!("{layer}.mlp.down_proj"), &m.down);
                }
                FeedForward::Gelu(m) => {
                    put_linear(&mut t, &format!("{layer}.mlp.dense_h_to_4h"), &m.dense_h_to_4h);
                    put_linear(&mut t, &format!("{layer}.mlp.dense_4h_to_h"), &m.dense_4h_to_h);
                }
            }
        }
        put_norm(&mut t, if neox { "gpt_neox.final_layer_norm" } else { "model.norm" }, &self.norm);
        if let Some(head) = &self.lm_head {
            put_linear(&mut t, if neox { "embed_out" } else { "lm_head" }, head);
        }
        shared::checkpoint::save_f32(&dir.join("model.safetensors"), &t)?;
        let text = serde_json::to_string_pretty(&hf_config_json(c)).expect("plain json");
        shared::write_atomic(&dir.join("config.json"), text.as_bytes())
    }
}

/// `config.json` in transformers 5's layout (`rope_parameters`).
pub fn hf_config_json(c: &DecoderConfig) -> serde_json::Value {
    let mut rope = serde_json::json!({ "rope_type": "default", "rope_theta": c.rope.theta });
    if c.rope.partial_rotary_factor != 1.0 {
        rope["partial_rotary_factor"] = c.rope.partial_rotary_factor.into();
    }
    if let Some(s) = &c.rope.llama3 {
        rope["rope_type"] = "llama3".into();
        rope["factor"] = s.factor.into();
        rope["low_freq_factor"] = s.low_freq_factor.into();
        rope["high_freq_factor"] = s.high_freq_factor.into();
        rope["original_max_position_embeddings"] = s.original_max_position_embeddings.into();
    }
    let architecture = match c.family {
        Family::Llama => "LlamaForCausalLM",
        Family::Qwen2 => "Qwen2ForCausalLM",
        Family::Qwen3 => "Qwen3ForCausalLM",
        Family::GptNeoX => "GPTNeoXForCausalLM",
    };
    let mut json = serde_json::json!({
        "model_type": c.family.model_type(),
        "architectures": [architecture],
        "vocab_size": c.vocab_size,
        "hidden_size": c.d_model,
        "intermediate_size": c.d_ff,
        "num_hidden_layers": c.n_layers,
        "num_attention_heads": c.n_heads,
        "max_position_embeddings": c.context_length,
        "tie_word_embeddings": c.tie_word_embeddings,
        "rope_parameters": rope,
        "hidden_act": match c.activation { Activation::Silu => "silu", Activation::GeluErf => "gelu" },
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
    });
    if c.family == Family::GptNeoX {
        json["layer_norm_eps"] = c.norm_eps.into();
        json["use_parallel_residual"] = c.parallel_residual.into();
        json["attention_bias"] = c.qkv_bias.into();
    } else {
        json["rms_norm_eps"] = c.norm_eps.into();
        json["num_key_value_heads"] = c.n_kv_heads.into();
        json["head_dim"] = c.head_dim.into();
        if c.family != Family::Qwen2 {
            json["attention_bias"] = c.qkv_bias.into();
        }
        if c.family == Family::Llama {
            json["mlp_bias"] = c.mlp_bias.into();
        }
    }
    json
}
