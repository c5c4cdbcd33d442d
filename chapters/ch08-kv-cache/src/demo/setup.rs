//! Which model and tokenizer the demo runs (random weights, or a Hugging Face GPT-2 folder),
//! which timing lengths fit its context, and where the plots go.
//!
//! Everything cheap (the output folder, the config, the tokenizer, the prompt's ids, the
//! length checks) happens in [`prepare`], before the weights are built or read, so a wrong
//! option fails in milliseconds instead of after loading 500 MB and minutes of measuring.

use crate::demo::cli::DemoArgs;
use measure::Preset;
use crate::demo::error::{DemoError, DemoResult};
use ch01_tokenizer::Tokenizer;
use ch04_gpt::Gpt;
use ch06_llama_qwen::{Decoder, DecoderConfig};
use ch07_moe::{MoeConfig, MoeDecoder};
use shared::GptConfig;
use std::path::PathBuf;

/// Where the weights come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    /// Seeded random weights (GPT-2's initialisation): real shapes and speed, gibberish text.
    Random { preset: Preset, seed: u64 },
    /// A Hugging Face snapshot folder (`config.json` + `model.safetensors`), its matrices
    /// held as `--weights` asks (`None`: as stored).
    Pretrained { dir: PathBuf, held: Option<shared::cli::Weights> },
}

/// The weights, of whichever family the folder holds.
pub enum LoadedModel {
    Gpt2(Gpt<f32>),
    /// Chapter 6: Llama, Qwen2, Qwen3 or GPT-NeoX.
    Rotary(Decoder<f32>),
    /// Chapter 7: Mixtral or Qwen3-MoE.
    Moe(MoeDecoder<f32>),
}

/// The `model_type`s the demo runs.
pub const SUPPORTED_MODEL_TYPES: &str = "gpt2, llama, qwen2, qwen3, gpt_neox, mixtral, qwen3_moe";

/// A model's dimensions, of whichever family its `config.json` names.
#[derive(Debug, Clone)]
pub enum ModelConfig {
    Gpt2(GptConfig),
    Rotary(DecoderConfig),
    Moe(MoeConfig),
}

impl ModelConfig {
    /// Read `config.json`, dispatching on its `model_type` (GPT-2 files may omit it).
    pub fn from_hf_json(path: &std::path::Path) -> DemoResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| shared::Error::Io { path: path.to_path_buf(), source })?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| shared::Error::InvalidConfig(format!("{}: {e}", path.display())))?;
        match json.get("model_type").and_then(serde_json::Value::as_str) {
            None | Some("gpt2") => Ok(ModelConfig::Gpt2(GptConfig::from_hf_json(path)?)),
            Some("llama" | "qwen2" | "qwen3" | "gpt_neox") => Ok(ModelConfig::Rotary(DecoderConfig::from_hf_json(path)?)),
            Some("mixtral" | "qwen3_moe") => Ok(ModelConfig::Moe(MoeConfig::from_hf_json(path)?)),
            Some(other) => Err(shared::Error::InvalidConfig(format!(
                "{}: model_type \"{other}\" is not supported (supported: {SUPPORTED_MODEL_TYPES})",
                path.display()
            ))
            .into()),
        }
    }

    pub fn context_length(&self) -> usize {
        match self {
            ModelConfig::Gpt2(c) => c.context_length,
            ModelConfig::Rotary(c) => c.context_length,
            ModelConfig::Moe(c) => c.decoder.context_length,
        }
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            ModelConfig::Gpt2(c) => c.vocab_size,
            ModelConfig::Rotary(c) => c.vocab_size,
            ModelConfig::Moe(c) => c.decoder.vocab_size,
        }
    }

    pub fn eos_token_id(&self) -> Option<u32> {
        match self {
            ModelConfig::Gpt2(c) => c.eos_token_id,
            ModelConfig::Rotary(c) => c.eos_token_id,
            ModelConfig::Moe(c) => c.decoder.eos_token_id,
        }
    }

    /// `12 layers, 12 heads, d_model 768, context 1024, 124.4M parameters`
    pub fn shape(&self) -> String {
        let (family, layers, heads, kv_heads, d_model, context, n_params) = match self {
            ModelConfig::Gpt2(c) => ("gpt2", c.n_layers, c.n_heads, c.n_kv_heads, c.d_model, c.context_length, c.n_params()),
            ModelConfig::Rotary(c) => (c.family.model_type(), c.n_layers, c.n_heads, c.n_kv_heads, c.d_model, c.context_length, c.n_params()),
            ModelConfig::Moe(c) => return format!("{}, context {}", ch07_moe::model::describe(c), c.decoder.context_length),
        };
        let kv = if kv_heads == heads { String::new() } else { format!(" sharing {kv_heads} key/value heads") };
        format!("{family}: {layers} layers, {heads} heads{kv}, d_model {d_model}, context {context}, {} parameters", params(n_params))
    }
}

