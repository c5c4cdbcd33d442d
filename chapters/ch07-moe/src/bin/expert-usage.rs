//! `cargo run --release -p ch07-moe --bin expert-usage -- [--model DIR] [--prompt TEXT]`:
//! which experts each layer's router chose for the tokens of a prompt, printed and drawn.

use ch01_tokenizer::Tokenizer;
use ch07_moe::model::describe;
use ch07_moe::{from_pretrained, random, read_config, take_expert_counts, MoeConfig};
use clap::Parser;
use plotters::prelude::*;
use shared::cli::{existing_folder, OutArgs};
use std::path::PathBuf;
use std::process::ExitCode;

/// Expert usage: run a prompt through a mixture-of-experts model (uncached, once) and count,
/// in every MoE layer, how many of its tokens each expert read.
///
/// With top-k experts per token, each layer's counts add up to top-k x the prompt's tokens.
/// Prints the counts and draws one bar chart per MoE layer into --out as expert_usage.svg.
/// Without --model the weights are those of the binary's seeded random small Mixtral (GPT-2's
/// tokenizer): its routers are untrained, so this shows the mechanism, not what experts learn.
#[derive(Parser)]
#[command(name = "expert-usage", version, verbatim_doc_comment)]
struct Args {
    /// A Hugging Face Mixtral or Qwen3-MoE folder (config.json, safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR", value_parser = existing_folder)]
    model: Option<PathBuf>,
    /// The text whose tokens are routed.
    #[arg(long, default_value = "A mixture of experts keeps many feed-forward networks in every layer, and a small router sends each token to only two of them. The keys and values of attention are cached as before.")]
    prompt: String,
    /// Seed of the random weights without --model.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    out: OutArgs,
}

fn main() -> ExitCode {
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let dir = args.out.dir_or("target/ch07-plots")?;
    let (config, tokenizer, mut model, what) = match &args.model {
        Some(dir) => {
            let config = read_config(dir)?;
            let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
            (config, tokenizer, from_pretrained::<f32>(dir)?.1, dir.display().to_string())
        }
        None => {
            let tokenizer = Tokenizer::shipped();
            let config = MoeConfig::small_mixtral(tokenizer.vocab_size());
            let model = random::<f32>(&config, args.seed)?;
            (config, tokenizer, model, format!("RANDOM weights (seed {})", args.seed))
        }
    };
    let ids = tokenizer.encode(&args.prompt)?;
    if ids.is_empty() || ids.len() > config.decoder.context_length {
        return Err(format!("--prompt encodes to {} tokens: need 1 to {}", ids.len(), config.decoder.context_length).into());
    }
    take_expert_counts(&mut model); // start from zero
    model.logits(&ids)?;
    let counts: Vec<(usize, Vec<u64>)> = take_expert_counts(&mut model)
        .into_iter()
        .enumerate()
        .filter_map(|(layer, c)| c.map(|c| (layer, c)))
        .collect();

    println!("{} ({what})", describe(&config));
    println!("Prompt: {} tokens; each token reads {} of {} experts per MoE layer.\n", ids.len(), config.top_k, config.n_experts);
    println!("tokens read by each expert");
    print!("{:>6}", "layer");
    for e in 0..config.n_experts.min(16) {
        print!("{e:>5}");
    }
    println!("{}", if config.n_experts > 16 { "  ..." } else { "" });
    for (layer, c) in &counts {
        print!("{layer:>6}");
        for n in c.iter().take(16) {
            print!("{n:>5}");
        }
        let unused = c.iter().filter(|&&n| n == 0).count();
        println!("   (sum {}, {unused} experts never read)", c.iter().sum::<u64>());
    }

    let path = dir.join("expert_usage.svg");
    let title = format!("{} experts per layer, top-{}, {} tokens: {}", config.n_experts, config.top_k, ids.len(), what);
    shared::write_atomic(&path, draw(&counts, &title)?.as_bytes())?;
    println!("\nPlot written: {}", path.display());
    Ok(())
}

/// One bar chart per MoE layer (up to 4 in a row): tokens read by each expert.
fn draw(counts: &[(usize, Vec<u64>)], title: &str) -> Result<String, Box<dyn std::error::Error>> {
    let err = |e: DrawingAreaErrorKind<_>| format!("drawing expert_usage.svg: {e:?}");
    let cols = counts.len().clamp(1, 4);
    let rows = counts.len().div_ceil(cols).max(1);
    let max = counts.iter().flat_map(|(_, c)| c.iter().copied()).max().unwrap_or(1).max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (290 * cols as u32 + 20, 260 * rows as u32 + 50)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(title, ("sans-serif", 17)).map_err(err)?;
        let panels = root.split_evenly((rows, cols));
        for ((layer, c), panel) in counts.iter().zip(panels.iter()) {
            let n = c.len() as f64;
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("layer {layer}"), ("sans-serif", 15))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(40)
                .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..max * 1.1)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_desc("expert")
                .y_desc("tokens")
                .x_labels(c.len().min(16))
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.0}"))
                .draw()
                .map_err(err)?;
            let blue = RGBColor(0, 90, 200);
            chart
                .draw_series(c.iter().enumerate().map(|(e, &k)| Rectangle::new([(e as f64 - 0.35, 0.0), (e as f64 + 0.35, k as f64)], blue.filled())))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
