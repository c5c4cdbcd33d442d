//! Train the tokenizer this chapter ships:
//!
//! ```text
//! cargo run --release -p ch01-tokenizer --bin train-tokenizer -- --out chapters/ch01-tokenizer/tokenizer.json
//! ```
//!
//! Generates the corpus ([`corpus`]), trains a byte-level BPE on it with the `tokenizers` crate
//! and writes `tokenizer.json` atomically. Same arguments, same file, byte for byte.

mod corpus;

use ch01_tokenizer::{train, TokenizerError};
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
    // usage errors: one `error:` line, exit 2; a failed run: one `error:` line, exit 1
    shared::exit_code(run(&shared::cli::parse_or_exit::<Args>()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use ch01_tokenizer::bpe;

    #[test]
    fn training_is_deterministic() {
        let docs = corpus::generate(200, 3);
        let a = train::train(&docs, 1000).unwrap().to_json().unwrap();
        let b = train::train(&docs, 1000).unwrap().to_json().unwrap();
        assert!(a == b, "two trainings on the same corpus differ");
    }

    /// The chapter's plain loop and the `tokenizers` crate learn the same merges, all of them
    /// until no pair is left, from the first documents of the corpus the shipped tokenizer is
    /// trained on (the default seed).
    #[test]
    fn the_plain_loop_learns_the_merges_of_the_crate_on_this_corpus() {
        let docs = corpus::generate(100, Args::parse_from(["train-tokenizer"]).seed);
        let ours = bpe::learn(&bpe::count_words(&docs).unwrap(), usize::MAX).merge_tokens();
        let theirs = train::train(&docs, 256 + ours.len() + 100).unwrap().merges().unwrap();
        eprintln!("{} merges, the first {:?}", ours.len(), &ours[..5]);
        assert!(ours.len() > 1000, "only {} merges", ours.len());
        assert_eq!(ours, theirs);
    }

    /// The whole corpus of the shipped tokenizer (20,000 documents, 7 MB): the plain loop's
    /// first merges are the shipped `tokenizer.json`'s. Slow: every merge recounts all pairs.
    /// `cargo test --release -p ch01-tokenizer --bin train-tokenizer -- --ignored`
    #[test]
    #[ignore = "minutes in a debug build; run it in release"]
    fn the_plain_loop_learns_the_first_merges_of_the_shipped_tokenizer() {
        let defaults = Args::parse_from(["train-tokenizer"]);
        let docs = corpus::generate(defaults.documents, defaults.seed);
        let ours = bpe::learn(&bpe::count_words(&docs).unwrap(), 500).merge_tokens();
        let shipped = ch01_tokenizer::Tokenizer::shipped().merges().unwrap();
        assert_eq!(ours, shipped[..500]);
    }
}