/// Everything known before the weights are loaded.
pub struct Prepared {
    pub config: ModelConfig,
    pub weights: Weights,
    pub tokenizer: Tokenizer,
    pub prompt_ids: Vec<u32>,
    /// The `--lengths` that fit the context after the prompt: the ones timed.
    pub lengths: Vec<usize>,
    /// The `--lengths` that do not fit, skipped.
    pub skipped: Vec<usize>,
}

impl Prepared {
    /// One line saying which model this is.
    pub fn description(&self) -> String {
        let shape = self.config.shape();
        match &self.weights {
            Weights::Random { preset, seed } => {
                format!("{} shape with RANDOM weights (seed {seed}): {shape}", preset.name())
            }
            Weights::Pretrained { dir, .. } if *dir == shared::cli::default_model_dir() => {
                format!("{} (the default model; --config 124m for GPT-2 124M's shape) ({shape})", shared::cli::DEFAULT_MODEL)
            }
            Weights::Pretrained { dir, held } => {
                format!("{} ({shape}; weights {})", dir.display(), held.map_or("as stored", |w| w.name()))
            }
        }
    }

    /// Build or read the weights (the slow part: ~500 MB for GPT-2 124M).
    pub fn load_model(&self) -> DemoResult<LoadedModel> {
        match (&self.weights, &self.config) {
            (Weights::Random { seed, .. }, ModelConfig::Gpt2(c)) => Ok(LoadedModel::Gpt2(Gpt::random(c, *seed)?)),
            (Weights::Random { seed, .. }, ModelConfig::Rotary(c)) => Ok(LoadedModel::Rotary(Decoder::random(c, *seed)?)),
            (Weights::Random { seed, .. }, ModelConfig::Moe(c)) => Ok(LoadedModel::Moe(ch07_moe::random(c, *seed)?)),
            (Weights::Pretrained { dir, held }, config) => {
                // model.safetensors, or shards through their index; 16-bit matrices kept 16-bit
                // unless --weights f32
                let (ckpt, _) = shared::cli::open_weights(dir, *held)?;
                Ok(match config {
                    ModelConfig::Gpt2(c) => LoadedModel::Gpt2(Gpt::load(&ckpt, c)?),
                    ModelConfig::Rotary(c) => LoadedModel::Rotary(Decoder::load(&ckpt, c)?),
                    ModelConfig::Moe(c) => LoadedModel::Moe(ch07_moe::load(&ckpt, c)?),
                })
            }
        }
    }

    /// End-of-text id: the tokenizer's, else the config's.
    pub fn eos_token_id(&self) -> Option<u32> {
        self.tokenizer.eos_token_id().or(self.config.eos_token_id())
    }
}

/// `124.4M` for large counts, the exact number below a million.
pub fn params(n: usize) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else {
        n.to_string()
    }
}

