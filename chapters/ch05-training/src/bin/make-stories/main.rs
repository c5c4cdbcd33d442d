//! Write the story corpus of the shipped model and train its tokenizer:
//!
//! ```text
//! cargo run --release -p ch05-training --bin make-stories -- --out target/stories
//! ```
//!
//! Writes `train.txt` and `val.txt` (stories separated by blank lines; the validation stories
//! are generated after the training ones, so no story is shared by accident) and
//! `tokenizer.json`, a byte-level BPE trained by chapter 1's `train` on the training stories.
//! Same arguments, same bytes. `tools/train-default-model.sh` runs this, then the trainer.

mod stories;

use clap::Parser;
use shared::cli::{positive_count, seed};
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate the story corpus (train and validation splits) and train a small tokenizer on it.
#[derive(Parser)]
#[command(about, long_about = None)]
struct Args {
    /// Folder for train.txt, val.txt and tokenizer.json (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Seed of the story grammar.
    #[arg(long, value_name = "S", default_value_t = 5, value_parser = seed, allow_negative_numbers = true)]
    seed: u64,
    /// Stories in train.txt.
    #[arg(long, value_name = "N", default_value_t = 40_000, value_parser = positive_count, allow_negative_numbers = true)]
    train_stories: usize,
    /// Stories in val.txt (held out: the trainer never steps on them).
    #[arg(long, value_name = "N", default_value_t = 1_000, value_parser = positive_count, allow_negative_numbers = true)]
    val_stories: usize,
    /// Ids of the tokenizer, `<|endoftext|>` (the last one) included.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = positive_count, allow_negative_numbers = true)]
    vocab_size: usize,
}

#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error(transparent)]
    Tokenizer(#[from] ch01_tokenizer::TokenizerError),
    #[error(transparent)]
    Write(#[from] shared::Error),
}

fn main() -> ExitCode {
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
}

fn run(args: &Args) -> Result<(), AppError> {
    let mut writer = stories::Stories::new(args.seed);
    let train: Vec<String> = (0..args.train_stories).map(|_| writer.story()).collect();
    let val: Vec<String> = (0..args.val_stories).map(|_| writer.story()).collect();
    for (name, split) in [("train.txt", &train), ("val.txt", &val)] {
        let text = split.join("\n\n") + "\n";
        shared::write_atomic(&args.out.join(name), text.as_bytes())?;
        eprintln!("{name}: {} stories, {:.1} MB", split.len(), text.len() as f64 / 1e6);
    }
    let tokenizer = ch01_tokenizer::train::train(&train, args.vocab_size)?;
    let path = args.out.join("tokenizer.json");
    tokenizer.save(&path)?;
    eprintln!("tokenizer.json: {} ids, trained on train.txt", tokenizer.vocab_size());
    Ok(())
}
