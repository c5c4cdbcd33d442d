//! The command line: the demo's options, the `bench` subcommand's options, and their checks.

use clap::{Args, Parser, Subcommand, ValueEnum};
use shared::GptConfig;
use std::path::PathBuf;

/// The KV cache, shown: the same tokens with and without it, how much faster, and what it costs.
///
/// Without a subcommand, runs the chapter 8 demo:
///
///   1. generates text after --prompt WITH the KV cache (streamed token by token), then again
///      WITHOUT it, and checks that the tokens are identical (exit code 1 if not);
///
///   2. times both for every length of --lengths and prints seconds, tokens/s and the speedup;
///
///   3. counts the bytes copied into the cache per token by the two storage strategies
///      (concatenating, O(n) per token; preallocated, O(1) per token);
///
///   4. shows what the cache holds after step 1, and the cache size of published models;
///
///   5. writes SVG plots into --out.
///
/// Without --model the weights are RANDOM (seeded, with the exact GPT-2 124M shape): the speed
/// and memory figures are real, the text is gibberish. Pass --model with a Hugging Face `gpt2`
/// folder (config.json, model.safetensors, tokenizer.json) to see real text.
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
    /// GFLOP/s, and compare them with the bandwidth roofline.
    Bench(BenchArgs),
}

/// The demo's options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Text to continue, encoded with the tokenizer (the default is about 9 tokens with
    /// chapter 1's shipped tokenizer, fewer with GPT-2's).
    #[arg(long, value_name = "TEXT", default_value = "The KV cache makes generation")]
    pub prompt: String,

    /// Hugging Face GPT-2 folder with config.json, model.safetensors and tokenizer.json
    /// (for example a download of `gpt2`). Default: random weights with GPT-2 124M's shape and
    /// chapter 1's shipped tokenizer.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Folder the SVG plots are written to (created if missing).
    #[arg(long, value_name = "DIR", default_value = "target/ch08-plots")]
    pub out: PathBuf,

    /// Print one JSON object with every figure instead of the human-readable report.
    #[arg(long)]
    pub json: bool,

    /// Tokens generated (and streamed) by the cached-vs-uncached comparison of step 1.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub max_new_tokens: usize,

    /// Generation lengths of the timing table, in new tokens, comma separated. Each is
    /// generated twice (with and without the cache); the longest is also used to count bytes
    /// copied. GPT-2 124M without the cache needs tens of seconds for 200 tokens on 2 cores.
    #[arg(long, value_name = "N,N,...", default_value = "10,20,50,100,200", value_parser = parse_lengths)]
    pub lengths: Lengths,

    /// Seed of the random weights (without --model) and of sampling (with --temperature > 0).
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// Sampling temperature; 0 (the default) is greedy decoding.
    #[arg(long, value_name = "T", default_value_t = 0.0, allow_negative_numbers = true)]
    pub temperature: f64,

    /// Sample only among the K most likely tokens (with --temperature > 0).
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,

    /// Model shape when no --model is given (`tiny` is a fast test model).
    #[arg(long, value_enum, default_value_t = Preset::Gpt2_124m, hide = true, conflicts_with = "model")]
    pub config: Preset,
}

/// The `bench` subcommand's options.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Model shape (random weights): `124m` is GPT-2 small (12 layers, 768 wide), `small`
    /// is 4 layers, 256 wide, with GPT-2's vocabulary.
    #[arg(long, value_enum, default_value_t = Preset::Gpt2_124m)]
    pub config: Preset,

    /// Prompt lengths, in tokens, after which decode speed is measured, comma separated.
    #[arg(long, value_name = "N,N,...", default_value = "8,512", value_parser = parse_lengths)]
    pub prompt_len: Lengths,

    /// Tokens generated WITH the cache after each prompt (decode speed = tokens/s after the
    /// first token).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub new_tokens: usize,

    /// Tokens generated WITHOUT the cache after each prompt: fewer, because every step
    /// recomputes the whole sequence (the reported rate is for this shorter generation).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub uncached_new_tokens: usize,

    /// Prompt length, in tokens, of the prefill measurement (one forward pass over the prompt).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub prefill_len: usize,

    /// Repetitions of every decode and prefill measurement; the report gives the median.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub runs: usize,

    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,

    /// Seed of the random weights and prompts.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// A Hugging Face GPT-2 folder (config.json + model.safetensors) to measure instead of
    /// random weights: `tools/bench-vs-pytorch.py` passes the weights it times PyTorch on.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub model: Option<PathBuf>,

    /// Size of the buffer the bandwidth probe reads, in MiB (bigger than every cache).
    #[arg(long, value_name = "MIB", default_value_t = 1024, hide = true)]
    pub bandwidth_mib: usize,
}

/// Model shapes the binary can build with random weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// GPT-2 small: 124M parameters, 12 layers, 12 heads, 768 wide, context 1024.
    #[value(name = "124m")]
    Gpt2_124m,
    /// 4 layers, 4 heads, 256 wide, GPT-2's vocabulary and context.
    #[value(name = "small")]
    Small,
    /// 2 layers, 2 heads, 32 wide, context 256: for fast tests of the whole program.
    #[value(name = "tiny", hide = true)]
    Tiny,
}

impl Preset {
    pub fn config(self) -> GptConfig {
        match self {
            Preset::Gpt2_124m => GptConfig::gpt2_124m(),
            Preset::Small => GptConfig::small(),
            Preset::Tiny => GptConfig::gpt2_like(50257, 256, 32, 2, 2),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Gpt2_124m => "gpt2-124m",
            Preset::Small => "small",
            Preset::Tiny => "tiny",
        }
    }
}

/// A comma-separated list of positive token counts (`10,20,50`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lengths(pub Vec<usize>);

/// Parse `10,20,50` into sorted, distinct, positive counts.
pub fn parse_lengths(text: &str) -> Result<Lengths, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err("expected positive whole numbers separated by commas, like 10,20,50".into());
        }
        match part.parse::<usize>() {
            Ok(0) => return Err("0 is not a length: every length must be at least 1 token".into()),
            Ok(n) => out.push(n),
            Err(_) => return Err(format!("{part:?} is not a positive whole number")),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(Lengths(out))
}

/// Turn a clap error into our one-line form: `(exit code, message)`, or `None` for `--help` and
/// `--version`, which clap prints itself.
pub fn clap_error_line(e: &clap::Error) -> Option<(u8, String)> {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return None;
    }
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid command line").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    Some((2, format!("{first} (see --help)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_parse_sort_and_reject() {
        assert_eq!(parse_lengths("50, 10,20,10").unwrap(), Lengths(vec![10, 20, 50]));
        assert!(parse_lengths("").is_err());
        assert!(parse_lengths("10,,20").is_err());
        assert!(parse_lengths("0").is_err());
        assert!(parse_lengths("-3").is_err());
        assert!(parse_lengths("ten").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
