//! `cargo run --release -p ch04-gpt -- --prompt "..." --max-new-tokens N`: uncached generation.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::model::read_config;
use ch04_gpt::run::{GenerateArgs, RunError};
use ch04_gpt::Gpt;
use clap::Parser;
use measure::cli::Preset;
use shared::cli::{default_model_dir, DEFAULT_MODEL};
use std::process::ExitCode;

/// Generate text with GPT-2, the uncached way (chapter 4): every new token runs the model over
/// the whole sequence again.
///
/// Without --model it runs the project's default model, a small GPT-2 that chapter 5 trained on
/// its generated children's stories (models/gpt2-stories-3.5m in the repository). With
/// --model DIR, a Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer.json)
/// is loaded unchanged. With --config 124m, GPT-2 124M's dimensions with random (seeded)
/// weights: the output is gibberish, but every step is real and as slow as the real model.
#[derive(Parser)]
#[command(about, long_about)]
struct Args {
    #[command(flatten)]
    run: GenerateArgs,
    /// Random (seeded) weights of this GPT-2 shape instead of a trained model (124m: GPT-2
    /// small's dimensions, for speed).
    #[arg(long, value_name = "NAME", conflicts_with = "model")]
    config: Option<Preset>,
}

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    let args = shared::cli::parse_or_exit::<Args>();
    shared::exit_code(run(&args.run, args.config))
}

fn run(args: &GenerateArgs, preset: Option<Preset>) -> Result<(), RunError> {
    args.sampling()?;
    // which model: --model DIR, random weights of --config NAME, or the default model
    let (dir, name) = match (&args.model.model, preset) {
        (Some(dir), _) => (Some(dir.clone()), dir.display().to_string()),
        (None, Some(preset)) => (None, format!("{} shape with RANDOM (untrained) weights (seed {}): the text is gibberish, every step is real", preset.name(), args.model.seed)),
        (None, None) => (Some(default_model_dir()), format!("{DEFAULT_MODEL} (the default model)")),
    };
    // cheap checks first: config, tokenizer, prompt length; then the (slow) weights
    let (config, tokenizer) = match (&dir, preset) {
        (Some(dir), _) => {
            if !dir.is_dir() {
                return Err(shared::Error::InvalidArgument(format!(
                    "the default model {} is missing (tools/train-default-model.sh rebuilds it); pass --model DIR or --config 124m",
                    dir.display()
                ))
                .into());
            }
            (read_config(dir)?, Tokenizer::from_file(dir.join("tokenizer.json"))?)
        }
        (None, Some(preset)) => {
            let config = preset.gpt2_config().ok_or_else(|| {
                shared::Error::InvalidArgument(format!("--config {}: this binary runs GPT-2 shapes (124m, small)", preset.name()))
            })?;
            (config, Tokenizer::shipped())
        }
        (None, None) => unreachable!("no folder means a preset"),
    };
    let prompt_ids = args.prompt_ids(&tokenizer, config.context_length)?;
    let mut model = match &dir {
        Some(dir) => Gpt::<f32>::from_pretrained(dir)?,
        None => {
            Gpt::<f32>::random(&config, args.model.seed)?
        }
    };
    if !args.json {
        eprintln!("model: {name}"); // after the checks: a failed run prints only its error line
    }
    let eos_token_id = model.config.eos_token_id.or(tokenizer.eos_token_id());
    args.generate_and_print_named(&mut model, &tokenizer, &prompt_ids, eos_token_id, Some(&name), dir.is_none())
}
