//! Chapter 8's proofs for the rotary families of chapter 6 (Llama with grouped-query attention,
//! Qwen2 with biases, Qwen3 with q/k norms, GPT-NeoX with partial rotary and a parallel
//! residual): the same cache, unchanged, gives the logits of the uncached model.

mod common;
use ch06_llama_qwen::{Decoder, DecoderConfig, Family};
use ch08_kv_cache::{CacheStorage, KvDecoder, KvModel};
use common::*;
use ndarray::{s, Axis};
use proptest::prelude::*;
use serde_json::Value;
use shared::tolerance::{F32_REORDERED, F64_REORDERED};
use shared::Float;
use std::path::PathBuf;

/// The four committed transformers fixtures (see `tests/fixtures/README.md` at the root).
const FIXTURES: [&str; 4] = ["llama-tiny-gqa", "qwen2-tiny", "qwen3-tiny", "neox-tiny"];

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

fn rotary_fixture<F: Float>(name: &str) -> Decoder<F> {
    Decoder::from_pretrained(&fixture_dir(name)).unwrap()
}

/// A tiny random model of each family: GQA (4 query heads over 2 KV heads) in the Llama and
/// Qwen ones; GPT-NeoX (one KV head per query head) rotating half of each head.
fn tiny_configs() -> Vec<DecoderConfig> {
    [Family::Llama, Family::Qwen2, Family::Qwen3, Family::GptNeoX]
        .into_iter()
        .map(|family| DecoderConfig::tiny(family, 61, 32, 2, 4, if family == Family::GptNeoX { 4 } else { 2 }))
        .collect()
}

fn storages(capacity: usize) -> [CacheStorage; 2] {
    [CacheStorage::Concat, CacheStorage::Preallocated { capacity }]
}

#[test]
fn f32_and_f64_logits_equal_at_every_step_for_every_family() {
    let (mut worst32, mut worst64) = (0.0f64, 0.0f64);
    for name in FIXTURES {
        for storage in storages(64) {
            for prompt_len in [1, 5, 11] {
                let m32 = rotary_fixture::<f32>(name);
                let kv32: KvDecoder<f32> = KvModel::new(m32.clone(), storage);
                worst32 = worst32.max(logits_match(m32, kv32, F32_REORDERED, prompt_len, 10, 200));
                let m64 = rotary_fixture::<f64>(name);
                let kv64: KvDecoder<f64> = KvModel::new(m64.clone(), storage);
                worst64 = worst64.max(logits_match(m64, kv64, F64_REORDERED, prompt_len, 10, 200));
            }
        }
    }
    for config in tiny_configs() {
        let m = Decoder::<f64>::random(&config, 3).unwrap();
        let kv: KvDecoder<f64> = KvModel::new(m.clone(), CacheStorage::Concat);
        worst64 = worst64.max(logits_match(m, kv, F64_REORDERED, 4, 12, 61));
    }
    eprintln!("rotary families: max |cached - uncached| f32 {worst32:e} (tolerance {F32_REORDERED:e}), f64 {worst64:e} ({F64_REORDERED:e})");
}

/// Keys enter the cache rotated, at the positions the cache's length gives: the cache after a
/// prompt and several decode steps equals the cache of the whole sequence fed at once, layer by
/// layer, for every family.
#[test]
fn cached_keys_and_values_equal_a_full_recompute() {
    for config in tiny_configs() {
        let seq = prompt(12, config.vocab_size as u32, 2);
        let model = Decoder::<f64>::random(&config, 12).unwrap();
        let mut once: KvDecoder<f64> = KvModel::new(model.clone(), CacheStorage::Concat);
        once.forward(row(&seq), true).unwrap();
        for storage in storages(64) {
            let mut stepped: KvDecoder<f64> = KvModel::new(model.clone(), storage);
            stepped.forward(row(&seq[..7]), true).unwrap(); // prefill 7
            for &t in &seq[7..] {
                stepped.forward(row(&[t]), true).unwrap(); // decode 5
            }
            for (i, (a, b)) in stepped.caches().zip(once.caches()).enumerate() {
                assert_eq!(a.keys().dim(), (1, config.n_kv_heads, 12, config.head_dim), "{:?}: only n_kv_heads are cached", config.family);
                let dk = max_abs_diff4(a.keys(), b.keys());
                let dv = max_abs_diff4(a.values(), b.values());
                assert!(dk <= F64_REORDERED && dv <= F64_REORDERED, "{:?} layer {i}: |dK| {dk:e}, |dV| {dv:e}", config.family);
            }
        }
    }
}

