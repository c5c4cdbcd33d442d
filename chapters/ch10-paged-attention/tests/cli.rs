//! The chapter 10 binary: transformers' greedy ids through the paged cache at block sizes 1, 3
//! and 16; the `--json` keys; bad input is one clear `error:` line.

use serde_json::Value;
use shared::cli::conformance::{check, one_error_line, Group};
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ch10-paged-attention")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// An independent fact: transformers' greedy `generate` on the same folders (their
/// `reference.json`, made by the fixtures script), through the binary at every block size.
#[test]
fn greedy_ids_equal_transformers_at_block_sizes_1_3_and_16() {
    let mut checked = 0;
    for name in ["gpt2-tiny-a", "gpt2-tiny-b", "llama-tiny-gqa", "qwen3-tiny", "neox-tiny", "mixtral-tiny"] {
        let dir = fixture(name);
        let reference: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
        for case in reference["cases"].as_array().unwrap() {
            let Some(text) = case["text"].as_str() else { continue };
            let new = case["greedy_new_ids"].as_array().unwrap().len().to_string();
            for bs in ["1", "3", "16"] {
                let (code, out, err) = bin(&["--model", dir.to_str().unwrap(), "--prompt", text, "--max-new-tokens", &new, "--block-size", bs, "--json"]);
                assert_eq!(code, 0, "{name} {text:?}: {err}");
                let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
                assert_eq!(v["prompt_ids"], case["input_ids"], "{name} {text:?}: the tokenizer's ids");
                assert_eq!(v["generated_ids"], case["greedy_new_ids"], "{name} {text:?}, block size {bs}: transformers' greedy ids");
                checked += 1;
            }
        }
    }
    assert!(checked >= 18, "{checked} runs");
}

#[test]
fn json_has_the_ids_and_the_blocks() {
    let dir = fixture("gpt2-tiny-a");
    let (code, out, err) = bin(&["--model", dir.to_str().unwrap(), "--prompt", "the cache", "--max-new-tokens", "7", "--block-size", "3", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    for key in ["model", "prompt", "prompt_ids", "generated_ids", "text", "stopped_at_eos", "block_size", "num_blocks", "cached_tokens", "blocks_used", "block_table", "kv_bytes_per_block", "tokens_per_s"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    // the last new token is sampled but never fed: prompt + 6 tokens cached, ceil(len / 3) blocks
    let len = v["prompt_ids"].as_array().unwrap().len() + 6;
    assert_eq!(v["cached_tokens"], len);
    assert_eq!(v["blocks_used"], len.div_ceil(3));
    assert_eq!(v["block_table"].as_array().unwrap().len(), len.div_ceil(3));
    // gpt2-tiny-a: 2 layers, 2 heads of 16, K and V of 3 tokens in f32
    assert_eq!(v["kv_bytes_per_block"], 2 * 2 * 2 * 3 * 16 * 4);
    assert_eq!(v["generated_ids"].as_array().unwrap().len(), 7);
}

#[test]
fn without_a_model_it_says_which_model_ran() {
    let (code, out, err) = bin(&["--max-new-tokens", "3", "--block-size", "4"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(shared::cli::DEFAULT_MODEL) && err.contains("the default model"), "{err}");
    assert!(err.contains("blocks of 4"), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn bad_input_is_one_error_line() {
    let exe = Path::new(env!("CARGO_BIN_EXE_ch10-paged-attention"));
    let problems = check(exe, &[], &[Group::Any, Group::Model, Group::Prompt, Group::Sampling]);
    assert!(problems.is_empty(), "{problems:#?}");
    // a block size of 0 is a usage error: exit 2
    for bad in [["--block-size", "0"], ["--block-size", "-3"], ["--num-blocks", "0"]] {
        let (code, out, err) = bin(&bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(out.is_empty());
        one_error_line(&err, &format!("for '{}", bad[0])).unwrap();
    }
    // a pool too small for the prompt and the new tokens: a failed run, exit 1
    let dir = fixture("gpt2-tiny-a");
    let (code, _, err) = bin(&["--model", dir.to_str().unwrap(), "--prompt", "the cache keeps", "--max-new-tokens", "20", "--block-size", "2", "--num-blocks", "3"]);
    assert_eq!(code, 1, "{err}");
    one_error_line(&err, "out of blocks").unwrap();
    // past the context
    let (code, _, err) = bin(&["--model", dir.to_str().unwrap(), "--prompt", "x", "--max-new-tokens", "500"]);
    assert_eq!(code, 1);
    one_error_line(&err, "does not fit the context").unwrap();
}
