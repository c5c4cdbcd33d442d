//! Chapter 7's mixture-of-experts models through chapter 8's cache, unchanged: the cache
//! holds keys and values of the attention, which is chapter 6's, so the same `KvModel` gives
//! the logits of the uncached model and transformers' greedy continuations.

mod common;
use ch04_gpt::GenerateOptions;
use ch07_moe::{from_pretrained, MoeConfig, MoeFamily, MoeFeedForward};
use ch08_kv_cache::{CacheStorage, KvDecoder, KvModel};
use common::*;
use serde_json::Value;
use shared::tolerance::{F32_REORDERED, F64_REORDERED};
use shared::Float;
use std::path::PathBuf;

/// The two committed transformers fixtures (see `tests/fixtures/README.md` at the root).
const FIXTURES: [&str; 2] = ["mixtral-tiny", "qwen3-moe-tiny"];

type KvMoe<F> = KvDecoder<F, MoeFeedForward<F>>;

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

fn moe_fixture<F: Float>(name: &str) -> ch07_moe::MoeDecoder<F> {
    from_pretrained(&fixture_dir(name)).unwrap().1
}

#[test]
fn cached_logits_equal_uncached_at_every_step_f32_and_f64() {
    let (mut worst32, mut worst64) = (0.0f64, 0.0f64);
    for name in FIXTURES {
        for storage in [CacheStorage::Concat, CacheStorage::Preallocated { capacity: 64 }] {
            for prompt_len in [1, 6] {
                let m32 = moe_fixture::<f32>(name);
                let kv32: KvMoe<f32> = KvModel::new(m32.clone(), storage);
                worst32 = worst32.max(logits_match(m32, kv32, F32_REORDERED, prompt_len, 10, 300));
                let m64 = moe_fixture::<f64>(name);
                let kv64: KvMoe<f64> = KvModel::new(m64.clone(), storage);
                worst64 = worst64.max(logits_match(m64, kv64, F64_REORDERED, prompt_len, 10, 300));
            }
        }
    }
    // and random models with more experts than the fixtures
    for family in [MoeFamily::Mixtral, MoeFamily::Qwen3Moe] {
        let config = MoeConfig::tiny(family, 61, 32, 2, 8, 2);
        let m = ch07_moe::random::<f64>(&config, 5).unwrap();
        let kv: KvMoe<f64> = KvModel::new(m.clone(), CacheStorage::Concat);
        worst64 = worst64.max(logits_match(m, kv, F64_REORDERED, 4, 12, 61));
    }
    eprintln!("MoE: max |cached - uncached| f32 {worst32:e} (tolerance {F32_REORDERED:e}), f64 {worst64:e} ({F64_REORDERED:e})");
}

/// The cached generation (what the demo runs) gives transformers' greedy ids.
#[test]
fn cached_greedy_ids_equal_transformers_generate() {
    for name in FIXTURES {
        let reference: Value = serde_json::from_str(&std::fs::read_to_string(fixture_dir(name).join("reference.json")).unwrap()).unwrap();
        let mut kv: KvMoe<f32> = KvModel::preallocated(moe_fixture::<f32>(name));
        for case in reference["cases"].as_array().unwrap() {
            let ids = |v: &Value| -> Vec<u32> { v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect() };
            let expected = ids(&case["greedy_new_ids"]);
            let opts = GenerateOptions { max_new_tokens: expected.len(), eos_token_id: None, ..Default::default() };
            let got = kv.generate(&ids(&case["input_ids"]), &opts, true, |_| Ok(())).unwrap().new_ids;
            assert_eq!(got, expected, "{name} {}", case["name"]);
        }
    }
}

/// The cache is the attention's: the same shape as a dense model with that attention.
#[test]
fn the_cache_has_the_attention_shape_only() {
    for name in FIXTURES {
        let model = moe_fixture::<f32>(name);
        let c = model.config.clone();
        let mut kv: KvMoe<f32> = KvModel::new(model, CacheStorage::Concat);
        kv.forward(row(&[1, 2, 3, 4, 5]), true).unwrap();
        for cache in kv.caches() {
            assert_eq!(cache.keys().dim(), (1, c.n_kv_heads, 5, c.head_dim), "{name}");
        }
    }
}
