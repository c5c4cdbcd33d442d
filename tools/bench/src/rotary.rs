//! Chapter 6's Llama, Qwen2, Qwen3 and GPT-NeoX (cached by chapter 8 as `KvDecoder`) in the
//! benchmark: their presets or folders, and their shape ([`model_shape`]).

use super::cached::Cached;
use ch06_llama_qwen::{Decoder, DecoderConfig, Family};
use ch08_kv_cache::KvDecoder;
use measure::flops::ModelShape;
use measure::{BenchArgs, MeasureError, MeasureResult, Preset};

/// What the benchmark's formulas ([`measure::flops`]) need to know about a decoder of chapter 6.
///
/// - `n_params`: every parameter, a tied LM head once ([`DecoderConfig::n_params`]).
/// - `block_params` (`P_blocks`, the `2 x P_blocks x T` of a prefill): every parameter except
///   the token embedding and the LM head, that is the blocks (attention, MLP, their norms and
///   biases, Qwen3's q/k norms) and the final norm, as GPT-2's count keeps its final LayerNorm.
/// - `params_read_per_token` (`P_read`, the roofline): the blocks and the final norm, the LM
///   head (`vocab x d_model`: the embedding matrix itself when tied), and the one embedding
///   row the token looks up. There is no position table: positions are rotations.
pub fn model_shape(config: &DecoderConfig) -> ModelShape {
    let c = config;
    let table = c.vocab_size * c.d_model; // the token embedding; an untied LM head is as big
    let head = if c.tie_word_embeddings { 0 } else { table };
    let block_params = c.n_params() - table - head;
    ModelShape {
        n_layers: c.n_layers,
        d_model: c.d_model,
        n_heads: c.n_heads,
        n_kv_heads: c.n_kv_heads,
        head_dim: c.head_dim,
        context_length: c.context_length,
        vocab_size: c.vocab_size,
        n_params: c.n_params(),
        block_params,
        params_read_per_token: block_params + table + c.d_model, // + the LM head + one embedding row
    }
}

/// The shape of a preset of this family; `None` for a GPT-2 preset.
pub fn preset_config(preset: Preset) -> Option<DecoderConfig> {
    match preset {
        Preset::Smollm2_135m => Some(DecoderConfig::smollm2_135m()),
        Preset::LlamaTiny => Some(DecoderConfig {
            tie_word_embeddings: true,
            context_length: 256,
            ..DecoderConfig::tiny(Family::Llama, 256, 32, 2, 4, 2)
        }),
        Preset::Gpt2_124m | Preset::Small | Preset::Tiny | Preset::MixtralSmall => None,
    }
}

/// Build (`--config`, random weights) or load (`--model DIR`) the decoder and run the benchmark.
pub fn run(args: &BenchArgs) -> MeasureResult<()> {
    // the shape first (a small file, or a preset): bad options fail before the weights exist
    let config = match &args.model.model {
        Some(dir) => ch06_llama_qwen::model::read_config(dir)?,
        None => preset_config(args.config)
            .ok_or_else(|| MeasureError::Usage(format!("--config {} is not a Llama shape", args.config.name())))?,
    };
    measure::bench::validate(args, &model_shape(&config))?;
    let (model, name, weights) = match &args.model.model {
        Some(dir) => {
            let (ckpt, weights) = shared::cli::open_weights(dir, args.weights)?;
            (Decoder::<f32>::load(&ckpt, &config)?, dir.display().to_string(), weights)
        }
        None => {
            let model = Decoder::<f32>::random(&config, args.model.seed)?;
            let (model, weights) = super::held_as(model, args.weights, Decoder::save_pretrained, |ckpt| Decoder::load(ckpt, &config))?;
            (model, format!("{}, random weights", args.config.name()), weights)
        }
    };
    let shape = model_shape(&model.config);
    measure::bench::run(args, &mut Cached::new(KvDecoder::preallocated(model), shape), &name, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use measure::flops::{kv_bytes_read, weight_bytes_per_token};

    #[test]
    fn smollm2_135m_counted_by_hand() {
        let s = model_shape(&DecoderConfig::smollm2_135m());
        // one layer: q 576x576 + k, v 576x192 each + o 576x576 = 884,736;
        // gate, up, down 576x1536 each = 2,654,208; two RMSNorms 2 x 576 = 1,152
        let layer = 884_736 + 2_654_208 + 1_152;
        assert_eq!(layer, 3_540_096);
        assert_eq!(s.block_params, 30 * layer + 576); // + the final norm = 106,203,456
        // + the tied head (the embedding, 49152 x 576 = 28,311,552) + one embedding row
        assert_eq!(s.params_read_per_token, 106_203_456 + 28_311_552 + 576);
        assert_eq!(weight_bytes_per_token(&s), 4.0 * 134_515_584.0);
        assert_eq!(s.n_params, 134_515_008); // SmolLM2-135M's published count
        // keys and values: 2 x 30 layers x 3 kv heads x 64 x 4 bytes per position
        assert_eq!(kv_bytes_read(&s, 1), 46_080.0);
        assert_eq!((s.n_heads, s.n_kv_heads, s.head_dim), (9, 3, 64));
    }

    #[test]
    fn an_untied_head_is_read_once_and_its_embedding_one_row() {
        let tied = DecoderConfig::smollm2_135m();
        let untied = model_shape(&DecoderConfig { tie_word_embeddings: false, ..tied.clone() });
        let tied = model_shape(&tied);
        assert_eq!(untied.n_params, tied.n_params + 49152 * 576); // the head is stored twice now
        assert_eq!(untied.block_params, tied.block_params);
        assert_eq!(untied.params_read_per_token, tied.params_read_per_token); // but read once
    }

    #[test]
    fn every_preset_belongs_to_exactly_one_family() {
        use clap::ValueEnum;
        for &p in Preset::value_variants() {
            let families = [p.gpt2_config().is_some(), preset_config(p).is_some(), super::super::moe::preset_config(p).is_some()];
            assert_eq!(families.iter().filter(|&&f| f).count(), 1, "{p:?}");
        }
    }
}
