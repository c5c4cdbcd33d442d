//! mdBook preprocessor that renders the book's LaTeX (`$...$` inline, `$$...$$` display) to
//! MathML at build time. Browsers draw MathML themselves, so the pages show their math with
//! no script and no network.
//!
//! Protocol (mdBook 0.5): `mdbook-math supports <renderer>` exits 0 for `html` and 1 otherwise;
//! `mdbook-math` reads `[context, book]` as JSON on stdin and writes the book JSON on stdout.

mod book;
mod render;
mod scan;

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, renderer] if cmd == "supports" => {
            if renderer == "html" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        [] => match run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("error: mdbook-math: {message}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("error: usage: mdbook-math [supports <renderer>] (book JSON on stdin)");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    let parsed: serde_json::Value =
        serde_json::from_str(&input).map_err(|e| format!("stdin is not JSON: {e}"))?;
    let mut book = match parsed {
        serde_json::Value::Array(mut pair) if pair.len() == 2 => pair.pop().unwrap_or_default(),
        _ => return Err("stdin is not the pair [context, book] mdBook sends".to_string()),
    };
    let count = book::render_book(&mut book).map_err(|e| e.to_string())?;
    let out = serde_json::to_string(&book).map_err(|e| format!("cannot write the book: {e}"))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write stdout: {e}"))?;
    eprintln!("mdbook-math: {count} formulas rendered to MathML");
    Ok(())
}
