//! `cargo run --release -p ch05-training -- [--init DIR | --config NAME] --data FILE
//! --batch-size B --seq-len T --steps N --lr LR [--weight-decay WD] [--out DIR] [--json]`
//!
//! Also: `--tokenizer FILE` and `--n-layer/--n-head/--n-embd/--n-positions` (the shape of fresh
//! weights), `--val-data FILE` (a held-out loss every `--eval-every` steps), `--cosine` (warmup
//! and cosine decay of the rate) and `--log FILE` (the `--json` report, also written to a file).

use ch01_tokenizer::Tokenizer;
use ch04_gpt::model::read_config;
use ch04_gpt::Gpt;
use ch05_training::{cosine_lr, loss, train_step, AdamW, Batches};
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
    /// Start from fresh random weights of this shape (GPT-2's vocabulary and tokenizer, unless
    /// --tokenizer and the --n-* options say otherwise).
    #[arg(long, value_name = "NAME")]
    config: Option<Preset>,
    /// With --config: tokenize --data with this tokenizer.json (default: chapter 1's); the
    /// model's vocabulary is the tokenizer's size.
    #[arg(long, value_name = "FILE", value_parser = existing_file, requires = "config")]
    tokenizer: Option<PathBuf>,
    /// With --config: number of blocks instead of the preset's.
    #[arg(long, value_name = "N", value_parser = positive_count, requires = "config")]
    n_layer: Option<usize>,
    /// With --config: number of attention heads instead of the preset's.
    #[arg(long, value_name = "N", value_parser = positive_count, requires = "config")]
    n_head: Option<usize>,
    /// With --config: width of the residual stream instead of the preset's.
    #[arg(long, value_name = "N", value_parser = positive_count, requires = "config")]
    n_embd: Option<usize>,
    /// With --config: context length (learned positions) instead of the preset's.
    #[arg(long, value_name = "N", value_parser = positive_count, requires = "config")]
    n_positions: Option<usize>,
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
    /// Warm the rate up linearly over --warmup-steps, then decay it along half a cosine to a
    /// tenth of --lr at the last step (default: a constant rate).
    #[arg(long)]
    cosine: bool,
    /// With --cosine: steps of linear warmup (default: 5% of --steps, at least 1).
    #[arg(long, value_name = "N", value_parser = positive_count, requires = "cosine")]
    warmup_steps: Option<usize>,
    /// Held-out text (UTF-8): its mean loss over --val-batches batches is measured before the
    /// first step, every --eval-every steps and after the last (forward only, never trained on).
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    val_data: Option<PathBuf>,
    /// Steps between two validation losses.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = positive_count, requires = "val_data")]
    eval_every: usize,
    /// Batches of --val-data per validation loss (its first ones, always the same).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = positive_count, requires = "val_data")]
    val_batches: usize,
    /// Also write the --json report to this file (atomically), whatever --json says.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
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

