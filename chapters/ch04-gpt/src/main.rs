//! `cargo run --release -p ch04-gpt -- --prompt "..." --max-new-tokens N`: uncached generation.

use ch01_tokenizer::{StreamDecoder, Tokenizer};
use ch04_gpt::model::read_config;
use ch04_gpt::{generate, GenerateOptions, Gpt, Sampling};
use clap::Parser;
use shared::GptConfig;
use std::io::Write;
use std::path::PathBuf;
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
    /// The text to continue.
    #[arg(long)]
    prompt: String,
    /// How many tokens to generate.
    #[arg(long, default_value_t = 20)]
    max_new_tokens: usize,
    /// A Hugging Face GPT-2 snapshot folder (e.g. the `gpt2` repository).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Seed of the sampler (and of the random weights without --model).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// 0 = greedy (always the most likely token); higher = more random.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Sample only among the k most likely tokens.
    #[arg(long)]
    top_k: Option<usize>,
    /// Sample only among the most likely tokens whose probabilities add up to p (0 < p <= 1).
    #[arg(long)]
    top_p: Option<f64>,
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
    shared::exit_code(run(&Args::parse())) // one `error:` line and exit code 1 on failure
}

fn run(args: &Args) -> Result<(), AppError> {
    let sampling = Sampling { temperature: args.temperature, top_k: args.top_k, top_p: args.top_p };
    sampling.validate()?;
    // cheap checks first: config, tokenizer, prompt length; then the (slow) weights
    let (config, tokenizer) = match &args.model {
        Some(dir) => (read_config(dir)?, Tokenizer::from_file(&dir.join("tokenizer.json"))?),
        None => (GptConfig::gpt2_124m(), Tokenizer::shipped()),
    };
    let prompt_ids = tokenizer.encode(&args.prompt)?;
    if prompt_ids.is_empty() {
        return Err(shared::Error::EmptyPrompt.into());
    }
    if prompt_ids.len() + args.max_new_tokens > config.context_length {
        return Err(shared::Error::ContextOverflow {
            len: prompt_ids.len() + args.max_new_tokens,
            context_length: config.context_length,
        }
        .into());
    }
    let mut model = match &args.model {
        Some(dir) => Gpt::<f32>::from_pretrained(dir)?,
        None => {
            if !args.json {
                eprintln!(
                    "note: no --model given: GPT-2 124M dimensions with RANDOM (untrained) weights \
                     (seed {}), so the text is gibberish. Pass --model DIR for a real GPT-2.",
                    args.seed
                );
            }
            Gpt::<f32>::random(&config, args.seed)?
        }
    };
    let options = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        sampling,
        seed: args.seed,
        eos_token_id: model.config.eos_token_id.or(tokenizer.eos_token_id()),
    };
    let mut stream = StreamDecoder::new(&tokenizer);
    let mut stdout = std::io::stdout().lock();
    if !args.json {
        write!(stdout, "{}", args.prompt)?;
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
            "prompt": args.prompt,
            "prompt_ids": generation.prompt_ids,
            "generated_ids": generation.new_ids,
            "text": text,
            "stopped_at_eos": generation.stopped_at_eos,
            "random_weights": args.model.is_none(),
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
