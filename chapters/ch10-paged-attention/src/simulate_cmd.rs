//! `ch10-paged-attention simulate [--json] [--plot FILE]`: the memory study of
//! [`ch10_paged_attention::simulate`], as a table (or one JSON object) and a bar chart.

use ch08_kv_cache::memory::{format_bytes, Dtype, ModelShape, GQA};
use ch10_paged_attention::simulate::{simulate, SimulateError, Strategy, StrategyReport, Workload};
use clap::Parser;
use plotters::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;

/// Simulate a stream of requests and compare how much KV memory holds real tokens when it is
/// reserved contiguously (to the context length, or to each request's max new tokens) or taken
/// in blocks as tokens arrive (paged). Also counts how many requests fit an 8 GiB budget of
/// fp16 Llama-2-7B keys and values.
#[derive(Parser)]
#[command(name = "simulate", about, long_about)]
struct Args {
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also draw the comparison as an SVG bar chart into FILE (written atomically).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// The workload generator's seed.
    #[arg(long, value_name = "S", default_value_t = Workload::default().seed, value_parser = shared::cli::seed)]
    seed: u64,
    /// How many requests to simulate (at least 1).
    #[arg(long, value_name = "N", default_value_t = Workload::default().n_requests, value_parser = shared::cli::positive_count, allow_negative_numbers = true)]
    requests: usize,
    /// Tokens per block for the paged strategy (at least 1).
    #[arg(long, value_name = "B", default_value_t = 16, value_parser = shared::cli::positive_count, allow_negative_numbers = true)]
    block_size: usize,
}

/// The budget's model: Llama 2 7B (32 layers, 32 KV heads of 128), fp16: 512 KiB per token.
fn budget_model() -> &'static ModelShape {
    &GQA[2]
}
const BUDGET_BYTES: u128 = 8 << 30;
const DTYPE: Dtype = Dtype::F16;

/// Run the subcommand; `args` are the words after `simulate`.
pub fn main(args: impl IntoIterator<Item = String>) -> ExitCode {
    let args = match Args::try_parse_from(std::iter::once("simulate".to_string()).chain(args)) {
        Ok(args) => args,
        Err(e) => match shared::cli::usage_error_line(&e) {
            None => {
                let _ = e.print(); // --help
                return ExitCode::SUCCESS;
            }
            Some(line) => {
                eprintln!("error: {line}");
                return ExitCode::from(2);
            }
        },
    };
    shared::exit_code(run(&args))
}

