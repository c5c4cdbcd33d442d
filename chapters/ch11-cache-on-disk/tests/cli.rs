//! The binary, run as a user would: `save` then `ask` answers like plain generation; bad input
//! and bad files give one `error:` line and a non-zero exit code, never a panic.

mod common;
use ch04_gpt::{generate, Gpt};
use common::*;
use serde_json::Value;
use shared::cli::conformance::{check, one_error_line, Group};
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ch11-cache-on-disk")).args(args).output().expect("the binary runs")
}

const CONTEXT: &str = "Once upon a time, a cat";
const QUESTION: &str = " What did it see?";

fn save(dir: &Path, out: &Path) {
    let o = run(&["save", "--model", dir.to_str().unwrap(), "--context", CONTEXT, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn save_then_ask_equals_plain_generation() {
    let dir = fixture_dir("gpt2-tiny-a");
    let file = temp_file("cli-save");
    save(&dir, &file);
    let o = run(&["ask", "--model", dir.to_str().unwrap(), "--cache", file.to_str().unwrap(), "--question", QUESTION, "--max-new-tokens", "4", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let got: Vec<u32> = serde_json::from_value(json["generated_ids"].clone()).unwrap();
    // the reference: plain uncached generation on ids(context) ++ ids(question)
    let tokenizer = ch01_tokenizer::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let mut full = tokenizer.encode_prompt(CONTEXT).unwrap();
    full.extend(tokenizer.encode(QUESTION).unwrap());
    let mut plain = Gpt::<f32>::from_pretrained(&dir).unwrap();
    let options = ch04_gpt::GenerateOptions { eos_token_id: tokenizer.eos_token_id(), ..greedy(4) };
    let expected = generate(&mut plain, &full, &options, |_| Ok(())).unwrap();
    assert_eq!(got, expected.new_ids);
    assert_eq!(json["text"].as_str().unwrap(), tokenizer.decode(&expected.new_ids).unwrap());
}

#[test]
fn a_cache_from_another_model_is_one_error_line() {
    let file = temp_file("cli-other-model");
    save(&fixture_dir("gpt2-tiny-a"), &file);
    let other = fixture_dir("gpt2-tiny-b");
    let o = run(&["ask", "--model", other.to_str().unwrap(), "--cache", file.to_str().unwrap(), "--question", QUESTION, "--max-new-tokens", "2"]);
    assert_eq!(o.status.code(), Some(1));
    one_error_line(&String::from_utf8_lossy(&o.stderr), "was made by another model").unwrap();
}

#[test]
fn a_damaged_cache_is_one_error_line() {
    let dir = fixture_dir("gpt2-tiny-a");
    let file = temp_file("cli-damaged");
    save(&dir, &file);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&file, bytes).unwrap();
    let o = run(&["ask", "--model", dir.to_str().unwrap(), "--cache", file.to_str().unwrap(), "--question", QUESTION, "--max-new-tokens", "2"]);
    assert_eq!(o.status.code(), Some(1));
    one_error_line(&String::from_utf8_lossy(&o.stderr), "is truncated").unwrap();
}

#[test]
fn bad_options_conform() {
    let exe = Path::new(env!("CARGO_BIN_EXE_ch11-cache-on-disk"));
    let problems = check(exe, &["ask", "--cache", "none.kvc", "--question", "q"], &[Group::Any, Group::Model, Group::Sampling]);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = check(exe, &["save", "--context", "c", "--out", "none.kvc"], &[Group::Any, Group::Model]);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `--json` holds the answer's ids and text, the context and question ids, and the load and
/// generate times; the times are only checked to be numbers (timing is never pass/fail).
#[test]
fn ask_json_has_its_keys() {
    let dir = fixture_dir("llama-tiny-gqa");
    let file = temp_file("cli-json");
    save(&dir, &file);
    let o = run(&["ask", "--model", dir.to_str().unwrap(), "--cache", file.to_str().unwrap(), "--question", QUESTION, "--max-new-tokens", "3", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let tokenizer = ch01_tokenizer::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let ids = |key: &str| -> Vec<u32> { serde_json::from_value(json[key].clone()).unwrap_or_else(|e| panic!("{key}: {e}")) };
    assert_eq!(ids("context_ids"), tokenizer.encode_prompt(CONTEXT).unwrap());
    assert_eq!(ids("question_ids"), tokenizer.encode(QUESTION).unwrap());
    let generated = ids("generated_ids");
    assert!(!generated.is_empty() && generated.len() <= 3);
    assert_eq!(json["text"].as_str().unwrap(), tokenizer.decode(&generated).unwrap());
    for key in ["load_seconds", "generate_seconds"] {
        assert!(json[key].as_f64().is_some_and(|s| s >= 0.0), "{key}: {}", json[key]);
    }
}

/// An empty question is a usage error (exit 2) before anything runs. A question the tokenizer
/// turns into no tokens is one too: the fixtures' byte-level tokenizers give every non-empty
/// text a token, so a copy of gpt2-tiny-a gets a tokenizer that strips surrounding whitespace
/// (same config and weights: the same fingerprint), and asks " ".
#[test]
fn a_question_of_no_tokens_is_a_usage_error() {
    let dir = fixture_dir("gpt2-tiny-a");
    let stripping = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ch11").join("gpt2-tiny-a-strip");
    let _ = std::fs::remove_dir_all(&stripping);
    std::fs::create_dir_all(&stripping).unwrap();
    for name in ["config.json", "model.safetensors"] {
        std::fs::copy(dir.join(name), stripping.join(name)).unwrap();
    }
    let mut tokenizer: Value = serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).unwrap()).unwrap();
    tokenizer["normalizer"] = serde_json::json!({"type": "Strip", "strip_left": true, "strip_right": true});
    std::fs::write(stripping.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    assert!(ch01_tokenizer::Tokenizer::from_file(stripping.join("tokenizer.json")).unwrap().encode(" ").unwrap().is_empty());
    let file = temp_file("cli-no-tokens");
    save(&dir, &file);
    let ask = |model: &Path, question: &str| run(&["ask", "--model", model.to_str().unwrap(), "--cache", file.to_str().unwrap(), "--question", question, "--max-new-tokens", "2"]);
    for model in [&dir, &stripping] {
        let o = ask(model, "");
        assert_eq!(o.status.code(), Some(2), "empty question");
        one_error_line(&String::from_utf8_lossy(&o.stderr), "empty").unwrap();
    }
    let o = ask(&stripping, " ");
    assert_eq!(o.status.code(), Some(2));
    one_error_line(&String::from_utf8_lossy(&o.stderr), "encodes to no tokens").unwrap();
    let o = ask(&dir, " "); // one token for the byte-level tokenizer: answered
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `save --dtype f16` writes half the K and V bytes of f32, and `ask` reads it back.
#[test]
fn save_dtype_f16_halves_the_file_and_answers() {
    let dir = fixture_dir("gpt2-tiny-a");
    let (f32_file, f16_file) = (temp_file("cli-dtype-f32"), temp_file("cli-dtype-f16"));
    save(&dir, &f32_file);
    let o = run(&["save", "--model", dir.to_str().unwrap(), "--context", CONTEXT, "--out", f16_file.to_str().unwrap(), "--dtype", "f16"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let n = ch01_tokenizer::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap().encode_prompt(CONTEXT).unwrap().len() as u64;
    let header_and_ids = 64 + 4 * n;
    let len = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert_eq!(2 * (len(&f16_file) - header_and_ids), len(&f32_file) - header_and_ids);
    let o = run(&["ask", "--model", dir.to_str().unwrap(), "--cache", f16_file.to_str().unwrap(), "--question", QUESTION, "--max-new-tokens", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["save", "--model", dir.to_str().unwrap(), "--context", CONTEXT, "--out", f16_file.to_str().unwrap(), "--dtype", "f8"]);
    assert_eq!(o.status.code(), Some(2));
    one_error_line(&String::from_utf8_lossy(&o.stderr), "f8").unwrap();
}
