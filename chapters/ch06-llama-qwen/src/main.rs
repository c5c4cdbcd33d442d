//! `cargo run --release -p ch06-llama-qwen -- --model DIR --prompt "..." --max-new-tokens N`:
//! uncached generation with a Llama, Qwen2, Qwen3 or GPT-NeoX folder.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::run::{GenerateArgs, RunError};
use ch06_llama_qwen::model::read_config;
use ch06_llama_qwen::{Decoder, DecoderConfig};
use clap::Parser;
use std::process::ExitCode;

/// Generate text with a Llama, Qwen2, Qwen3 or GPT-NeoX (Pythia) model, the uncached way
/// (chapter 6): every new token runs the model over the whole sequence again.
///
/// With --model DIR, a Hugging Face folder (config.json, model.safetensors or its shards,
/// tokenizer.json) is loaded unchanged; its config.json says which family it is. Without
/// --model the weights are random (SmolLM2-135M's dimensions, seeded) and the tokenizer is
/// GPT-2's: the output is gibberish, but every step is real.
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
            // SmolLM2-135M's dimensions with the shipped tokenizer's vocabulary
            let config = DecoderConfig { vocab_size: tokenizer.vocab_size(), eos_token_id: None, ..DecoderConfig::smollm2_135m() };
            (config, tokenizer)
        }
    };
    let prompt_ids = args.prompt_ids(&tokenizer, config.context_length)?;
    let mut model = match &args.model.model {
        Some(dir) => Decoder::<f32>::from_pretrained(dir)?,
        None => {
            if !args.json {
                eprintln!(
                    "note: no --model given: SmolLM2-135M dimensions (a Llama: 30 layers, 576 wide, 9 query \
                     heads sharing 3 key/value heads) with RANDOM (untrained) weights (seed {}) and GPT-2's \
                     tokenizer ({} ids), so the text is gibberish. Pass --model DIR for a real Llama, Qwen \
                     or Pythia folder.",
                    args.model.seed,
                    config.vocab_size
                );
            }
            Decoder::<f32>::random(&config, args.model.seed)?
        }
    };
    let eos_token_id = model.config.eos_token_id.or(tokenizer.eos_token_id());
    args.generate_and_print(&mut model, &tokenizer, &prompt_ids, eos_token_id)
}