#[derive(Debug, thiserror::Error)]
enum CmdError {
    #[error(transparent)]
    Simulate(#[from] SimulateError),
    #[error(transparent)]
    Write(#[from] shared::Error),
    #[error("cannot draw the plot: {0}")]
    Plot(String),
}

fn run(args: &Args) -> Result<(), CmdError> {
    let workload = Workload { n_requests: args.requests, seed: args.seed, ..Workload::default() };
    let per_token = budget_model().bytes_per_token(DTYPE);
    let budget_tokens = (BUDGET_BYTES / per_token) as usize;
    let reports = simulate(&workload, args.block_size, budget_tokens)?;
    if args.json {
        let mut out = serde_json::json!({
            "workload": {
                "n_requests": workload.n_requests, "seed": workload.seed, "context_length": workload.context_length,
                "prompt_len": format!("uniform 1..={}", 2 * workload.mean_prompt - 1),
                "output_len": format!("exponential, mean {}, cut at max_new_tokens {}", workload.mean_output, workload.max_new_tokens),
            },
            "block_size": args.block_size,
            "budget": { "model": budget_model().name, "dtype": DTYPE.name(), "bytes": BUDGET_BYTES as u64, "token_slots": budget_tokens },
        });
        for r in &reports {
            out[r.strategy.key()] = serde_json::json!({
                "utilization": r.utilization(), "tokens": r.tokens, "reserved_token_slots": r.reserved, "requests_fit": r.requests_fit,
            });
        }
        println!("{out}");
    } else {
        print!("{}", table(&workload, args.block_size, budget_tokens, &reports));
    }
    if let Some(path) = &args.plot {
        let svg = draw(&reports, args.block_size).map_err(CmdError::Plot)?;
        shared::write_atomic(path, svg.as_bytes())?;
        if !args.json {
            println!("Plot written: {}", path.display());
        }
    }
    Ok(())
}

fn label(strategy: Strategy, block_size: usize) -> String {
    match strategy {
        Strategy::ContiguousContext => "contiguous, to the context".into(),
        Strategy::ContiguousMaxTokens => "contiguous, to max tokens".into(),
        Strategy::Paged => format!("paged, blocks of {block_size}"),
    }
}

fn table(workload: &Workload, block_size: usize, budget_tokens: usize, reports: &[StrategyReport]) -> String {
    let mut t = format!(
        "{} requests (seed {}): prompts uniform in 1..={} tokens, outputs exponential with mean {} \
         cut at max_new_tokens {}; context {}.\nBudget: {} of {} keys and values for {} = {} token slots.\n\n",
        workload.n_requests,
        workload.seed,
        2 * workload.mean_prompt - 1,
        workload.mean_output,
        workload.max_new_tokens,
        workload.context_length,
        format_bytes(BUDGET_BYTES),
        DTYPE.name(),
        budget_model().name,
        budget_tokens,
    );
    t += &format!("{:<28} {:>14} {:>12} {:>12} {:>8} {:>15}\n", "strategy", "reserved slots", "real tokens", "utilization", "waste", "requests in 8 GiB");
    for r in reports {
        let u = r.utilization();
        t += &format!(
            "{:<28} {:>14} {:>12} {:>11.1}% {:>7.1}% {:>15}\n",
            label(r.strategy, block_size),
            r.reserved,
            r.tokens,
            100.0 * u,
            100.0 * (1.0 - u),
            r.requests_fit
        );
    }
    t
}

/// Two bar charts side by side: the share of KV memory holding real tokens, and how many
/// requests fit the budget.
fn draw(reports: &[StrategyReport], block_size: usize) -> Result<String, String> {
    let err = |e: DrawingAreaErrorKind<_>| format!("{e:?}");
    let colors = [RGBColor(200, 40, 40), RGBColor(230, 140, 0), RGBColor(0, 90, 200)];
    let n = reports.len() as f64;
    let max_fit = reports.iter().map(|r| r.requests_fit).max().unwrap_or(1).max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root
            .titled("KV memory: contiguous reservation against paging (simulated ShareGPT-like requests)", ("sans-serif", 18))
            .map_err(err)?;
        let panels = root.split_evenly((1, 2));
        // short names under the bars
        let names: Vec<String> = reports
            .iter()
            .map(|r| match r.strategy {
                Strategy::ContiguousContext => "contiguous: context".to_string(),
                Strategy::ContiguousMaxTokens => "contiguous: max tokens".to_string(),
                Strategy::Paged => format!("paged: blocks of {block_size}"),
            })
            .collect();
        // (caption, y axis, y max, in percent, the value of a strategy)
        type Panel<'a> = (&'a str, &'a str, f64, bool, fn(&StrategyReport) -> f64);
        let charts: [Panel; 2] = [
            ("share of reserved KV memory holding real tokens", "utilization (%)", 110.0, true, |r| 100.0 * r.utilization()),
            ("requests that fit 8 GiB of fp16 Llama-2-7B KV", "requests", max_fit * 1.15, false, |r| r.requests_fit as f64),
        ];
        for ((caption, y_desc, y_max, percent, value), panel) in charts.iter().zip(panels.iter()) {
            let mut chart = ChartBuilder::on(panel)
                .caption(*caption, ("sans-serif", 15))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..*y_max)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(reports.len())
                .x_label_formatter(&|x| names.get(x.round() as usize).cloned().unwrap_or_default())
                .y_desc(*y_desc)
                .y_label_formatter(&|y| format!("{y:.0}"))
                .draw()
                .map_err(err)?;
            for (i, r) in reports.iter().enumerate() {
                let (x, v) = (i as f64, value(r));
                chart.draw_series([Rectangle::new([(x - 0.3, 0.0), (x + 0.3, v)], colors[i % 3].filled())]).map_err(err)?;
                let text = if *percent { format!("{v:.1}%") } else { format!("{v:.0}") };
                chart
                    .draw_series([Text::new(text, (x - 0.12, v + y_max * 0.06), ("sans-serif", 14))])
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
