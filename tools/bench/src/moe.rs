//! Chapter 7's Mixtral and Qwen3-MoE in the benchmark: what one decoded token reads (the
//! active weights: attention, the routers, `top_k` experts per layer, the LM head), the
//! roofline from it, and decode at top-1, top-2 and on the dense all-experts path side by side.
//!
//! The standard report ([`measure::bench::run`]) comes after, with the model's own top-k: its
//! `weight_bytes_per_token` and roofline count the active weights.

use super::cached::Cached;
use super::rotary;
use ch04_gpt::{GenerateOptions, Sampling};
use ch06_llama_qwen::{DecoderConfig, Family};
use ch07_moe::{set_dense_path, set_top_k, MoeConfig, MoeDecoder, MoeFamily};
use ch08_kv_cache::{CacheStorage, KvDecoder, KvModel};
use measure::bandwidth::Probe;
use measure::flops::{weight_bytes_per_token, ModelShape};
use measure::output::say;
use measure::{bench, machine, stats, BenchArgs, DecodeRun, MeasureError, MeasureResult, Preset};

/// The shape of an MoE preset; `None` for a preset of another family.
pub fn preset_config(preset: Preset) -> Option<MoeConfig> {
    match preset {
        Preset::MixtralSmall => {
            let mut decoder = DecoderConfig::tiny(Family::Llama, 32000, 768, 6, 12, 4);
            decoder.d_ff = 2048;
            decoder.context_length = 4096;
            decoder.tie_word_embeddings = true;
            decoder.rope.theta = 1e6;
            Some(MoeConfig { family: MoeFamily::Mixtral, decoder, n_experts: 8, top_k: 2, norm_topk_prob: true, expert_d_ff: 2048, moe_layers: vec![true; 6] })
        }
        _ => None,
    }
}

// ANCHOR: model_shape
/// What the benchmark's formulas need, for a token that reads `experts_read` experts per MoE
/// layer: chapter 6's count ([`rotary::model_shape`]) with each layer's dense MLP replaced by
/// the router and `experts_read` experts. `n_params` counts every expert.
pub fn model_shape(config: &MoeConfig, experts_read: usize) -> ModelShape {
    let dense = rotary::model_shape(&config.decoder); // every layer with a dense MLP of d_ff
    let d = config.decoder.d_model;
    let n_moe = config.n_moe_layers();
    let dense_mlp = 3 * d * config.decoder.d_ff;
    let read_mlp = config.n_experts * d + experts_read * 3 * d * config.expert_d_ff; // router + experts
    let swap = |p: usize| p - n_moe * dense_mlp + n_moe * read_mlp;
    ModelShape {
        n_params: config.n_params(),
        block_params: swap(dense.block_params),
        params_read_per_token: swap(dense.params_read_per_token),
        ..dense
    }
}
// ANCHOR_END: model_shape

/// Load (`--model DIR`) or build (`--config mixtral-small`) the model, compare top-1, top-2
/// and the dense path, then run the standard benchmark at the model's top-k.
pub fn run(args: &BenchArgs) -> MeasureResult<()> {
    let config = match &args.model.model {
        Some(dir) => ch07_moe::read_config(dir)?,
        None => preset_config(args.config).ok_or_else(|| MeasureError::Usage(format!("--config {} is not an MoE shape", args.config.name())))?,
    };
    bench::validate(args, &model_shape(&config, config.top_k))?;
    if args.weights.is_some_and(|w| w != shared::cli::Weights::F32) {
        return Err(MeasureError::Usage("--weights bf16/f16: the benchmark runs mixture-of-experts models in f32 only (--weights f32)".into()));
    }
    let (mut model, name) = match &args.model.model {
        Some(dir) => (ch07_moe::from_pretrained::<f32>(dir)?.1, dir.display().to_string()),
        None => (ch07_moe::random::<f32>(&config, args.model.seed)?, format!("{}, random weights", args.config.name())),
    };
    if !args.json {
        model = compare_paths(args, &config, model)?;
    }
    let shape = model_shape(&config, config.top_k);
    bench::run(args, &mut Cached::new(KvDecoder::preallocated(model), shape), &name, shared::cli::Weights::F32)
}

/// One way of running the experts.
struct Path {
    label: String,
    top_k: usize,
    dense: bool,
    /// Experts whose weights a token reads per MoE layer.
    experts_read: usize,
}

