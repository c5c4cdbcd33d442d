//! `cargo run --release -p ch08-kv-cache -- --help`: the chapter 8 demo and benchmark.
//!
//! All the logic lives in [`ch08_kv_cache::demo`]; this file only parses the command line and
//! turns failures into one `error: ...` line and a non-zero exit code.

use ch08_kv_cache::demo::cli::{clap_error_line, Cli, Command};
use ch08_kv_cache::demo::{bench, demo_run, DemoError};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match clap_error_line(&e) {
            None => {
                let _ = e.print(); // --help, --version
                return ExitCode::SUCCESS;
            }
            Some((code, line)) => {
                eprintln!("error: {line}");
                return ExitCode::from(code);
            }
        },
    };
    let result = match &cli.command {
        Some(Command::Bench(args)) => bench::run(args),
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
