//! The demo binary: a table for good input, one clear error line for bad input.

use std::process::Command;

struct Run {
    ok: bool,
    code: Option<i32>,
    out: String,
    err: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ch01-tokenizer")).args(args).output().unwrap();
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        out: String::from_utf8(out.stdout).unwrap(),
        err: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn shows_tokens_ids_and_round_trip() {
    let r = run(&["Hello 猫 🦀"]);
    assert!(r.ok, "{}", r.err);
    assert!(r.out.contains("(50257 ids)"), "{}", r.out);
    assert!(r.out.contains("round trip: exact"), "{}", r.out);
    // visible spaces, and the crab (never seen in training: F0 9F A6 80) split into byte tokens
    assert!(r.out.contains("␣"), "{}", r.out);
    // the crab's last byte 0x80 is in a token that cannot hold the whole crab: shown as "..80>"
    assert!(r.out.contains("80>"), "{}", r.out);
    // one row per token: the count line agrees with the rows between header and summary
    let rows = r.out.lines().skip_while(|l| !l.starts_with('#')).skip(1).take_while(|l| !l.contains("tokens for")).count();
    assert!(r.out.contains(&format!("{rows} tokens for 9 characters (14 bytes)")), "{}", r.out);
}

#[test]
fn empty_text_has_zero_tokens() {
    let r = run(&[""]);
    assert!(r.ok, "{}", r.err);
    assert!(r.out.contains("0 tokens"), "{}", r.out);
}

#[test]
fn a_bad_tokenizer_file_is_one_error_line() {
    let r = run(&["hi", "--tokenizer", "no/such/tokenizer.json"]);
    assert!(!r.ok && r.out.is_empty());
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    assert!(r.err.starts_with("error: cannot load tokenizer no/such/tokenizer.json: "), "{}", r.err);
}

#[test]
fn usage_errors_are_one_line_and_help_works() {
    let r = run(&[]);
    assert_eq!(r.code, Some(2));
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    assert!(r.err.starts_with("error: ") && r.err.contains("<TEXT>") && r.err.contains("--help"), "{}", r.err);

    let r = run(&["hi", "--no-such-flag"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);

    let r = run(&["--help"]);
    assert!(r.ok);
    assert!(r.out.contains("--tokenizer <PATH>") && r.out.contains("Ġ"), "{}", r.out);
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ch01-tokenizer"));
    let problems = check(exe, &["some text"], &[Group::Any]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn learn_shows_the_merges_and_agrees_with_the_crate() {
    // counted by hand: "at" is in cat, sat x2, mat, cats, mats (6); "he" in the 4 "the";
    // "t"+"h" also occurs 4 times, but the tie goes to the smaller ids: "h" (71) < "t" (83)
    let r = run(&["--learn", "3", "the cat sat on the mat, the cats sat on the mats"]);
    assert!(r.ok, "{}", r.err);
    assert!(r.out.starts_with("13 words (9 distinct) in the text\n"), "{}", r.out);
    let rows: Vec<Vec<&str>> = r.out.lines().skip(2).take(3).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["1", "6", "a", "+", "t", "256", "at"]);
    assert_eq!(rows[1], ["2", "4", "h", "+", "e", "257", "he"]);
    assert_eq!(rows[2], ["3", "4", "t", "+", "he", "258", "the"]);
    assert!(r.out.contains("the tokenizers crate learns the same 3 merges"), "{}", r.out);

    let r = run(&["--learn", "5", "aaa"]);
    assert!(r.ok, "{}", r.err);
    assert!(r.out.contains("no pair left to merge after 2 merges"), "{}", r.out);

    let r = run(&["--learn", "0", "aaa"]);
    assert_eq!(r.code, Some(2), "{}", r.err);
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
}
