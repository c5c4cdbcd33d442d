//! `cargo run -p ch01-tokenizer -- "some text"`: show the tokens and ids of a text.

use ch01_tokenizer::Tokenizer;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Split a text into byte-level BPE tokens and show each token, its id and its text.
#[derive(Parser)]
#[command(about, long_about = None)]
struct Args {
    /// The text to tokenize.
    text: String,
    /// A GPT-2 style tokenizer.json (default: the one this chapter ships, 50,257 ids).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), ch01_tokenizer::TokenizerError> {
    let tokenizer = match &args.tokenizer {
        Some(path) => Tokenizer::from_file(path)?,
        None => Tokenizer::shipped(),
    };
    let ids = tokenizer.encode(&args.text)?;
    println!("{:>5}  {:>6}  {:<20}  text", "#", "id", "token (Ġ = space)");
    for (i, &id) in ids.iter().enumerate() {
        let token = tokenizer.id_to_token(id).unwrap_or_default();
        let piece = tokenizer.decode(&[id])?;
        println!("{i:>5}  {id:>6}  {:<20}  {:?}", token, piece);
    }
    let round_trip = tokenizer.decode(&ids)?;
    println!(
        "{} characters, {} bytes -> {} tokens ({} ids in the vocabulary); round trip {}",
        args.text.chars().count(),
        args.text.len(),
        ids.len(),
        tokenizer.vocab_size(),
        if round_trip == args.text { "exact" } else { "DIFFERENT" }
    );
    Ok(())
}