/// Cached greedy decode of `--new-tokens` after an 8-token prompt, `--runs` times, the paths
/// interleaved within every repetition and a bandwidth pass before every run (the machine may
/// be shared: the figures of one repetition are taken in the same minutes).
fn compare_paths(args: &BenchArgs, config: &MoeConfig, model: MoeDecoder<f32>) -> MeasureResult<MoeDecoder<f32>> {
    let mut paths: Vec<Path> = [1, 2].into_iter().filter(|&k| k <= config.n_experts)
        .map(|k| Path { label: format!("top-{k}"), top_k: k, dense: false, experts_read: k })
        .collect();
    paths.push(Path { label: format!("dense, top-{}", config.top_k), top_k: config.top_k, dense: true, experts_read: config.n_experts });
    say(format!(
        "Mixture of experts: decode reads only the chosen experts ({} of {} per layer at top-{}).\n\
         CPU: {}. Measuring top-1, top-2 and the dense path (every expert, masked), \
         {} tokens after an 8-token prompt, {} runs each, interleaved...",
        config.top_k, config.n_experts, config.top_k, machine::cpu_model(), args.new_tokens, args.runs
    ))?;
    let prompt: Vec<u32> = (0..8).map(|i| (i * 7 + 3) % config.decoder.vocab_size as u32).collect();
    let options = GenerateOptions { max_new_tokens: args.new_tokens, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None };
    let mut probe = Probe::new(args.bandwidth_mib << 20);
    probe.read(2);
    let mut kv: KvDecoder<f32, _> = KvModel::new(model, CacheStorage::Preallocated { capacity: prompt.len() + args.new_tokens });
    let mut rates = vec![Vec::new(); paths.len()];
    for _ in 0..args.runs {
        for (path, rates) in paths.iter().zip(&mut rates) {
            let mut m = kv.into_model();
            set_top_k(&mut m, path.top_k);
            set_dense_path(&mut m, path.dense);
            kv = KvModel::new(m, CacheStorage::Preallocated { capacity: prompt.len() + args.new_tokens });
            probe.read(1);
            let g = kv.generate(&prompt, &options, true, |_| Ok(()))?;
            rates.push(bench::decode_tokens_per_s(&DecodeRun { new_tokens: g.new_ids.len(), total: g.total_time, first_token: g.time_to_first_token }));
        }
    }
    let bw = probe.summary();
    let mut table = format!(
        "memory bandwidth: median {:.1} GB/s (best {:.1}) over {} passes, {} threads\n\n{:<16} {:>13} {:>18} {:>17} {:>15} {:>10}\n",
        bw.median_gbps, bw.best_gbps, bw.passes_gbps.len(), bw.threads, "path", "experts read", "weight MB/token", "roofline tok/s", "decode tok/s", "% roofl."
    );
    for (path, rates) in paths.iter().zip(&rates) {
        let bytes = weight_bytes_per_token(&model_shape(config, path.experts_read));
        let roofline = bw.median_gbps * 1e9 / bytes;
        let rate = stats::median(rates);
        table += &format!(
            "{:<16} {:>13} {:>18.2} {:>17.1} {:>15.1} {:>9.0}%\n",
            path.label,
            format!("{} of {}", path.experts_read, config.n_experts),
            bytes / 1e6,
            roofline,
            rate,
            100.0 * rate / roofline
        );
    }
    say(table)?;
    let mut model = kv.into_model();
    set_top_k(&mut model, config.top_k);
    set_dense_path(&mut model, false);
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use measure::flops::weight_bytes_per_token;

    #[test]
    fn the_active_weights_are_counted_by_hand() {
        let c = preset_config(Preset::MixtralSmall).unwrap();
        // a layer: attention 768 x (768 + 2 x 256) + 768 x 768 = 1,572,864, two norms 1,536,
        // router 8 x 768 = 6,144, one expert 3 x 768 x 2048 = 4,718,592; tied embedding
        // 32000 x 768 = 24,576,000, final norm 768
        let layer = |experts: usize| 1_572_864 + 1_536 + 6_144 + experts * 4_718_592;
        assert_eq!(c.n_params(), 6 * layer(8) + 24_576_000 + 768);
        for k in [1, 2, 8] {
            let s = model_shape(&c, k);
            // read per token: the blocks, the final norm, the tied head, one embedding row
            assert_eq!(s.params_read_per_token, 6 * layer(k) + 768 + 24_576_000 + 768, "top-{k}");
            assert_eq!(s.block_params, 6 * layer(k) + 768, "top-{k}");
            assert_eq!(s.n_params, c.n_params());
        }
        // top-2: 6 x 11,017,728 + 768 + 24,576,000 + 768 = 90,683,904 parameters, 4 bytes each
        assert_eq!(weight_bytes_per_token(&model_shape(&c, 2)), 4.0 * 90_683_904.0);
    }
}
