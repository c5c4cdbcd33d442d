//! The command line: the demo's options, and the `bench` subcommand (the `bench` tool's options).

use clap::{Args, Parser, Subcommand};
use measure::cli::{parse_lengths, Lengths, Preset};
use measure::BenchArgs;
use shared::cli::{ModelArgs, OutArgs, PromptArgs, SamplingArgs};
use std::path::PathBuf;

/// The KV cache, shown: the same tokens with and without it, how much faster, and what it costs.
///
/// Without a subcommand, runs the chapter 8 demo:
///
///   1. generates text after --prompt WITH the KV cache (streamed token by token), then again
///      WITHOUT it, and checks that the tokens are identical (exit code 1 if not);
///
///   2. times both (median of --runs runs) for every length of --lengths that fits the
///      model's context, says which it skipped, and prints seconds, tokens/s and the speedup;
///
///   3. counts the bytes copied into the cache per token by the two storage strategies
///      (concatenating, O(n) per token; preallocated, O(1) per token);
///
///   4. shows what the cache holds after the generation of step 1, and the cache size of
///      published models;
///
///   5. writes SVG plots into --out (checked before anything else runs).
///
/// Without --model it runs the project's default model: a small GPT-2 (3.5M parameters,
/// context 256) that chapter 5 trained on its generated children's stories
/// (models/gpt2-stories-3.5m in the repository), so the text is English. --model DIR runs a
/// Hugging Face folder (config.json, model.safetensors, tokenizer.json) of GPT-2, Llama, Qwen or
/// GPT-NeoX. --config 124m runs RANDOM (seeded) weights with the exact GPT-2 124M shape: the
/// speed and memory figures of a real-sized model, and gibberish text.
///
/// `bench` measures this machine's memory bandwidth and matrix-multiply speed and compares the
/// model's decode and prefill speed with them (see `bench --help`).
#[derive(Debug, Parser)]
#[command(name = "ch08-kv-cache", version, verbatim_doc_comment, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub demo: DemoArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure memory bandwidth, sgemm peak, decode tokens/s (cached and uncached), prefill
    /// GFLOP/s, and compare them with the bandwidth roofline (the same as
    /// `cargo run --release -p bench`).
    Bench(BenchArgs),
}

/// The demo's options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    // --- model, prompt, sampling, output folder: the options every binary shares ---
    #[command(flatten)]
    pub model: ModelArgs,

    /// RANDOM (seeded) weights of this shape instead of the default model: 124m is GPT-2
    /// small's shape, for the speed story (`tiny` is a fast test model).
    #[arg(long, value_name = "NAME", value_enum, conflicts_with = "model")]
    pub config: Option<Preset>,

    /// With --model: how the weight matrices are held in memory. Without it, as the folder
    /// stores them (a bf16 or f16 checkpoint stays 16-bit, widened inside the decode kernel);
    /// `f32` widens them when they are read.
    #[arg(long, value_enum, value_name = "DTYPE", requires = "model")]
    pub weights: Option<shared::cli::Weights>,

    #[command(flatten)]
    pub prompt: PromptArgs,

    #[command(flatten)]
    pub sampling: SamplingArgs,

    #[command(flatten)]
    pub out: OutArgs,

    // --- the demo's own options ---
    /// Generation lengths of the timing table, in new tokens, comma separated. Each is
    /// generated with and without the cache; lengths that do not fit the model's context
    /// after the prompt are skipped (and named). The longest measured is also used to count
    /// bytes copied.
    #[arg(long, value_name = "N,N,...", default_value = "10,20,50,100", value_parser = parse_lengths)]
    pub lengths: Lengths,

    /// Runs of every timed length; the table and plots show the median.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub runs: usize,

    /// Print one JSON object with every figure instead of the human-readable report.
    #[arg(long)]
    pub json: bool,
}

/// Where the plots go when --out is not given.
pub const DEFAULT_OUT: &str = "target/ch08-plots";

impl DemoArgs {
    /// The plot folder: --out, or [`DEFAULT_OUT`].
    pub fn out_dir(&self) -> PathBuf {
        self.out.out.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_OUT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
