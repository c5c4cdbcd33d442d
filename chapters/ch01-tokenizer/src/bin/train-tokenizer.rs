//! Train the tokenizer this chapter ships:
//!
//! ```text
//! cargo run --release -p ch01-tokenizer --bin train-tokenizer -- --out chapters/ch01-tokenizer/tokenizer.json
//! ```
//!
//! Generates the corpus, trains a byte-level BPE on it and writes `tokenizer.json`
//! atomically. Same arguments, same file, byte for byte.

use ch01_tokenizer::{corpus, train, TokenizerError};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Generate this project's own corpus and train a GPT-2 sized byte-level BPE tokenizer on it.
#[derive(Parser)]
#[command(about, long_about = None)]
struct Args {
    /// Where to write tokenizer.json (written atomically).
    #[arg(long, default_value = "chapters/ch01-tokenizer/tokenizer.json")]
    out: PathBuf,
    /// Number of ids, `<|endoftext|>` (the last one) included. GPT-2 has 50257.
    #[arg(long, default_value_t = 50257)]
    vocab_size: usize,
    /// How many documents to generate.
    #[arg(long, default_value_t = 20_000)]
    documents: usize,
    /// Seed of the corpus generator.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Also write the generated corpus here (documents separated by blank lines), to read it.
    #[arg(long)]
    corpus_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    shared::exit_code(run(&Args::parse())) // one `error:` line and exit code 1 on failure
}

fn run(args: &Args) -> Result<(), TokenizerError> {
    let start = Instant::now();
    let documents = corpus::generate(args.documents, args.seed);
    let bytes: usize = documents.iter().map(String::len).sum();
    let chars: usize = documents.iter().map(|d| d.chars().count()).sum();
    eprintln!(
        "corpus: {} documents, {:.1} MB ({} characters), generated in {:.1} s",
        documents.len(),
        bytes as f64 / 1e6,
        chars,
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.corpus_out {
        shared::write_atomic(path, documents.join("\n\n\n").as_bytes())
            .map_err(|e| TokenizerError::Write { path: path.clone(), reason: e.to_string() })?;
        eprintln!("corpus written to {}", path.display());
    }

    let train_start = Instant::now();
    let tokenizer = train::train(&documents, args.vocab_size)?;
    eprintln!("trained in {:.1} s", train_start.elapsed().as_secs_f64());
    if tokenizer.vocab_size() != args.vocab_size {
        eprintln!(
            "warning: the corpus ran out of pairs to merge: {} ids instead of {}",
            tokenizer.vocab_size(),
            args.vocab_size
        );
    }
    tokenizer.save(&args.out)?;
    eprintln!(
        "wrote {}: {} ids, <|endoftext|> = {:?}, {:.1} s in all",
        args.out.display(),
        tokenizer.vocab_size(),
        tokenizer.eos_token_id(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