/// Check the output folder, read the config and tokenizer, encode the prompt, and keep the
/// timing lengths that fit the context.
pub fn prepare(args: &DemoArgs) -> DemoResult<Prepared> {
    if args.runs == 0 {
        return Err(DemoError::Usage("--runs must be at least 1".into()));
    }
    // --out was checked when the command line was parsed; the default folder is checked here
    args.out.dir_or(crate::demo::cli::DEFAULT_OUT).map_err(DemoError::OutDir)?;
    // --model DIR, else random weights of --config NAME, else the default model
    let default_dir = shared::cli::default_model_dir();
    let folder = match (&args.model.model, args.config) {
        (Some(dir), _) => Some(dir),
        (None, Some(_)) => None,
        (None, None) if default_dir.is_dir() => Some(&default_dir),
        (None, None) => {
            return Err(DemoError::Usage(format!(
                "the default model {} is missing (tools/train-default-model.sh rebuilds it): pass --model DIR or --config 124m",
                default_dir.display()
            )))
        }
    };
    let (config, weights, tokenizer) = match (folder, args.config) {
        (None, Some(preset)) => (
            ModelConfig::Gpt2(preset.gpt2_config().ok_or_else(|| {
                DemoError::Usage(format!(
                    "--config {0}: the demo runs GPT-2 shapes (124m, small) with random weights, and any \
                     family from a folder with --model; measure {0} with the bench subcommand",
                    preset.name()
                ))
            })?),
            Weights::Random { preset, seed: args.model.seed },
            Tokenizer::shipped(),
        ),
        (None, None) => unreachable!("no folder means --config"),
        (Some(dir), _) => {
            if !dir.is_dir() {
                return Err(DemoError::Usage(format!(
                    "--model {}: not a folder (expected a Hugging Face folder of a GPT-2, Llama, Qwen, \
                     GPT-NeoX, Mixtral or Qwen3-MoE model with config.json, model.safetensors and tokenizer.json)",
                    dir.display()
                )));
            }
            let config = ModelConfig::from_hf_json(&dir.join("config.json"))?;
            let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json").as_path())?;
            (config, Weights::Pretrained { dir: dir.clone(), held: args.weights }, tokenizer)
        }
    };
    if tokenizer.vocab_size() > config.vocab_size() {
        return Err(DemoError::Usage(format!(
            "the tokenizer has {} ids but the model only {}: they do not belong together",
            tokenizer.vocab_size(),
            config.vocab_size()
        )));
    }
    let prompt_ids = tokenizer.encode_prompt(&args.prompt.prompt)?;
    if prompt_ids.is_empty() {
        return Err(DemoError::Usage("--prompt encodes to no tokens".into()));
    }
    let context = config.context_length();
    let needed = prompt_ids.len() + args.prompt.max_new_tokens;
    if needed > context {
        return Err(DemoError::Usage(format!(
            "the prompt ({} tokens) + {} new tokens = {needed} tokens does not fit the context of \
             {context} tokens: lower --max-new-tokens or shorten --prompt",
            prompt_ids.len(),
            args.prompt.max_new_tokens
        )));
    }
    let (lengths, skipped) = fitting_lengths(&args.lengths.0, prompt_ids.len(), context);
    if lengths.is_empty() {
        return Err(DemoError::Usage(format!(
            "none of --lengths {:?} fits the context of {context} tokens after the {}-token prompt \
             (the longest that fits is {})",
            args.lengths.0,
            prompt_ids.len(),
            context - prompt_ids.len()
        )));
    }
    Ok(Prepared { config, weights, tokenizer, prompt_ids, lengths, skipped })
}

/// Split `lengths` into those with `prompt_len + n <= context` (timed) and the rest (skipped).
pub fn fitting_lengths(lengths: &[usize], prompt_len: usize, context: usize) -> (Vec<usize>, Vec<usize>) {
    lengths.iter().copied().partition(|&n| prompt_len + n <= context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_the_context_are_skipped() {
        // a 48-position model after a 14-token prompt has room for 34 new tokens
        assert_eq!(fitting_lengths(&[10, 20, 34, 35, 200], 14, 48), (vec![10, 20, 34], vec![35, 200]));
        assert_eq!(fitting_lengths(&[10], 48, 48), (vec![], vec![10]));
    }
}
