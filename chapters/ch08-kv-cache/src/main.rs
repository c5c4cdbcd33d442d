//! `cargo run --release -p ch08-kv-cache -- --help`: the chapter 8 demo, and `bench`.
//!
//! The lesson is the library (`ch08_kv_cache`); the demo's harness (command line, timing,
//! plots) lives in this binary's own modules, [`demo`]. The `bench` subcommand is the
//! workspace's `bench` tool (`cargo run --release -p bench`), run in this binary with the same
//! options and the same `--json`. This file only parses the command line and turns failures
//! into one `error: ...` line and a non-zero exit code.

mod demo;
// Cargo forbids `ch08-kv-cache -> bench -> ch08-kv-cache`, so the tool's models (its one
// adapter of `KvModel` to the benchmark, GPT-2's and chapter 6's shapes) are compiled here from
// its source.
#[path = "../../../tools/bench/src/models.rs"]
mod bench_models;

use demo::cli::{Cli, Command};
use demo::{demo_run, DemoError};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = shared::cli::parse_or_exit::<Cli>(); // a usage error: one `error:` line, exit 2
    let result = match &cli.command {
        Some(Command::Bench(args)) => bench_models::run(args).map_err(DemoError::from),
        None => demo_run::run(&cli.demo),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(DemoError::StdoutClosed) => ExitCode::SUCCESS, // `| head`: the reader has what it wanted
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            ExitCode::from(e.exit_code())
        }
    }
}