/// The mean loss of the first `n` batches of the held-out text (a forward pass only).
fn validation_loss(model: &Gpt<f32>, val: &Batches, n: usize) -> Result<f64, AppError> {
    let n = n.min(val.per_epoch());
    let mut total = 0.0;
    for k in 0..n {
        let (inputs, targets) = val.get(k);
        total += shared::on_worker_thread(|| loss(model, inputs, targets))? as f64;
    }
    Ok(total / n as f64)
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
            let mut config = preset.gpt2_config().ok_or_else(|| {
                AppError::Run(format!("--config {}: this chapter trains GPT-2 shapes (124m, small)", preset.name()))
            })?;
            let (tokenizer, json) = match &args.tokenizer {
                Some(path) => {
                    let json = std::fs::read_to_string(path).map_err(|source| AppError::Data { path: path.clone(), source })?;
                    (Tokenizer::from_file(path)?, json)
                }
                None => (Tokenizer::shipped(), ch01_tokenizer::tokenizer::SHIPPED_JSON.to_string()),
            };
            config.vocab_size = tokenizer.vocab_size();
            config.eos_token_id = tokenizer.eos_token_id();
            config.n_layers = args.n_layer.unwrap_or(config.n_layers);
            config.n_heads = args.n_head.unwrap_or(config.n_heads);
            config.n_kv_heads = config.n_heads;
            config.d_model = args.n_embd.unwrap_or(config.d_model);
            config.d_ff = 4 * config.d_model;
            config.context_length = args.n_positions.unwrap_or(config.context_length);
            config.validate().map_err(|e| AppError::Run(format!("--config {} with these --n-* options: {e}", preset.name())))?;
            let name = format!(
                "{} shape, {} layers x {} heads x {} wide, context {}, vocabulary {} (random weights, seed {})",
                preset.name(), config.n_layers, config.n_heads, config.d_model, config.context_length, config.vocab_size, args.seed
            );
            (config, tokenizer, json, name)
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
    let val_tokens = match &args.val_data {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| AppError::Data { path: path.clone(), source })?;
            tokenizer.encode(&text)?
        }
        None => Vec::new(),
    };
    let val_batches = match &args.val_data {
        Some(path) => Some(Batches::new(&val_tokens, args.batch_size, args.seq_len).map_err(|e| match e {
            shared::Error::InvalidArgument(why) => AppError::Run(format!("{}: {why}", path.display())),
            other => other.into(),
        })?),
        None => None,
    };
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
    let mut val_losses: Vec<(usize, f64)> = Vec::new(); // (steps done, held-out loss)
    let warmup = args.warmup_steps.unwrap_or((args.steps / 20).max(1));
    let started = Instant::now();
    for k in 0..args.steps {
        if let Some(val) = &val_batches {
            if k % args.eval_every == 0 {
                let val_loss = validation_loss(&model, val, args.val_batches)?;
                progress.line(format!("after {k} steps: validation loss {val_loss:.4}"));
                val_losses.push((k, val_loss));
            }
        }
        if args.cosine {
            adamw.lr = cosine_lr(args.lr, k, args.steps, warmup, 0.1);
        }
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
    if let Some(val) = &val_batches {
        val_losses.push((args.steps, validation_loss(&model, val, args.val_batches)?));
    }

    if let Some(dir) = &args.out {
        model.save_pretrained(dir)?;
        shared::write_atomic(&dir.join("tokenizer.json"), tokenizer_json.as_bytes())?;
    }
    let train_seconds: f64 = step_seconds.iter().sum();
    let tokens_per_s = (tokens_per_step * args.steps) as f64 / train_seconds;
    let mut stdout = std::io::stdout().lock();
    let report = serde_json::json!({
            "model": model_name,
            "n_params": config.n_params(),
            "data_tokens": tokens.len(),
            "batches_per_epoch": batches.per_epoch(),
            "batch_size": args.batch_size,
            "seq_len": args.seq_len,
            "steps": args.steps,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "cosine": args.cosine,
            "warmup_steps": args.cosine.then_some(warmup),
            "losses": losses,
            "val_losses": val_losses,
            "val_tokens": val_tokens.len(),
            "val_batches": val_batches.as_ref().map(|v| args.val_batches.min(v.per_epoch())),
            "step_seconds": step_seconds,
            "total_s": total_s,
            "tokens_per_s": tokens_per_s,
            "out": args.out.as_deref().map(Path::display).map(|d| d.to_string()),
        });
    if let Some(path) = &args.log {
        shared::write_atomic(path, format!("{report}\n").as_bytes())?;
    }
    if args.json {
        writeln!(stdout, "{report}")?;
    } else {
        writeln!(
            stdout,
            "trained {model_name} ({} parameters) for {} steps of {} x {} tokens ({} tokens in --data, {} batches per epoch)",
            config.n_params(), args.steps, args.batch_size, args.seq_len, tokens.len(), batches.per_epoch()
        )?;
        writeln!(stdout, "loss {:.4} -> {:.4} in {total_s:.2} s ({tokens_per_s:.0} tokens/s)", losses[0], losses[losses.len() - 1])?;
        if let (Some(first), Some(last)) = (val_losses.first(), val_losses.last()) {
            writeln!(stdout, "validation loss {:.4} -> {:.4} (held-out text, {} tokens)", first.1, last.1, val_tokens.len())?;
        }
        if let Some(dir) = &args.out {
            writeln!(stdout, "saved to {}", dir.display())?;
        }
    }
    Ok(())
}
