//! `cargo run --release -p bench -- [--model DIR] [--config 124m|small|smollm2-135m] [--json] ...`: how
//! close a model's decode and prefill come to this machine's memory bandwidth and sgemm peak.
//!
//! The measuring lives in the `measure` library; this binary only loads a model and adapts it
//! to [`measure::Decoder`]. Models: GPT-2 (chapter 8's `KvGpt`) and chapter 6's Llama, Qwen2,
//! Qwen3 and GPT-NeoX (chapter 8's `KvDecoder`), random at a preset shape (`--config 124m`,
//! `--config smollm2-135m`) or a Hugging Face folder (`--model DIR`, by its `model_type`).
//! Chapter 8's `cargo run --release -p ch08-kv-cache -- bench` is the same program.

mod batched;
mod models;

use clap::Parser;
use measure::{BenchArgs, MeasureError};
use std::process::ExitCode;

/// Measure memory bandwidth, sgemm peak, decode tokens/s (cached and uncached), prefill
/// GFLOP/s and peak memory, and compare them with the bandwidth roofline. Prints the CPU
/// model and the kernels chosen with the figures.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
    /// Instead: total decode tokens/s of chapter 9's batches at these batch sizes (GPT-2),
    /// against the memory and compute rooflines (`--prompt-len` first value, `--new-tokens`).
    #[arg(long, value_name = "B,B,...", value_parser = measure::cli::parse_lengths)]
    batch: Option<measure::Lengths>,
    /// With --batch: draw tokens/s against the batch size into this SVG file.
    #[arg(long, value_name = "FILE", requires = "batch")]
    batch_plot: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let cli = shared::cli::parse_or_exit::<Cli>(); // a usage error: one `error:` line, exit 2
    let result = match &cli.batch {
        Some(sizes) => batched::run(&cli.args, &sizes.0, cli.batch_plot.as_deref()),
        None => models::run(&cli.args),
    };
    match result {
        Ok(()) | Err(MeasureError::StdoutClosed) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
