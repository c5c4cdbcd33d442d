//! Parity with Hugging Face transformers on committed checkpoint folders.
//!
//! `tools/make_fixtures.py` built small random GPT-2s with `GPT2LMHeadModel.save_pretrained`
//! and recorded what transformers computes. Here the same folders are loaded through the code
//! users run (`Gpt::from_pretrained`, `Tokenizer::from_file`) and must agree: logits within
//! `shared::tolerance::F32_VS_TRANSFORMERS` (f32) and `F64_VS_TRANSFORMERS` (f64, against
//! `model.double()`), greedy tokens exactly, with and without the KV cache.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::{GenerateOptions, Gpt};
use ch08_kv_cache::KvGpt;
use serde_json::Value;
use shared::tolerance::{F32_VS_TRANSFORMERS, F64_VS_TRANSFORMERS};
use shared::Float;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn reference(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name).join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
        .collect()
}

/// Logits of every case, every position, every id, against transformers' `key` array.
fn check_logits<F: Float>(folder: &str, reference_of: &str, key: &str, tol: f64) {
    let mut model = Gpt::<F>::from_pretrained(&fixture(folder)).unwrap();
    let mut worst = 0.0f64;
    for case in reference(reference_of)["cases"].as_array().unwrap() {
        let expected = matrix(&case[key]);
        let logits = model.logits(&ids(&case["input_ids"])).unwrap(); // [seq, vocab]
        assert_eq!(logits.dim(), (expected.len(), expected[0].len()));
        for (t, row) in expected.iter().enumerate() {
            for (v, &e) in row.iter().enumerate() {
                let d = (logits[[t, v]].as_f64() - e).abs();
                worst = worst.max(d);
                assert!(d <= tol, "{folder} {} ({}): logit [{t}, {v}] = {} vs transformers {e} (|d| = {d:e})",
                    case["name"], F::NAME, logits[[t, v]]);
            }
        }
    }
    eprintln!("{folder} ({}): max |logit - transformers| = {worst:e} (tolerance {tol:e})", F::NAME);
}

#[test]
fn f32_logits_match_transformers() {
    check_logits::<f32>("gpt2-tiny-a", "gpt2-tiny-a", "logits_f32", F32_VS_TRANSFORMERS);
    check_logits::<f32>("gpt2-tiny-b", "gpt2-tiny-b", "logits_f32", F32_VS_TRANSFORMERS);
    check_logits::<f32>("gpt2-tiny-a-published-layout", "gpt2-tiny-a", "logits_f32", F32_VS_TRANSFORMERS);
}

#[test]
fn f64_logits_match_transformers_double() {
    check_logits::<f64>("gpt2-tiny-a", "gpt2-tiny-a", "logits_f64", F64_VS_TRANSFORMERS);
    check_logits::<f64>("gpt2-tiny-b", "gpt2-tiny-b", "logits_f64", F64_VS_TRANSFORMERS);
}

#[test]
fn greedy_continuations_match_transformers_generate_with_and_without_cache() {
    for name in ["gpt2-tiny-a", "gpt2-tiny-b"] {
        let dir = fixture(name);
        for case in reference(name)["cases"].as_array().unwrap() {
            let prompt = ids(&case["input_ids"]);
            for (key, f64_model) in [("greedy_new_ids", false), ("greedy_new_ids_f64", true)] {
                let expected = ids(&case[key]);
                let opts = GenerateOptions { max_new_tokens: expected.len(), eos_token_id: None, ..Default::default() };
                let got: Vec<(bool, Vec<u32>)> = if f64_model {
                    let mut m = KvGpt::preallocated(Gpt::<f64>::from_pretrained(&dir).unwrap());
                    [true, false].iter().map(|&c| (c, m.generate(&prompt, &opts, c, |_| Ok(())).unwrap().new_ids)).collect()
                } else {
                    let mut m = KvGpt::preallocated(Gpt::<f32>::from_pretrained(&dir).unwrap());
                    [true, false].iter().map(|&c| (c, m.generate(&prompt, &opts, c, |_| Ok(())).unwrap().new_ids)).collect()
                };
                for (use_cache, new_ids) in got {
                    assert_eq!(new_ids, expected, "{name} {} {key} use_cache={use_cache}", case["name"]);
                }
            }
        }
    }
}

#[test]
fn tokenizer_json_gives_the_ids_transformers_gave() {
    for name in ["gpt2-tiny-a", "gpt2-tiny-b"] {
        let tok = Tokenizer::from_file(&fixture(name).join("tokenizer.json")).unwrap();
        let r = reference(name);
        assert_eq!(tok.vocab_size() as u64, r["config"]["vocab_size"].as_u64().unwrap());
        for case in r["cases"].as_array().unwrap() {
            if let Some(text) = case["text"].as_str() {
                assert_eq!(tok.encode(text).unwrap(), ids(&case["input_ids"]), "{name}: {text}");
                assert_eq!(tok.decode(&ids(&case["input_ids"])).unwrap(), text);
            }
        }
    }
}

#[test]
fn both_checkpoint_layouts_load_to_the_same_model() {
    // transformers 5 writes `transformer.h.0...` without lm_head; the published gpt2 files
    // write `h.0...` plus h.N.attn.bias mask buffers. Both must give identical logits.
    let mut a = Gpt::<f32>::from_pretrained(&fixture("gpt2-tiny-a")).unwrap();
    let mut b = Gpt::<f32>::from_pretrained(&fixture("gpt2-tiny-a-published-layout")).unwrap();
    let input = [1u32, 7, 42, 299, 3];
    assert_eq!(a.logits(&input).unwrap(), b.logits(&input).unwrap());
    let names = shared::Checkpoint::open(&fixture("gpt2-tiny-a-published-layout").join("model.safetensors")).unwrap().names();
    assert!(names.iter().any(|n| n == "h.0.attn.bias"), "the fixture carries the mask buffers");
}
