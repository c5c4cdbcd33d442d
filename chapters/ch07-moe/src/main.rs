//! `cargo run --release -p ch07-moe -- --model DIR --prompt "..." --max-new-tokens N`:
//! uncached generation with a Mixtral or Qwen3-MoE folder.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::run::{GenerateArgs, RunError};
use ch07_moe::model::describe;
use ch07_moe::{from_pretrained, random, read_config, MoeConfig};
use clap::Parser;
use std::process::ExitCode;

/// Generate text with a mixture-of-experts model (Mixtral or Qwen3-MoE), the uncached way
/// (chapter 7): every new token runs the model over the whole sequence again, and each token
/// reads only the experts its router chose.
///
/// With --model DIR, a Hugging Face folder (config.json, model.safetensors or its shards,
/// tokenizer.json) is loaded unchanged. Without --model the weights are random (a small
/// Mixtral: 8 layers, 512 wide, 8 experts, 2 per token; seeded) and the tokenizer is GPT-2's:
/// the output is gibberish, but every step is real.
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
        None => {
            let tokenizer = Tokenizer::shipped();
            (MoeConfig::small_mixtral(tokenizer.vocab_size()), tokenizer)
        }
    };
    let prompt_ids = args.prompt_ids(&tokenizer, config.decoder.context_length)?;
    let mut model = match &args.model.model {
        Some(dir) => from_pretrained::<f32>(dir)?.1,
        None => {
            if !args.json {
                eprintln!(
                    "note: no --model given: a small {} with RANDOM (untrained) weights (seed {}) and GPT-2's \
                     tokenizer, so the text is gibberish. Pass --model DIR for a real Mixtral or Qwen3-MoE folder.",
                    describe(&config),
                    args.model.seed
                );
            }
            random::<f32>(&config, args.model.seed)?
        }
    };
    let eos_token_id = config.decoder.eos_token_id.or(tokenizer.eos_token_id());
    args.generate_and_print(&mut model, &tokenizer, &prompt_ids, eos_token_id)
}
