//! The chapter 9 binary: one row per prompt, in order, equal to chapter 8's run of that prompt
//! alone; bad input is one clear `error:` line.

mod common;

use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::CachedAttention;
use common::*;
use shared::cli::conformance::{check, one_error_line, Group};
use std::process::Command;

fn bin(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ch09-batching")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn rows(out: &str) -> Vec<(Vec<u32>, Vec<u32>)> {
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let ids = |x: &serde_json::Value| x.as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as u32).collect::<Vec<_>>();
    v["rows"].as_array().unwrap().iter().map(|r| (ids(&r["prompt_ids"]), ids(&r["generated_ids"]))).collect()
}

#[test]
fn json_rows_are_the_prompts_in_order_each_equal_to_its_own_generation() {
    let texts = ["Hello there, how", "A", "The cache keeps keys and values"];
    for name in ["gpt2-tiny-a", "llama-tiny-gqa", "neox-tiny"] {
        let dir = fixture(name);
        let mut args = vec!["--model", dir.to_str().unwrap(), "--max-new-tokens", "6", "--json"];
        for t in &texts {
            args.extend(["--prompt", t]);
        }
        let (ok, out, err) = bin(&args);
        assert!(ok, "{name}: {err}");
        let got = rows(&out);
        assert_eq!(got.len(), 3);
        let prompts: Vec<Vec<u32>> = got.iter().map(|(p, _)| p.clone()).collect();
        let tokenizer = ch01_tokenizer::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
        for (p, t) in prompts.iter().zip(texts) {
            assert_eq!(p, &tokenizer.encode_prompt(t).unwrap(), "{name}: rows in the order of the prompts");
        }
        let options = GenerateOptions { max_new_tokens: 6, sampling: Sampling::GREEDY, seed: 42, eos_token_id: None };
        let want = if name.starts_with("gpt2") {
            let m = gpt2::<f32>(name);
            let options = GenerateOptions { eos_token_id: m.config.eos_token_id.or(tokenizer.eos_token_id()), ..options };
            one_at_a_time::<Gpt<f32, CachedAttention<f32>>>(m, &prompts, &options)
        } else {
            let m = rotary::<f32>(name);
            let options = GenerateOptions { eos_token_id: m.config.eos_token_id.or(tokenizer.eos_token_id()), ..options };
            one_at_a_time::<Decoder<f32, CachedAttention<f32, RotaryAttention<f32>>>>(m, &prompts, &options)
        };
        let generated: Vec<Vec<u32>> = got.into_iter().map(|(_, g)| g).collect();
        assert_eq!(generated, want, "{name}");
    }
}

#[test]
fn without_a_model_it_says_which_model_ran() {
    let (ok, out, err) = bin(&["--max-new-tokens", "2"]);
    assert!(ok, "{err}");
    assert!(err.contains(shared::cli::DEFAULT_MODEL) && err.contains("the default model"), "{err}");
    assert_eq!(out.lines().count(), 2, "two default prompts: {out}");
}

#[test]
fn bad_input_is_one_error_line() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ch09-batching"));
    let problems = check(exe, &[], &[Group::Any, Group::Model, Group::Sampling]);
    assert!(problems.is_empty(), "{problems:#?}");
    let dir = fixture("gpt2-tiny-a");
    let (ok, _, err) = bin(&["--model", dir.to_str().unwrap(), "--prompt", "x", "--max-new-tokens", "500"]);
    assert!(!ok);
    one_error_line(&err, "does not fit the context").unwrap();
    let (ok, _, err) = bin(&["--prompt", ""]);
    assert!(!ok);
    one_error_line(&err, "the prompt is empty").unwrap();
    let (ok, _, err) = bin(&["--max-new-tokens", "0"]);
    assert!(!ok);
    one_error_line(&err, "must be at least 1").unwrap();
}
