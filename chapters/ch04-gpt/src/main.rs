//! `cargo run --release -p ch04-gpt -- --prompt "..." --max-new-tokens N`: uncached generation.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::model::read_config;
use ch04_gpt::run::{GenerateArgs, RunError};
use ch04_gpt::Gpt;
use clap::Parser;
use shared::GptConfig;
use std::process::ExitCode;

/// Generate text with GPT-2, the uncached way (chapter 4): every new token runs the model over
/// the whole sequence again.
///
/// Without --model the weights are random (GPT-2 124M dimensions, seeded): the output is
/// gibberish, but every step is real. With --model DIR, a Hugging Face GPT-2 folder
/// (config.json, model.safetensors, tokenizer.json) is loaded unchanged.
#[derive(Parser)]
#[command(about, long_about)]
struct Args {
    #[command(flatten)]
    run: GenerateArgs,
}

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>().run))
}

fn run(args: &GenerateArgs) -> Result<(), RunError> {
    args.sampling()?;
    // cheap checks first: config, tokenizer, prompt length; then the (slow) weights
    let (config, tokenizer) = match &args.model.model {
        Some(dir) => (read_config(dir)?, Tokenizer::from_file(dir.join("tokenizer.json"))?),
        None => (GptConfig::gpt2_124m(), Tokenizer::shipped()),
    };
    let prompt_ids = args.prompt_ids(&tokenizer, config.context_length)?;
    let mut model = match &args.model.model {
        Some(dir) => Gpt::<f32>::from_pretrained(dir)?,
        None => {
            if !args.json {
                eprintln!(
                    "note: no --model given: GPT-2 124M dimensions with RANDOM (untrained) weights \
                     (seed {}), so the text is gibberish. Pass --model DIR for a real GPT-2.",
                    args.model.seed
                );
            }
            Gpt::<f32>::random(&config, args.model.seed)?
        }
    };
    let eos_token_id = model.config.eos_token_id.or(tokenizer.eos_token_id());
    args.generate_and_print(&mut model, &tokenizer, &prompt_ids, eos_token_id)
}
