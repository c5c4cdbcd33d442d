//! Which adapter runs: the family of the `--config` preset, or the `model_type` of `--model`'s
//! `config.json` (`gpt2`: chapter 4's GPT-2; `llama`, `qwen2`, `qwen3`, `gpt_neox`: chapter 6's
//! decoder), each with chapter 8's cache.
//!
//! Two binaries compile this file: `cargo run --release -p bench` and chapter 8's alias
//! `cargo run --release -p ch08-kv-cache -- bench`, which includes it by path because Cargo
//! forbids the dependency cycle (this tool depends on chapter 8, so chapter 8 cannot depend on
//! it). The modules below are therefore named by path, relative to this file.

#[path = "cached.rs"]
mod cached;
#[path = "gpt2.rs"]
mod gpt2;
#[path = "moe.rs"]
mod moe;
#[path = "rotary.rs"]
mod rotary;

use measure::{BenchArgs, MeasureResult};
use serde_json::Value;
use shared::Error;
use std::path::Path;

/// Run the benchmark on the model the options name.
pub fn run(args: &BenchArgs) -> MeasureResult<()> {
    args.choose_kernels(); // before any weights are made: --huge-pages applies to them
    let Some(dir) = &args.model.model else {
        return match args.config.gpt2_config() {
            Some(_) => gpt2::run(args),
            None if moe::preset_config(args.config).is_some() => moe::run(args),
            None => rotary::run(args),
        };
    };
    let path = shared::checkpoint::config_json_in(dir)?;
    match model_type(&path)?.as_str() {
        "gpt2" => gpt2::run(args),
        t if ch06_llama_qwen::Family::from_model_type(t).is_some() => rotary::run(args),
        t if ch07_moe::config::is_moe_model_type(t) => moe::run(args),
        t => Err(unsupported(&path, &format!("model_type \"{t}\" is not supported")).into()),
    }
}

/// Random weights held as `--weights` asks: f32 as built; bf16 or f16 rounded to nearest, by
/// saving the model and reading it back as a 16-bit checkpoint, through the loader `--model`
/// uses (so the weights stay 16-bit in memory, as a downloaded bf16 model's do).
fn held_as<M>(
    model: M,
    weights: Option<shared::cli::Weights>,
    save: impl Fn(&M, &Path) -> shared::Result<()>,
    load: impl Fn(&shared::Checkpoint) -> shared::Result<M>,
) -> shared::Result<(M, shared::cli::Weights)> {
    let Some(held) = weights.filter(|w| w.half_format().is_some()) else { return Ok((model, shared::cli::Weights::F32)) };
    let dir = std::env::temp_dir().join(format!("bench-{}-weights-{}", held.name(), std::process::id()));
    let file = dir.join(shared::checkpoint::SINGLE_FILE);
    let saved = save(&model, &dir);
    drop(model); // the f32 copy: gone before the 16-bit one is read
    let loaded = saved
        .and_then(|()| shared::checkpoint::narrow_file(&file, held.half_format().expect("16-bit")))
        .and_then(|()| load(&shared::Checkpoint::open(&file)?.keeping_16_bit(true)));
    let _ = std::fs::remove_dir_all(&dir);
    Ok((loaded?, held))
}

/// `model_type` of a Hugging Face `config.json`.
fn model_type(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| Error::BadConfig { path: path.to_path_buf(), reason: e.to_string() })?;
    match json.get("model_type").and_then(Value::as_str) {
        Some(t) => Ok(t.to_string()),
        None => Err(unsupported(path, "no model_type")),
    }
}

fn unsupported(path: &Path, what: &str) -> Error {
    Error::BadConfig {
        path: path.to_path_buf(),
        reason: format!(
            "{what} (the benchmark runs gpt2, {}, {})",
            ch06_llama_qwen::config::SUPPORTED_MODEL_TYPES,
            ch07_moe::SUPPORTED_MODEL_TYPES
        ),
    }
}
