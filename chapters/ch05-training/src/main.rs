//! `cargo run --release -p ch05-training -- [--init DIR | --config NAME] --data FILE
//! --batch-size B --seq-len T --steps N --lr LR [--weight-decay WD] [--out DIR] [--json]`

use ch01_tokenizer::Tokenizer;
use ch04_gpt::model::read_config;
use ch04_gpt::Gpt;
use ch05_training::{train_step, AdamW, Batches};
use clap::{ArgGroup, Parser};
use measure::cli::Preset;
use measure::progress::Progress;
use shared::cli::{existing_folder, positive_count, seed, writable_folder};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Train a GPT-2 on a text file (chapter 5): forward, hand-written backward, AdamW, every step
/// on the next batch of the file in llm.c's order (batch k = tokens k·B·T .. k·B·T + B·T + 1,
/// starting again at the beginning when the file runs out).
///
/// Start from a Hugging Face GPT-2 folder (--init DIR: its weights, and its tokenizer.json
/// tokenizes --data) or from fresh random weights of a preset shape (--config NAME, with
/// chapter 1's tokenizer). AdamW uses PyTorch's defaults (betas 0.9 and 0.999, eps 1e-8);
/// weight decay applies to the embeddings and linear weights only. No dropout.
#[derive(Parser)]
#[command(about, long_about)]
#[command(group(ArgGroup::new("start").required(true).args(["init", "config"])))]
struct Args {
    /// Start from this Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR", value_parser = existing_folder)]
    init: Option<PathBuf>,
    /// Start from fresh random weights of this shape (GPT-2's vocabulary and tokenizer).
    #[arg(long, value_name = "NAME")]
    config: Option<Preset>,
    /// Seed of the fresh weights (--config).
    #[arg(long, value_name = "S", default_value_t = 42, value_parser = seed, allow_negative_numbers = true)]
    seed: u64,
    /// The training text (UTF-8), tokenized whole.
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    data: PathBuf,
    /// Sequences per batch (B).
    #[arg(long, value_name = "B", value_parser = positive_count, allow_negative_numbers = true)]
    batch_size: usize,
    /// Tokens per sequence (T), at most the model's context.
    #[arg(long, value_name = "T", value_parser = positive_count, allow_negative_numbers = true)]
    seq_len: usize,
    /// Optimiser steps, one batch each.
    #[arg(long, value_name = "N", value_parser = positive_count, allow_negative_numbers = true)]
    steps: usize,
    /// AdamW's learning rate.
    #[arg(long, value_name = "LR", value_parser = learning_rate, allow_negative_numbers = true)]
    lr: f64,
    /// AdamW's decoupled weight decay (embeddings and linear weights only).
    #[arg(long, value_name = "WD", default_value_t = 0.0, value_parser = weight_decay, allow_negative_numbers = true)]
    weight_decay: f64,
    /// Save the trained model here as a Hugging Face GPT-2 folder (config.json,
    /// model.safetensors, tokenizer.json); created if missing, checked before training.
    #[arg(long, value_name = "DIR", value_parser = writable_folder)]
    out: Option<PathBuf>,
    /// Print one JSON object (losses, timings) instead of progress and a summary.
    #[arg(long)]
    json: bool,
}

fn existing_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match (path.is_file(), path.exists()) {
        (true, _) => Ok(path),
        (false, true) => Err("not a file (expected a UTF-8 text file)".into()),
        (false, false) => Err("no such file".into()),
    }
}

fn learning_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(lr) if lr.is_finite() && lr > 0.0 => Ok(lr),
        _ => Err(format!("the learning rate must be a number > 0, got {text}")),
    }
}

fn weight_decay(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(wd) if wd.is_finite() && wd >= 0.0 => Ok(wd),
        _ => Err(format!("the weight decay must be a number >= 0, got {text}")),
    }
}