/// The cached keys (after rotation) and values equal those transformers returns as
/// `past_key_values` for the same prompt, layer by layer (an independent implementation).
#[test]
fn cached_keys_and_values_equal_transformers_past_key_values() {
    for name in FIXTURES {
        let reference: Value = serde_json::from_str(&std::fs::read_to_string(fixture_dir(name).join("reference.json")).unwrap()).unwrap();
        let check = &reference["past_key_values_check"];
        let case = reference["cases"].as_array().unwrap().iter().find(|c| c["name"] == check["case"]).unwrap();
        let ids: Vec<u32> = case["input_ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let mut kv: KvDecoder<f32> = KvModel::new(rotary_fixture::<f32>(name), CacheStorage::Concat);
        kv.forward(row(&ids), true).unwrap();
        let mut worst = 0.0f64;
        for (i, (cache, layer)) in kv.caches().zip(check["layers"].as_array().unwrap()).enumerate() {
            for (ours, key) in [(cache.keys(), "key"), (cache.values(), "value")] {
                let theirs = nested(&layer[key]); // [n_kv_heads][seq][head_dim] of batch 0
                let ours = ours.index_axis(Axis(0), 0);
                assert_eq!(ours.dim(), (theirs.len(), theirs[0].len(), theirs[0][0].len()), "{name} layer {i} {key}");
                for ((h, t, d), &x) in ours.indexed_iter() {
                    let diff = (x as f64 - theirs[h][t][d]).abs();
                    assert!(diff <= 1e-4, "{name} layer {i} {key}[{h}, {t}, {d}]: {x} vs transformers {}", theirs[h][t][d]);
                    worst = worst.max(diff);
                }
            }
        }
        eprintln!("{name}: max |cached K/V - transformers past_key_values| = {worst:e}");
    }
}

/// The experiment of the notebook *KV caching*, on a GPT-NeoX model: the prefix with the cache, then the last token
/// fed alone, gives the logits of the full run; and the per-layer K/V of the two are equal.
#[test]
fn neox_prefix_then_last_token_equals_the_full_run() {
    let model = rotary_fixture::<f64>("neox-tiny");
    let ids = prompt(9, 200, 7);
    let mut full: KvDecoder<f64> = KvModel::new(model.clone(), CacheStorage::Concat);
    let all = full.forward(row(&ids), true).unwrap(); // [1, 9, vocab]
    let mut split: KvDecoder<f64> = KvModel::new(model, CacheStorage::Concat);
    split.forward(row(&ids[..8]), true).unwrap();
    let last = split.forward(row(&ids[8..]), true).unwrap(); // [1, 1, vocab]
    let diff = max_abs_diff(&last.index_axis(Axis(0), 0).to_owned(), all.slice(s![0, 8..9, ..]));
    assert!(diff <= F64_REORDERED, "max |prefix + last - full| = {diff:e}");
    for (i, (a, b)) in split.caches().zip(full.caches()).enumerate() {
        let (dk, dv) = (max_abs_diff4(a.keys(), b.keys()), max_abs_diff4(a.values(), b.values()));
        assert!(dk <= F64_REORDERED && dv <= F64_REORDERED, "layer {i}: |dK| {dk:e}, |dV| {dv:e}");
    }
    eprintln!("neox-tiny (f64): max |prefix + last token - full run| = {diff:e}");
}

#[test]
fn chunked_prefill_equals_one_chunk_for_every_family() {
    for config in tiny_configs() {
        let seq = prompt(17, config.vocab_size as u32, 3);
        let model = Decoder::<f64>::random(&config, 13).unwrap();
        let mut whole: KvDecoder<f64> = KvModel::new(model.clone(), CacheStorage::Concat);
        let one = whole.forward(row(&seq), true).unwrap();
        for chunks in [vec![5, 12], vec![1, 1, 15], vec![3, 3, 3, 3, 5]] {
            let mut kv: KvDecoder<f64> = KvModel::new(model.clone(), CacheStorage::Preallocated { capacity: 64 });
            let mut start = 0;
            for c in &chunks {
                let part = kv.forward(row(&seq[start..start + c]), true).unwrap();
                let expected = one.slice(s![0, start..start + c, ..]).to_owned();
                let diff = max_abs_diff(&expected, part.index_axis(Axis(0), 0));
                assert!(diff <= F64_REORDERED, "{:?} chunks {chunks:?}: diff {diff:e}", config.family);
                start += c;
            }
            assert_eq!(kv.current_pos().unwrap(), 17);
        }
    }
}

#[test]
fn reset_starts_again_at_position_zero() {
    for config in tiny_configs() {
        let model = Decoder::<f64>::random(&config, 21).unwrap();
        let mut kv: KvDecoder<f64> = KvModel::new(model.clone(), CacheStorage::Preallocated { capacity: 64 });
        let a = prompt(6, config.vocab_size as u32, 1);
        let b = prompt(4, config.vocab_size as u32, 5);
        kv.forward(row(&a), true).unwrap();
        kv.reset_kv_cache();
        let after_reset = kv.forward(row(&b), true).unwrap().index_axis_move(Axis(0), 0);
        let fresh = model.clone().logits(&b).unwrap();
        assert!(max_abs_diff(&after_reset, fresh.view()) <= F64_REORDERED, "{:?}", config.family);
    }
}

fn config_strategy() -> impl Strategy<Value = DecoderConfig> {
    // (family, n_layers, n_kv_heads, group, head_dim / 8, rotary share): n_heads = n_kv_heads x group
    (0usize..4, 1usize..=2, 1usize..=2, 1usize..=3, 1usize..=2, prop::sample::select(vec![0.25, 0.5, 1.0])).prop_map(
        |(f, layers, kv, group, hd4, pct)| {
            let family = [Family::Llama, Family::Qwen2, Family::Qwen3, Family::GptNeoX][f];
            let n_heads = kv * group;
            let kv = if family == Family::GptNeoX { n_heads } else { kv }; // GPT-NeoX has no GQA
            let head_dim = 8 * hd4; // 8 or 16: a quarter is still an even rotary width
            let mut c = DecoderConfig::tiny(family, 29, n_heads * head_dim, layers, n_heads, kv);
            c.head_dim = head_dim;
            c.rope = ch06_llama_qwen::RopeConfig { partial_rotary_factor: pct, ..ch06_llama_qwen::RopeConfig::new(head_dim, 10000.0) };
            c.context_length = 24;
            c
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any family, `n_kv_heads <= n_heads`, full or partial rotary, any chunking: cached == uncached.
    #[test]
    fn cached_equals_uncached_for_rotary_models(
        config in config_strategy(),
        seed in 0u64..1000,
        ids in prop::collection::vec(0u32..29, 2..20),
        cuts in prop::collection::vec(1usize..6, 0..6),
        prealloc in any::<bool>(),
    ) {
        let mut reference = Decoder::<f64>::random(&config, seed).unwrap();
        let full = reference.logits(&ids).unwrap(); // [len, vocab]
        let storage = if prealloc { CacheStorage::Preallocated { capacity: 24 } } else { CacheStorage::Concat };
        let mut model: KvDecoder<f64> = KvModel::new(reference, storage);
        let mut start = 0;
        let mut sizes = cuts.into_iter();
        while start < ids.len() {
            let size = sizes.next().unwrap_or(1).min(ids.len() - start);
            let out = model.forward(row(&ids[start..start + size]), true).unwrap();
            let diff = max_abs_diff(&full.slice(s![start..start + size, ..]).to_owned(), out.index_axis(Axis(0), 0));
            prop_assert!(diff <= F64_REORDERED, "{:?} chunk at {} of {}: diff {:e}", config.family, start, size, diff);
            start += size;
        }
        prop_assert_eq!(model.current_pos().unwrap(), ids.len());
    }
}

fn max_abs_diff4<F: Float>(a: ndarray::ArrayView4<F>, b: ndarray::ArrayView4<F>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(x, y)| (x.as_f64() - y.as_f64()).abs()).fold(0.0, f64::max)
}

fn nested(v: &Value) -> Vec<Vec<Vec<f64>>> {
    v.as_array().unwrap().iter().map(|h| h.as_array().unwrap().iter().map(|t| t.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect()).collect()
}

