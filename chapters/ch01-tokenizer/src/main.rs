//! `cargo run -p ch01-tokenizer -- "some text"`: show the tokens and ids of a text.
//! `cargo run -p ch01-tokenizer -- --learn 8 "some text"`: learn 8 merges from the text.

use ch01_tokenizer::byte_level::{bytes_to_token, token_to_bytes};
use ch01_tokenizer::{bpe, train, Tokenizer, TokenizerError};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Split a text into byte-level BPE tokens and show each token, its id and its text.
///
/// The "token" column is the token as the vocabulary stores it: every byte has a printable
/// stand-in there (a space is Ġ, a newline Ċ). The "text" column is what the token decodes to,
/// with visible whitespace (␣ is a space); bytes that are only part of a multi-byte character
/// are shown in hex, like <E7 8C>.
#[derive(Parser)]
#[command(about, long_about)]
struct Args {
    /// The text to tokenize (quote it: "Hello, world!").
    text: String,
    /// A GPT-2 style tokenizer.json to use instead of the one this chapter ships (50,257 ids).
    #[arg(long, value_name = "PATH")]
    tokenizer: Option<PathBuf>,
    /// Instead: learn N merges from the text with the chapter's plain BPE loop, print them,
    /// and check that the tokenizers crate learns the same ones.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    learn: Option<u32>,
}

fn main() -> ExitCode {
    let args = shared::cli::parse_or_exit::<Args>(); // a usage error: one `error:` line, exit 2
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), TokenizerError> {
    if let Some(n_merges) = args.learn {
        return learn(&args.text, n_merges as usize);
    }
    let (tokenizer, source) = match &args.tokenizer {
        Some(path) => (Tokenizer::from_file(path)?, path.display().to_string()),
        None => (Tokenizer::shipped(), "the shipped tokenizer.json".to_string()),
    };
    println!("tokenizer: {source} ({} ids)", tokenizer.vocab_size());
    let ids = tokenizer.encode(&args.text)?;
    if ids.is_empty() {
        let why = if args.text.is_empty() { "the text is empty" } else { "this tokenizer drops the text" };
        println!("0 tokens ({why})");
        return Ok(());
    }

    // ANCHOR: table
    let rows: Vec<[String; 4]> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let token = tokenizer.id_to_token(id).unwrap_or_default();
            let piece = tokenizer.decode(&[id])?;
            Ok([i.to_string(), id.to_string(), token.clone(), show_piece(&piece, &token)])
        })
        .collect::<Result<_, TokenizerError>>()?;
    print_table(&["#", "id", "token", "text"], &rows);
    // ANCHOR_END: table

    let round_trip = tokenizer.decode(&ids)?;
    println!(
        "{} tokens for {} characters ({} bytes): {:.2} bytes per token",
        ids.len(),
        args.text.chars().count(),
        args.text.len(),
        args.text.len() as f64 / ids.len() as f64
    );
    if round_trip == args.text {
        println!("round trip: exact (decode(encode(text)) == text)");
    } else {
        // cannot happen with a byte-level tokenizer; another tokenizer.json may normalize text
        println!("round trip: DIFFERENT, decode gives {round_trip:?}");
    }
    Ok(())
}

/// `--learn N`: the merges the plain loop learns from `text`, one row each, then the same
/// training by the `tokenizers` crate to compare.
fn learn(text: &str, n_merges: usize) -> Result<(), TokenizerError> {
    let documents = [text.to_string()];
    let words = bpe::count_words(&documents)?;
    let occurrences: u64 = words.values().sum();
    println!("{occurrences} words ({} distinct) in the text", words.len());
    let learned = bpe::learn(&words, n_merges);
    let token = |id| bytes_to_token(learned.token(id).unwrap_or_default());
    let rows: Vec<[String; 5]> = learned
        .merges()
        .iter()
        .enumerate()
        .map(|(k, merge)| {
            let (left, right) = merge.pair;
            let id = 256 + k as u32;
            [(k + 1).to_string(), merge.count.to_string(), format!("{} + {}", token(left), token(right)), id.to_string(), token(id)]
        })
        .collect();
    print_table(&["merge", "count", "pair", "id", "token"], &rows);
    if learned.merges().len() < n_merges {
        println!("no pair left to merge after {} merges: every word is one token", learned.merges().len());
    }

    let theirs = train::train(&documents, 256 + n_merges + 1)?.merges()?;
    let ours = learned.merge_tokens();
    match ours.iter().zip(&theirs).position(|(a, b)| a != b) {
        None if ours.len() == theirs.len() => {
            println!("the tokenizers crate learns the same {} merges", ours.len())
        }
        None => println!("the tokenizers crate learns {} merges, this loop {}", theirs.len(), ours.len()),
        Some(k) => println!(
            "the tokenizers crate learns DIFFERENT merges: merge {} is {} + {} there",
            k + 1,
            theirs[k].0,
            theirs[k].1
        ),
    }
    Ok(())
}

/// The text of one token with whitespace made visible. A token that holds only part of a
/// multi-byte character decodes to U+FFFD; for it, the raw bytes that are not a whole
/// character are shown in hex: `<E7 8C>`.
fn show_piece(piece: &str, token: &str) -> String {
    match token_to_bytes(token) {
        Some(bytes) if piece.contains('\u{FFFD}') => bytes
            .utf8_chunks()
            .map(|chunk| {
                let broken: Vec<String> = chunk.invalid().iter().map(|b| format!("{b:02X}")).collect();
                let broken = if broken.is_empty() { String::new() } else { format!("<{}>", broken.join(" ")) };
                visible(chunk.valid()) + &broken
            })
            .collect(),
        _ => visible(piece),
    }
}

/// Spaces as `␣`, and escapes for newlines, tabs and other control characters.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' => "␣".to_string(),
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\r' => "\\r".to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Left-aligned columns, sized by character count (wide CJK characters may still shift a bit).
fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let width = |col: usize| {
        rows.iter().map(|r| r[col].chars().count()).chain([header[col].chars().count()]).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..N).map(width).collect();
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(*header);
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
}
