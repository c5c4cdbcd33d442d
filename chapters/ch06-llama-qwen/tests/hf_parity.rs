//! Parity with Hugging Face transformers on committed checkpoint folders of the four families.
//!
//! `tools/make_fixtures.py` built small random Llama (GQA, Llama 3 rope scaling, two shards),
//! Qwen2 (q/k/v biases), Qwen3 (q/k norm, bf16 weights, tied head) and GPT-NeoX (partial
//! rotary, parallel residual, biases) models with transformers and recorded what it computes.
//! Here the folders are loaded through the code users run (`Decoder::from_pretrained`,
//! `Tokenizer::from_file`) and must agree: f32 logits within
//! `shared::tolerance::F32_VS_TRANSFORMERS` (against transformers' float32 model, whose rotary
//! angles are float32 as ours are in f32); f64 logits within `F64_VS_TRANSFORMERS` (against
//! `model.double()` with the rotation and RMSNorm in f64, see `f64_patch` in each
//! `reference.json`); greedy tokens exactly (f32 and f64); the tokenizer's ids exactly.

use ch01_tokenizer::Tokenizer;
use ch04_gpt::{generate, GenerateOptions};
use ch06_llama_qwen::Decoder;
use shared::tolerance::{F32_VS_TRANSFORMERS, F64_VS_TRANSFORMERS};
use shared::parity::{self, fixture_dir as fixture, ids, reference};
use shared::Float;

const FIXTURES: [&str; 4] = ["llama-tiny-gqa", "qwen2-tiny", "qwen3-tiny", "neox-tiny"];

/// Logits of every case, every position, every id, against transformers' `key` array.
/// Returns the largest difference.
fn check_logits<F: Float>(name: &str, key: &str, tol: f64) -> f64 {
    let mut model = Decoder::<F>::from_pretrained(&fixture(name)).unwrap();
    parity::check_logits(name, key, tol, |ids| model.logits(ids).unwrap())
}

#[test]
fn f32_logits_match_transformers() {
    for name in FIXTURES {
        check_logits::<f32>(name, "logits_f32", F32_VS_TRANSFORMERS);
    }
}

#[test]
fn f64_logits_match_transformers_double_with_f64_rotation() {
    for name in FIXTURES {
        check_logits::<f64>(name, "logits_f64", F64_VS_TRANSFORMERS);
    }
}

#[test]
fn greedy_continuations_match_transformers_generate() {
    for name in FIXTURES {
        let dir = fixture(name);
        let mut m32 = Decoder::<f32>::from_pretrained(&dir).unwrap();
        let mut m64 = Decoder::<f64>::from_pretrained(&dir).unwrap();
        for case in reference(name)["cases"].as_array().unwrap() {
            let prompt = ids(&case["input_ids"]);
            for key in ["greedy_new_ids", "greedy_new_ids_f64"] {
                let expected = ids(&case[key]);
                let opts = GenerateOptions { max_new_tokens: expected.len(), eos_token_id: None, ..Default::default() };
                let got = if key.ends_with("f64") {
                    generate(&mut m64, &prompt, &opts, |_| Ok(())).unwrap().new_ids
                } else {
                    generate(&mut m32, &prompt, &opts, |_| Ok(())).unwrap().new_ids
                };
                assert_eq!(got, expected, "{name} {} {key}", case["name"]);
            }
        }
    }
}

#[test]
fn tokenizer_json_gives_the_ids_transformers_gave() {
    for name in FIXTURES {
        let tok = Tokenizer::from_file(fixture(name).join("tokenizer.json")).unwrap();
        let r = reference(name);
        assert_eq!(tok.vocab_size() as u64, r["config"]["vocab_size"].as_u64().unwrap(), "{name}");
        for case in r["cases"].as_array().unwrap() {
            if let Some(text) = case["text"].as_str() {
                assert_eq!(tok.encode(text).unwrap(), ids(&case["input_ids"]), "{name}: {text}");
                assert_eq!(tok.decode(&ids(&case["input_ids"])).unwrap(), text, "{name}");
            }
        }
    }
}

/// What chapter 8 will cache: each layer's keys (after the rotation) and values, as
/// transformers' `past_key_values` held them after the prompt, `[batch, n_kv_heads, seq, head_dim]`.
#[test]
fn rotated_keys_and_values_match_transformers_cache() {
    use ch04_gpt::QkvAttention;
    use ndarray::Array3;
    for name in FIXTURES {
        let r = reference(name);
        let check = &r["past_key_values_check"];
        let case = r["cases"].as_array().unwrap().iter().find(|c| c["name"] == check["case"]).unwrap();
        let prompt = ids(&case["input_ids"]);
        let mut model = Decoder::<f32>::from_pretrained(&fixture(name)).unwrap();
        let d = model.config.d_model;
        let mut x: Array3<f32> = model.embed_tokens.forward(prompt.iter().map(|&i| i as usize)).unwrap().into_shape_with_order((1, prompt.len(), d)).unwrap();
        let mut worst = 0.0f64;
        for (block, layer) in model.blocks.iter_mut().zip(check["layers"].as_array().unwrap()) {
            let h = block.input_norm.forward(x.view().into_shape_with_order((prompt.len(), d)).unwrap()).unwrap();
            let qkv = block.attn.project_qkv(h.into_shape_with_order((1, prompt.len(), d)).unwrap().view(), 0).unwrap();
            for (ours, key) in [(&qkv.k, "key"), (&qkv.v, "value")] {
                assert_eq!(ours.shape(), ids(&layer[format!("{key}_shape")]).iter().map(|&n| n as usize).collect::<Vec<_>>().as_slice());
                let theirs: Vec<f64> = layer[key].as_array().unwrap().iter()
                    .flat_map(|h| h.as_array().unwrap().iter().flat_map(|t| t.as_array().unwrap().iter().map(|v| v.as_f64().unwrap())))
                    .collect(); // batch 0: [n_kv_heads][seq][head_dim]
                for (a, b) in ours.iter().zip(&theirs) {
                    let diff = (f64::from(*a) - b).abs();
                    worst = worst.max(diff);
                    assert!(diff <= F32_VS_TRANSFORMERS, "{name} {key}: {a} vs {b}");
                }
            }
            x = block.forward(x, false).unwrap();
        }
        eprintln!("{name}: max |cached key/value - transformers| = {worst:e}");
    }
}
