//! The demo binary: a table for good input, one clear error line for bad input.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ch01-tokenizer")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn shows_tokens_and_round_trips() {
    let (ok, out, _) = run(&["Hello 猫"]);
    assert!(ok);
    assert!(out.contains("round trip exact"), "{out}");
    assert!(out.contains("50257 ids"), "{out}");
}

#[test]
fn empty_text_has_zero_tokens() {
    let (ok, out, _) = run(&[""]);
    assert!(ok);
    assert!(out.contains("-> 0 tokens"), "{out}");
}

#[test]
fn a_bad_tokenizer_file_is_one_error_line() {
    let (ok, out, err) = run(&["hi", "--tokenizer", "no/such/tokenizer.json"]);
    assert!(!ok && out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot load tokenizer no/such/tokenizer.json"), "{err}");
}
