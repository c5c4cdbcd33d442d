//! `cargo run --release -p ch09-batching -- --prompt A --prompt B ... --max-new-tokens N`:
//! generate for several prompts in one batch.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::run::RunError;
use ch04_gpt::{GenerateOptions, Generation, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch09_batching::{generate_batch, BatchFamily, BatchedAttention, BatchedModel};
use clap::Parser;
use shared::cli::{ModelArgs, SamplingArgs};
use std::io::Write;
use std::process::ExitCode;

/// Generate for several prompts at once (chapter 9): the prompts are left-padded into one
/// batch, each row with its attention mask and its own position ids, and every step runs the
/// whole batch through the model in one pass.
///
/// With --model DIR, a Hugging Face folder of GPT-2, Llama, Qwen2, Qwen3 or GPT-NeoX
/// (config.json, model.safetensors, tokenizer.json). Without it: the project's default model, a
/// small GPT-2 chapter 5 trained on generated stories.
#[derive(Parser)]
#[command(about, long_about)]
struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// A prompt; repeat for a batch (--prompt A --prompt B ...). Default: two example prompts.
    #[arg(long = "prompt", value_name = "TEXT", value_parser = shared::cli::non_empty_text)]
    prompts: Vec<String>,
    /// How many new tokens to generate per prompt (at least 1).
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = shared::cli::positive_count, allow_negative_numbers = true)]
    max_new_tokens: usize,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Print one JSON object: one row per prompt, in order, with its prompt ids and generated ids.
    #[arg(long)]
    json: bool,
}

const DEFAULT_PROMPTS: [&str; 2] = ["Once upon a time", "Mia could not find her"];

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), RunError> {
    let SamplingArgs { temperature, top_k, top_p } = args.sampling;
    let sampling = Sampling { temperature, top_k, top_p };
    sampling.validate()?;
    let texts: Vec<String> = if args.prompts.is_empty() { DEFAULT_PROMPTS.map(String::from).to_vec() } else { args.prompts.clone() };
    // --model DIR, or the project's trained story model (chapter 5)
    let (dir, name) = args.model.dir_or_default();
    let dir = dir.as_path();
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
    let prompts = encode(&tokenizer, &texts)?;
    if shared::checkpoint::is_gpt2(dir)? {
        let model = Gpt::<f32>::from_pretrained(dir)?;
        let eos = model.config.eos_token_id.or(tokenizer.eos_token_id());
        run_batch::<Gpt<f32, BatchedAttention<f32>>>(args, model, &tokenizer, &texts, &prompts, eos, sampling, &name)
    } else {
        let model = Decoder::<f32>::from_pretrained(dir)?; // Llama, Qwen2, Qwen3, GPT-NeoX, or a clear error
        let eos = model.config.eos_token_id.or(tokenizer.eos_token_id());
        run_batch::<Decoder<f32, BatchedAttention<f32, RotaryAttention<f32>>>>(args, model, &tokenizer, &texts, &prompts, eos, sampling, &name)
    }
}

/// Every prompt's ids; an empty encoding is an error that names the prompt.
fn encode(tokenizer: &Tokenizer, texts: &[String]) -> Result<Vec<Vec<u32>>, RunError> {
    texts.iter().map(|t| {
        let ids = tokenizer.encode_prompt(t)?;
        if ids.is_empty() {
            return Err(shared::Error::InvalidArgument(format!("the prompt {t:?} has no tokens")).into());
        }
        Ok(ids)
    }).collect()
}

#[allow(clippy::too_many_arguments)]
fn run_batch<M: BatchFamily<Float = f32> + Send>(args: &Args, model: M::Plain, tokenizer: &Tokenizer, texts: &[String], prompts: &[Vec<u32>], eos: Option<u32>, sampling: Sampling, name: &str) -> Result<(), RunError> {
    let options = GenerateOptions { max_new_tokens: args.max_new_tokens, sampling, seed: args.model.seed, eos_token_id: eos };
    let mut batched = BatchedModel::<M>::preallocated(model);
    let rows = generate_batch(&mut batched, prompts, &options)?;
    let mut stdout = std::io::stdout().lock();
    let total_new: usize = rows.iter().map(|g| g.new_ids.len()).sum();
    let secs = rows.first().map_or(0.0, |g| g.total_time.as_secs_f64());
    if args.json {
        let rows_json = rows.iter().zip(texts).map(|(g, text)| row_json(tokenizer, g, text)).collect::<Result<Vec<_>, RunError>>()?;
        let out = serde_json::json!({
            "model": name,
            "random_weights": false,
            "batch_size": rows.len(),
            "rows": rows_json,
            "total_new_tokens": total_new,
            "total_s": secs,
            "tokens_per_s": total_new as f64 / secs.max(1e-12),
        });
        writeln!(stdout, "{out}")?;
    } else {
        eprintln!("model: {name}");
        for (b, (g, text)) in rows.iter().zip(texts).enumerate() {
            let end = if g.stopped_at_eos { " [end of text]" } else { "" };
            writeln!(stdout, "[{b}] {text}{}{end}", tokenizer.decode(&g.new_ids)?)?;
        }
        eprintln!("{} prompts in one batch, {total_new} new tokens in {secs:.2} s ({:.1} tokens/s in total)", rows.len(), total_new as f64 / secs.max(1e-12));
    }
    Ok(())
}

fn row_json(tokenizer: &Tokenizer, g: &Generation, text: &str) -> Result<serde_json::Value, RunError> {
    Ok(serde_json::json!({
        "prompt": text,
        "prompt_ids": g.prompt_ids,
        "generated_ids": g.new_ids,
        "text": tokenizer.decode(&g.new_ids)?,
        "stopped_at_eos": g.stopped_at_eos,
    }))
}
