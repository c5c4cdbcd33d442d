//! `cargo run -p ch01-tokenizer -- "some text"`: show the tokens and ids of a text.

use ch01_tokenizer::byte_level::token_to_bytes;
use ch01_tokenizer::{Tokenizer, TokenizerError};
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
fn print_table(header: &[&str; 4], rows: &[[String; 4]]) {
    let width = |col: usize| {
        rows.iter().map(|r| r[col].chars().count()).chain([header[col].chars().count()]).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..4).map(width).collect();
    let line = |cells: [&str; 4]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(*header);
    for row in rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
}
