//! The MoE model: chapter 6's [`Decoder`] with [`MoeFeedForward`] as its feed-forward.
//! Attention, norms, rotation, LM head and the loading of all of them are chapter 6's; this
//! file reads only what is new, the router and the experts.

use crate::config::MoeConfig;
use crate::experts::SparseMoe;
use crate::feed_forward::MoeFeedForward;
use crate::router::Router;
use ch06_llama_qwen::{Decoder, RotaryAttention, SwiGlu};
use ndarray_rand::rand::Rng;
use shared::{Checkpoint, Float, Linear, Result};
use std::path::Path;

// ANCHOR: alias
/// Mixtral or Qwen3-MoE: chapter 6's decoder whose blocks hold [`MoeFeedForward`]s. `A` is the
/// attention (chapter 8 swaps in a cached one, unchanged).
pub type MoeDecoder<F, A = RotaryAttention<F>> = Decoder<F, A, MoeFeedForward<F>>;
// ANCHOR_END: alias

/// The standard deviation of random weights (transformers' `initializer_range` default).
const INIT_STD: f64 = 0.02;

// ANCHOR: load
/// Load a Mixtral or Qwen3-MoE checkpoint: chapter 6's loader, with each block's feed-forward
/// read here. Every shape is checked against `config`; a missing tensor is an error naming it.
pub fn load<F: Float>(ckpt: &Checkpoint, config: &MoeConfig) -> Result<MoeDecoder<F>> {
    config.validate()?;
    let (c, d) = (config, config.decoder.d_model);
    Decoder::load_with(ckpt, &config.decoder, |i, layer| {
        let mlp = format!("{layer}.{}", c.family.mlp_name()); // block_sparse_moe / mlp
        if !c.moe_layers[i] {
            // a Qwen3-MoE layer without experts: chapter 6's SwiGLU
            let ff = c.decoder.d_ff;
            return Ok(MoeFeedForward::Dense(SwiGlu::new(
                Linear::load(ckpt, &format!("{mlp}.gate_proj"), d, ff, false)?,
                Linear::load(ckpt, &format!("{mlp}.up_proj"), d, ff, false)?,
                Linear::load(ckpt, &format!("{mlp}.down_proj"), ff, d, false)?,
            )?));
        }
        let router = Router {
            gate: Linear::load(ckpt, &format!("{mlp}.gate"), d, c.n_experts, false)?, // [n_experts, d]
            top_k: c.top_k,
            norm_topk_prob: c.norm_topk_prob,
        };
        let [gate, up, down] = c.family.expert_names(); // w1, w3, w2 / gate_proj, up_proj, down_proj
        let ff = c.expert_d_ff;
        let experts = (0..c.n_experts)
            .map(|j| {
                let expert = format!("{mlp}.experts.{j}");
                SwiGlu::new(
                    Linear::load(ckpt, &format!("{expert}.{gate}"), d, ff, false)?,
                    Linear::load(ckpt, &format!("{expert}.{up}"), d, ff, false)?,
                    Linear::load(ckpt, &format!("{expert}.{down}"), ff, d, false)?,
                )
            })
            .collect::<Result<_>>()?;
        Ok(MoeFeedForward::Experts(SparseMoe::new(router, experts)?))
    })
}
// ANCHOR_END: load

/// Read `config.json` of a Hugging Face snapshot folder, with a clear error when the folder
/// itself is missing.
pub fn read_config(dir: &Path) -> Result<MoeConfig> {
    MoeConfig::from_hf_json(&shared::checkpoint::config_json_in(dir)?)
}

/// Load a Hugging Face snapshot folder: `config.json` + `model.safetensors` or its shards.
pub fn from_pretrained<F: Float>(dir: &Path) -> Result<(MoeConfig, MoeDecoder<F>)> {
    let config = read_config(dir)?;
    let ckpt = Checkpoint::open_folder(dir)?;
    let model = load(&ckpt, &config)?;
    Ok((config, model))
}

/// A model with random weights from `seed` (every matrix from N(0, 0.02^2), norms one).
pub fn random<F: Float>(config: &MoeConfig, seed: u64) -> Result<MoeDecoder<F>> {
    config.validate()?;
    let c = config;
    let d = c.decoder.d_model;
    Decoder::random_with(&c.decoder, seed, |i, rng| {
        if !c.moe_layers[i] {
            return Ok(MoeFeedForward::Dense(SwiGlu::random(d, c.decoder.d_ff, INIT_STD, rng)));
        }
        random_moe(c, INIT_STD, rng).map(MoeFeedForward::Experts)
    })
}

/// One MoE layer of `config`'s shape with weights from N(0, std^2).
pub fn random_moe<F: Float, R: Rng>(config: &MoeConfig, std: f64, rng: &mut R) -> Result<SparseMoe<F>> {
    let d = config.decoder.d_model;
    let router = Router { gate: Linear::random(d, config.n_experts, false, std, rng), top_k: config.top_k, norm_topk_prob: config.norm_topk_prob };
    let experts = (0..config.n_experts).map(|_| SwiGlu::random(d, config.expert_d_ff, std, rng)).collect();
    SparseMoe::new(router, experts)
}

