//! `cargo run --release -p ch11-cache-on-disk -- save --context TEXT --out FILE [--model DIR] [--dtype f32|f16|bf16]`
//! then `... ask --cache FILE --question TEXT --max-new-tokens N [--model DIR] [--json]`:
//! compute a context's KV cache once, answer questions from the file.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::run::RunError;
use ch04_gpt::{generate, GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::{CachedAttention, KvModel, WithCaches};
use ch11_cache_on_disk::{load_cache, save_cache, CacheFileError, CacheShape, Dtype, Fingerprint, Resumed};
use clap::{Parser, Subcommand};
use shared::cli::{ModelArgs, SamplingArgs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Save a model's KV cache after a context to one file, then answer questions from it: the
/// answer equals plain generation on context + question, and a file that is damaged or from
/// another model is refused.
///
/// With --model DIR, a Hugging Face folder of GPT-2, Llama, Qwen2, Qwen3 or GPT-NeoX. Without
/// it: the project's default model, a small GPT-2 chapter 5 trained on generated stories.
#[derive(Parser)]
#[command(about, long_about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the model over a context and save its KV cache to a file.
    Save {
        #[command(flatten)]
        model: ModelArgs,
        /// The context to cache.
        #[arg(long, value_name = "TEXT", value_parser = shared::cli::non_empty_text)]
        context: String,
        /// The cache file to write (atomically).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// How the keys and values are stored: f32 exactly, or f16 / bf16 in half the bytes
        /// (rounded; widened back to f32 when loaded).
        #[arg(long, value_name = "DTYPE", default_value = "f32", value_parser = ["f32", "f16", "bf16"])]
        dtype: String,
    },
    /// Load a saved cache and continue with a question (tokenized on its own and appended).
    #[command(visible_alias = "answer")]
    Ask {
        #[command(flatten)]
        model: ModelArgs,
        /// The cache file written by `save` with the same model.
        #[arg(long, value_name = "FILE")]
        cache: PathBuf,
        /// The question, appended to the cached context.
        #[arg(long, value_name = "TEXT", value_parser = shared::cli::non_empty_text)]
        question: String,
        /// How many new tokens to generate (at least 1).
        #[arg(long, value_name = "N", default_value_t = 30, value_parser = shared::cli::positive_count, allow_negative_numbers = true)]
        max_new_tokens: usize,
        #[command(flatten)]
        sampling: SamplingArgs,
        /// Print one JSON object: the context and question ids, the generated ids and text, and
        /// the seconds spent loading the cache and generating.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
enum Error {
    /// Bad input found only once the tokenizer has run (a text of no tokens): exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    CacheFile(#[from] CacheFileError),
}

impl From<shared::Error> for Error {
    fn from(e: shared::Error) -> Self {
        Error::Run(e.into())
    }
}

impl From<ch01_tokenizer::TokenizerError> for Error {
    fn from(e: ch01_tokenizer::TokenizerError) -> Self {
        Error::Run(e.into())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Run(e.into())
    }
}

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    match run(&shared::cli::parse_or_exit::<Args>()) {
        Err(Error::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        result => shared::exit_code(result),
    }
}

fn run(args: &Args) -> Result<(), Error> {
    let model = match &args.command {
        Command::Save { model, .. } | Command::Ask { model, .. } => model,
    };
    let (dir, name) = model.dir_or_default();
    if shared::checkpoint::is_gpt2(&dir)? {
        let plain = Gpt::<f32>::from_pretrained(&dir)?;
        run_with::<Gpt<f32, CachedAttention<f32>>>(args, &dir, &name, plain)
    } else {
        let plain = Decoder::<f32>::from_pretrained(&dir)?;
        run_with::<Decoder<f32, CachedAttention<f32, RotaryAttention<f32>>>>(args, &dir, &name, plain)
    }
}

fn run_with<M: WithCaches<Float = f32> + CacheShape + Send>(args: &Args, dir: &Path, name: &str, plain: M::Plain) -> Result<(), Error> {
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
    let fingerprint = Fingerprint::of_folder(dir)?;
    let mut model = KvModel::<M>::preallocated(plain);
    match &args.command {
        Command::Save { context, out, dtype, .. } => {
            let dtype = Dtype::from_name(dtype).expect("clap checked the name");
            let ids = tokenizer.encode_prompt(context)?;
            if ids.is_empty() {
                return Err(Error::Usage(format!("--context {context:?} encodes to no tokens")));
            }
            model.forward(ndarray::ArrayView2::from_shape((1, ids.len()), &ids).expect("one row"), true)?;
            save_cache(out, &model, &ids, fingerprint, dtype)?;
            let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
            eprintln!("model: {name}");
            eprintln!("saved the KV cache of {} tokens to {} ({bytes} bytes, {})", ids.len(), out.display(), dtype.name());
        }
        Command::Ask { cache, question, max_new_tokens, sampling, json, model: model_args } => {
            let SamplingArgs { temperature, top_k, top_p } = *sampling;
            let sampling = Sampling { temperature, top_k, top_p };
            sampling.validate()?;
            let question_ids = tokenizer.encode(question)?; // on its own, appended
            if question_ids.is_empty() {
                return Err(Error::Usage(format!("--question {question:?} encodes to no tokens: nothing to append to the context")));
            }
            let start = Instant::now();
            let context = load_cache(cache, &mut model, fingerprint)?;
            let load_seconds = start.elapsed().as_secs_f64();
            let prompt: Vec<u32> = context.iter().chain(&question_ids).copied().collect();
            let eos = tokenizer.eos_token_id();
            let options = GenerateOptions { max_new_tokens: *max_new_tokens, sampling, seed: model_args.seed, eos_token_id: eos };
            let start = Instant::now();
            let answer = generate(&mut Resumed { model: &mut model, cached: context.clone() }, &prompt, &options, |_| Ok(()))?;
            let generate_seconds = start.elapsed().as_secs_f64();
            let text = tokenizer.decode(&answer.new_ids)?;
            let mut stdout = std::io::stdout().lock();
            if *json {
                let out = serde_json::json!({
                    "model": name,
                    "cache": cache.display().to_string(),
                    "context_ids": context,
                    "question": question,
                    "question_ids": question_ids,
                    "generated_ids": answer.new_ids,
                    "text": text,
                    "stopped_at_eos": answer.stopped_at_eos,
                    "load_seconds": load_seconds,
                    "generate_seconds": generate_seconds,
                });
                writeln!(stdout, "{out}")?;
            } else {
                eprintln!("model: {name}");
                writeln!(stdout, "{question}{text}")?;
            }
        }
    }
    Ok(())
}
