//! Train the tokenizer this chapter ships: `cargo run --release -p ch01-tokenizer --bin
//! train-tokenizer -- --out chapters/ch01-tokenizer/tokenizer.json`

use ch01_tokenizer::{corpus, train};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate the project's own corpus and train a GPT-2 sized byte-level BPE on it.
#[derive(Parser)]
struct Args {
    /// Where to write tokenizer.json (written atomically).
    #[arg(long, default_value = "chapters/ch01-tokenizer/tokenizer.json")]
    out: PathBuf,
    /// Number of ids, `<|endoftext|>` included (GPT-2: 50257).
    #[arg(long, default_value_t = 50257)]
    vocab_size: usize,
    /// Generated sentences to train on.
    #[arg(long, default_value_t = 100_000)]
    sentences: usize,
    /// Seed of the corpus generator.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let start = std::time::Instant::now();
    let lines = corpus::generate(args.sentences, args.seed);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    eprintln!("corpus: {} sentences, {:.1} MB", lines.len(), bytes as f64 / 1e6);
    let result = train::train(&lines, args.vocab_size).and_then(|t| {
        let json = t.to_json()?;
        shared::write_atomic(&args.out, json.as_bytes())?;
        Ok(t)
    });
    match result {
        Ok(t) => {
            eprintln!(
                "wrote {} ({} ids, eos = {:?}) in {:.1} s",
                args.out.display(),
                t.vocab_size(),
                t.eos_token_id(),
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