/// Read `k` experts per token from now on, in every MoE layer (to measure top-1 against
/// top-2); `k` must be between 1 and the number of experts.
pub fn set_top_k<F, A>(model: &mut MoeDecoder<F, A>, k: usize) {
    for block in &mut model.blocks {
        if let Some(moe) = block.mlp.experts_mut() {
            moe.router.top_k = k;
        }
    }
}

/// Run every MoE layer on its dense reference path (`true`: every expert reads every token,
/// the outputs of those not chosen are multiplied by 0) or on the sparse path (`false`).
pub fn set_dense_path<F: Float, A>(model: &mut MoeDecoder<F, A>, on: bool) {
    for block in &mut model.blocks {
        if let Some(moe) = block.mlp.experts_mut() {
            moe.set_dense_path(on);
        }
    }
}

/// Tokens each expert of each MoE layer has read since the last call (`None` for a layer
/// without experts), and start counting again.
pub fn take_expert_counts<F: Float, A>(model: &mut MoeDecoder<F, A>) -> Vec<Option<Vec<u64>>> {
    model.blocks.iter_mut().map(|b| b.mlp.experts_mut().map(SparseMoe::take_counts)).collect()
}

/// Which family and how many experts: `mixtral: 8 layers, 8 experts (2 per token), ...`
pub fn describe(c: &MoeConfig) -> String {
    let d = &c.decoder;
    let kv = if d.n_kv_heads == d.n_heads { String::new() } else { format!(" sharing {} key/value heads", d.n_kv_heads) };
    let moe_layers = if c.n_moe_layers() == d.n_layers { String::new() } else { format!(" in {} of the layers", c.n_moe_layers()) };
    let count = |n: usize| if n >= 1_000_000 { format!("{:.1}M", n as f64 / 1e6) } else { n.to_string() };
    format!(
        "{}: {} layers, {} heads{kv}, d_model {}, {} experts of width {} ({} per token){moe_layers}, {} parameters ({} active)",
        c.family.model_type(),
        d.n_layers,
        d.n_heads,
        d.d_model,
        c.n_experts,
        c.expert_d_ff,
        c.top_k,
        count(c.n_params()),
        count(c.n_active_params())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MoeFamily;
    use ch04_gpt::CausalLm;
    use ch06_llama_qwen::FeedForwardLayer;

    #[test]
    fn the_model_is_chapter_6s_decoder_with_the_experts_as_its_mlp() {
        for family in [MoeFamily::Mixtral, MoeFamily::Qwen3Moe] {
            let config = MoeConfig::tiny(family, 40, 16, 2, 4, 2);
            let mut model = random::<f64>(&config, 3).unwrap();
            assert_eq!(CausalLm::attention_layers(&model).len(), 2);
            let logits = model.logits(&[1, 2, 3, 4]).unwrap();
            assert_eq!(logits.dim(), (4, 40));
            // 4 tokens x 2 layers x top-2
            let counts = take_expert_counts(&mut model);
            assert!(counts.iter().all(|c| c.as_ref().unwrap().iter().sum::<u64>() == 8));
            // the dense path gives the same logits (and counts nothing: it reads every expert)
            set_dense_path(&mut model, true);
            let dense = model.logits(&[1, 2, 3, 4]).unwrap();
            assert!((&dense - &logits).iter().all(|d| d.abs() < 1e-12));
            assert!(take_expert_counts(&mut model).iter().all(|c| c.as_ref().unwrap().iter().sum::<u64>() == 0));
            set_dense_path(&mut model, false);
            // top-1 reads one expert per token
            set_top_k(&mut model, 1);
            model.logits(&[1, 2, 3, 4]).unwrap();
            assert!(take_expert_counts(&mut model).iter().all(|c| c.as_ref().unwrap().iter().sum::<u64>() == 4));
        }
    }

    #[test]
    fn a_layer_with_all_experts_chosen_equally_is_their_average() {
        // top-k = all experts and a zero router: every probability 1/E, so out = mean of experts
        let config = MoeConfig::tiny(MoeFamily::Qwen3Moe, 40, 16, 1, 3, 3);
        let mut moe = random_moe::<f64, _>(&config, 0.5, &mut shared::init::rng(2)).unwrap();
        moe.router.gate.weight.fill(0.0);
        moe.router.norm_topk_prob = false;
        let x: ndarray::Array2<f64> = shared::init::normal((2, 16), 1.0, &mut shared::init::rng(3));
        let mean = moe.experts.iter().map(|e| e.forward(x.view()).unwrap()).fold(ndarray::Array2::<f64>::zeros((2, 16)), |a, y| a + y) / 3.0;
        let mut ff = MoeFeedForward::Experts(moe);
        let got = ff.forward(x.view()).unwrap();
        assert!((&got - &mean).iter().all(|d| d.abs() < 1e-14));
    }
}