/// How a run fails (each is one `error:` line, exit code 1).
#[derive(Debug, thiserror::Error)]
enum AppError {
    /// What the arguments ask cannot be done with this model and data.
    #[error("{0}")]
    Run(String),
    #[error("cannot read {path}: {source}")]
    Data { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Model(#[from] shared::Error),
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ch01_tokenizer::TokenizerError> for AppError {
    fn from(e: ch01_tokenizer::TokenizerError) -> Self {
        AppError::Run(e.to_string())
    }
}

fn main() -> ExitCode {
    let args = shared::cli::parse_or_exit::<Args>(); // a usage error exits here with code 2
    shared::exit_code(run(&args)) // a failed run: one `error:` line, exit code 1
}

fn run(args: &Args) -> Result<(), AppError> {
    // cheap checks first: config, tokenizer, data; then the (slow) weights
    let (config, tokenizer, tokenizer_json, model_name) = match (&args.init, args.config) {
        (Some(dir), _) => {
            let path = dir.join("tokenizer.json");
            let tokenizer = Tokenizer::from_file(&path)?;
            let json = std::fs::read_to_string(&path).map_err(|source| AppError::Data { path, source })?;
            (read_config(dir)?, tokenizer, json, dir.display().to_string())
        }
        (None, Some(preset)) => {
            let name = format!("{} (random weights, seed {})", preset.name(), args.seed);
            let config = preset.gpt2_config().ok_or_else(|| {
                AppError::Run(format!("--config {}: this chapter trains GPT-2 shapes (124m, small)", preset.name()))
            })?;
            (config, Tokenizer::shipped(), ch01_tokenizer::tokenizer::SHIPPED_JSON.to_string(), name)
        }
        (None, None) => unreachable!("clap requires --init or --config"),
    };
    if args.seq_len > config.context_length {
        return Err(AppError::Run(format!(
            "--seq-len {} is longer than the model's context of {} positions",
            args.seq_len, config.context_length
        )));
    }
    let text = std::fs::read_to_string(&args.data).map_err(|source| AppError::Data { path: args.data.clone(), source })?;
    let tokens = tokenizer.encode(&text)?;
    if let Some(&id) = tokens.iter().find(|&&id| id as usize >= config.vocab_size) {
        return Err(AppError::Run(format!(
            "the tokenizer gives id {id}, but the model has only {} token ids (tokenizer.json does not fit config.json)",
            config.vocab_size
        )));
    }
    let batches = Batches::new(&tokens, args.batch_size, args.seq_len).map_err(|e| match e {
        shared::Error::InvalidArgument(why) => AppError::Run(format!("{}: {why}", args.data.display())),
        other => other.into(),
    })?;
    let mut model = match &args.init {
        Some(dir) => Gpt::<f32>::from_pretrained(dir)?,
        None => Gpt::<f32>::random(&config, args.seed)?,
    };
    let mut adamw = AdamW::<f32>::new(args.lr, args.weight_decay);

    // ANCHOR: training_loop
    let tokens_per_step = args.batch_size * args.seq_len;
    let progress = Progress::new(args.steps as u64, "steps", args.json);
    let mut losses = Vec::with_capacity(args.steps);
    let mut step_seconds = Vec::with_capacity(args.steps);
    let started = Instant::now();
    for k in 0..args.steps {
        let (inputs, targets) = batches.get(k);
        let t0 = Instant::now();
        let loss = shared::on_worker_thread(|| train_step(&mut model, &mut adamw, inputs, targets))?;
        let seconds = t0.elapsed().as_secs_f64();
        if !loss.is_finite() {
            return Err(AppError::Run(format!("the loss is {loss} at step {}: training diverged (lower --lr?)", k + 1)));
        }
        let tokens_per_s = tokens_per_step as f64 / seconds;
        progress.stage(format!("loss {loss:.4}, {tokens_per_s:.0} tokens/s"));
        progress.line(format!("step {}/{}: loss {loss:.4} ({:.1} ms, {tokens_per_s:.0} tokens/s)", k + 1, args.steps, seconds * 1e3));
        progress.inc(1);
        losses.push(loss as f64);
        step_seconds.push(seconds);
    }
    let total_s = started.elapsed().as_secs_f64();
    progress.finish();
    // ANCHOR_END: training_loop

    if let Some(dir) = &args.out {
        model.save_pretrained(dir)?;
        shared::write_atomic(&dir.join("tokenizer.json"), tokenizer_json.as_bytes())?;
    }
    let tokens_per_s = (tokens_per_step * args.steps) as f64 / total_s;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let out = serde_json::json!({
            "model": model_name,
            "n_params": config.n_params(),
            "data_tokens": tokens.len(),
            "batches_per_epoch": batches.per_epoch(),
            "batch_size": args.batch_size,
            "seq_len": args.seq_len,
            "steps": args.steps,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "losses": losses,
            "step_seconds": step_seconds,
            "total_s": total_s,
            "tokens_per_s": tokens_per_s,
            "out": args.out.as_deref().map(Path::display).map(|d| d.to_string()),
        });
        writeln!(stdout, "{out}")?;
    } else {
        writeln!(
            stdout,
            "trained {model_name} ({} parameters) for {} steps of {} x {} tokens ({} tokens in --data, {} batches per epoch)",
            config.n_params(), args.steps, args.batch_size, args.seq_len, tokens.len(), batches.per_epoch()
        )?;
        writeln!(stdout, "loss {:.4} -> {:.4} in {total_s:.2} s ({tokens_per_s:.0} tokens/s)", losses[0], losses[losses.len() - 1])?;
        if let Some(dir) = &args.out {
            writeln!(stdout, "saved to {}", dir.display())?;
        }
    }
    Ok(())
}
