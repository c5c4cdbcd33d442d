//! `cargo run --release -p ch04-gpt -- --prompt "..." --max-new-tokens N`: uncached generation.

use ch01_tokenizer::{StreamDecoder, Tokenizer};
use ch04_gpt::model::read_config;
use ch04_gpt::{generate, GenerateOptions, Gpt, Sampling};
use clap::Parser;
use shared::cli::{ModelArgs, PromptArgs, SamplingArgs};
use shared::GptConfig;
use std::io::Write;
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
    model: ModelArgs,
    #[command(flatten)]
    prompt: PromptArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Print one JSON object (prompt ids, generated ids, text, timings) instead of streaming.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error(transparent)]
    Model(#[from] shared::Error),
    #[error(transparent)]
    Tokenizer(#[from] ch01_tokenizer::TokenizerError),
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), AppError> {
    let SamplingArgs { temperature, top_k, top_p } = args.sampling;
    let sampling = Sampling { temperature, top_k, top_p };
    sampling.validate()?;
    // cheap checks first: config, tokenizer, prompt length; then the (slow) weights
    let (config, tokenizer) = match &args.model.model {
        Some(dir) => (read_config(dir)?, Tokenizer::from_file(&dir.join("tokenizer.json"))?),
        None => (GptConfig::gpt2_124m(), Tokenizer::shipped()),
    };
    let prompt_ids = tokenizer.encode(&args.prompt.prompt)?;
    if prompt_ids.is_empty() {
        return Err(shared::Error::EmptyPrompt.into());
    }
    if prompt_ids.len() + args.prompt.max_new_tokens > config.context_length {
        return Err(shared::Error::ContextOverflow {
            len: prompt_ids.len() + args.prompt.max_new_tokens,
            context_length: config.context_length,
        }
        .into());
    }
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
    let options = GenerateOptions {
        max_new_tokens: args.prompt.max_new_tokens,
        sampling,
        seed: args.model.seed,
        eos_token_id: model.config.eos_token_id.or(tokenizer.eos_token_id()),
    };
    let mut stream = StreamDecoder::new(&tokenizer);
    let mut stdout = std::io::stdout().lock();
    if !args.json {
        write!(stdout, "{}", args.prompt.prompt)?;
        stdout.flush()?;
    }
    let generation = generate(&mut model, &prompt_ids, &options, |id| {
        if !args.json {
            let piece = stream.push(id).map_err(|e| shared::Error::InvalidArgument(e.to_string()))?;
            if let Some(piece) = piece {
                let _ = write!(stdout, "{piece}");
                let _ = stdout.flush();
            }
        }
        Ok(())
    })?;
    let text = tokenizer.decode(&generation.new_ids)?;
    if args.json {
        let out = serde_json::json!({
            "prompt": args.prompt.prompt,
            "prompt_ids": generation.prompt_ids,
            "generated_ids": generation.new_ids,
            "text": text,
            "stopped_at_eos": generation.stopped_at_eos,
            "random_weights": args.model.model.is_none(),
            "time_to_first_token_s": generation.time_to_first_token.as_secs_f64(),
            "total_s": generation.total_time.as_secs_f64(),
            "tokens_per_s": generation.tokens_per_second(),
        });
        writeln!(stdout, "{out}")?;
    } else {
        if let Some(rest) = stream.finish()? {
            write!(stdout, "{rest}")?;
        }
        writeln!(stdout)?;
        eprintln!(
            "{} prompt tokens, {} new tokens in {:.2} s ({:.1} tokens/s, uncached){}",
            generation.prompt_ids.len(),
            generation.new_ids.len(),
            generation.total_time.as_secs_f64(),
            generation.tokens_per_second(),
            if generation.stopped_at_eos { ", stopped at <|endoftext|>" } else { "" }
        );
    }
    Ok(())
}
