//! `cargo run --release -p ch10-paged-attention -- --prompt TEXT --max-new-tokens N --block-size B
//! [--model DIR] [--json]`: generate through a paged KV cache.
//! `... -- simulate [--json] [--plot FILE]`: the memory study ([`simulate_cmd`]).

mod simulate_cmd;

use ch01_tokenizer::Tokenizer;
use ch04_gpt::run::{GenerateArgs, RunError};
use ch04_gpt::{generate, GenerateOptions, Gpt};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch10_paged_attention::{PagedAttention, PagedFamily, PagedModel};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Generate through a paged KV cache (chapter 10): keys and values live in fixed-size blocks of
/// a pool, found through the sequence's block table; the tokens are chapter 8's.
///
/// With --model DIR, a Hugging Face folder of GPT-2, Llama, Qwen2, Qwen3, GPT-NeoX, Mixtral or
/// Qwen3-MoE (config.json, model.safetensors, tokenizer.json). Without it: the project's default
/// model, a small GPT-2 chapter 5 trained on generated stories.
///
/// `simulate [--json] [--plot FILE]` instead runs the memory study: contiguous reservation
/// against paging on a simulated stream of requests (see `simulate --help`).
#[derive(Parser)]
#[command(about, long_about)]
struct Args {
    #[command(flatten)]
    generate: GenerateArgs,
    /// Tokens per block of the KV cache (vLLM's default is 16).
    #[arg(long, value_name = "B", default_value_t = 16, value_parser = shared::cli::positive_count, allow_negative_numbers = true)]
    block_size: usize,
    /// Blocks in the pool (default: enough for the whole context).
    #[arg(long, value_name = "N", value_parser = shared::cli::positive_count, allow_negative_numbers = true)]
    num_blocks: Option<usize>,
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("simulate") {
        return simulate_cmd::main(std::env::args().skip(2));
    }
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), RunError> {
    let (dir, name) = args.generate.model.dir_or_default();
    let dir = dir.as_path();
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
    let eos = |config_eos: Option<u32>| config_eos.or(tokenizer.eos_token_id());
    match shared::checkpoint::model_type(dir)?.as_deref() {
        None | Some("gpt2") => {
            let model = Gpt::<f32>::from_pretrained(dir)?; // old GPT-2 files name no model_type
            let eos = eos(model.config.eos_token_id);
            run_paged::<Gpt<f32, PagedAttention<f32>>>(args, model, &tokenizer, eos, &name)
        }
        Some(t) if ch07_moe::config::is_moe_model_type(t) => {
            let model = ch07_moe::from_pretrained::<f32>(dir)?.1; // Mixtral, Qwen3-MoE
            let eos = eos(model.config.eos_token_id);
            run_paged::<Decoder<f32, PagedAttention<f32, RotaryAttention<f32>>, ch07_moe::MoeFeedForward<f32>>>(args, model, &tokenizer, eos, &name)
        }
        Some(_) => {
            let model = Decoder::<f32>::from_pretrained(dir)?; // Llama, Qwen2, Qwen3, GPT-NeoX, or a clear error
            let eos = eos(model.config.eos_token_id);
            run_paged::<Decoder<f32, PagedAttention<f32, RotaryAttention<f32>>>>(args, model, &tokenizer, eos, &name)
        }
    }
}

/// The `model_type` a model folder's `config.json` names, if any (old GPT-2 files name none).
fn run_paged<M: PagedFamily<Float = f32> + Send>(args: &Args, model: M::Plain, tokenizer: &Tokenizer, eos: Option<u32>, name: &str) -> Result<(), RunError> {
    let g = &args.generate;
    let prompt_ids = g.prompt_ids(tokenizer, ch04_gpt::CausalLm::context_length(&model))?;
    let num_blocks = args.num_blocks.unwrap_or(ch04_gpt::CausalLm::context_length(&model).div_ceil(args.block_size));
    let mut paged = PagedModel::<M>::new(model, num_blocks, args.block_size).map_err(shared::Error::from)?;
    let options = GenerateOptions { max_new_tokens: g.prompt.max_new_tokens, sampling: g.sampling()?, seed: g.model.seed, eos_token_id: eos };
    // chapter 4's loop; the whole of it on a rayon worker, so each matrix x vector splits in place
    let generation = shared::on_worker_thread(|| generate(&mut paged, &prompt_ids, &options, |_| Ok(())))?;
    let table = paged.table(0).ok_or_else(|| shared::Error::InvalidArgument("the generation left no sequence".into()))?;
    let (tokens, blocks) = (table.len(), table.blocks().len());
    let bytes_per_block = paged.bytes_per_block();
    let text = tokenizer.decode(&generation.new_ids)?;
    let mut stdout = std::io::stdout().lock();
    if g.json {
        let out = serde_json::json!({
            "model": name,
            "prompt": g.prompt.prompt,
            "prompt_ids": generation.prompt_ids,
            "generated_ids": generation.new_ids,
            "text": text,
            "stopped_at_eos": generation.stopped_at_eos,
            "block_size": args.block_size,
            "num_blocks": num_blocks,
            "cached_tokens": tokens,
            "blocks_used": blocks,
            "block_table": table.blocks(),
            "kv_bytes_per_block": bytes_per_block,
            "total_s": generation.total_time.as_secs_f64(),
            "tokens_per_s": generation.tokens_per_second(),
        });
        writeln!(stdout, "{out}")?;
    } else {
        writeln!(stdout, "{}{text}", g.prompt.prompt)?;
        eprintln!("model: {name}");
        eprintln!(
            "{} prompt + {} new tokens in {:.2} s ({:.1} tokens/s); {tokens} cached in {blocks} blocks of {} (of {num_blocks}), {} KV bytes per block",
            generation.prompt_ids.len(),
            generation.new_ids.len(),
            generation.total_time.as_secs_f64(),
            generation.tokens_per_second(),
            args.block_size,
            bytes_per_block,
        );
    }
    Ok(())
}
