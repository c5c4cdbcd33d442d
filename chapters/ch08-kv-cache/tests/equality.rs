//! Cached == uncached: logits at every step, and the cache's K/V against a full recompute.

mod common;
use common::*;
use ch03_attention::Qkv;
use ch04_gpt::Gpt;
use ch08_kv_cache::{CacheStorage, KvGpt};
use ndarray::{s, Axis};
use shared::tolerance::{F32_REORDERED, F64_REORDERED};
use shared::Float;

/// Chapter 8's check on GPT-2: `model` is `reference` with a cache of `storage`.
fn gpt2_logits_match<F: Float>(reference: Gpt<F>, tol: f64, storage: CacheStorage, prompt_len: usize, steps: usize) -> f64 {
    let model = KvGpt::new(reference.clone(), storage);
    logits_match(reference, model, tol, prompt_len, steps, 101)
}

#[test]
fn f32_logits_equal_at_every_step() {
    let mut worst = 0.0f64;
    for storage in STORAGES {
        for prompt_len in [1, 4, 13] {
            // GPT-2's 0.02 initialisation (logits below 1) and the 0.3 fixture (logits up to ~8)
            worst = worst.max(gpt2_logits_match(uncached::<f32>(&tiny_config(), 11), F32_REORDERED, storage, prompt_len, 12));
            worst = worst.max(gpt2_logits_match(fixture_model::<f32>(), F32_REORDERED, storage, prompt_len, 12));
        }
    }
    eprintln!("f32: max |cached - uncached| = {worst:e} (tolerance {F32_REORDERED:e})");
}

#[test]
fn f64_logits_equal_at_every_step() {
    let mut worst = 0.0f64;
    for storage in STORAGES {
        for prompt_len in [1, 4, 13] {
            // GPT-2's 0.02 initialisation (logits below 1) and the 0.3 fixture (logits up to ~8)
            worst = worst.max(gpt2_logits_match(uncached::<f64>(&tiny_config(), 11), F64_REORDERED, storage, prompt_len, 12));
            worst = worst.max(gpt2_logits_match(fixture_model::<f64>(), F64_REORDERED, storage, prompt_len, 12));
        }
    }
    eprintln!("f64: max |cached - uncached| = {worst:e} (tolerance {F64_REORDERED:e})");
}

/// The keys and values in the cache after prompt + decode steps equal the
/// keys and values a full forward pass computes for the same sequence, layer by layer.
#[test]
fn cached_keys_and_values_equal_a_full_recompute() {
    let config = tiny_config();
    for storage in STORAGES {
        let mut model = cached::<f64>(&config, 12, storage);
        let seq = prompt(9, config.vocab_size as u32, 2);
        model.forward(row(&seq[..6]), true).unwrap(); // prefill 6
        for &t in &seq[6..] {
            model.forward(row(&[t]), true).unwrap(); // decode 3
        }
        // recompute: run the blocks uncached, capturing each layer's input
        let reference = uncached::<f64>(&config, 12);
        let mut x = reference.embeddings.forward(row(&seq), 0).unwrap(); // [1, 9, d]
        for (i, block) in reference.blocks.iter().enumerate() {
            let (b, t, d) = x.dim();
            let h = block.ln_1.forward(x.view().into_shape_with_order((b * t, d)).unwrap());
            let Qkv { k, v, .. } = block.attn.project_qkv(h.into_shape_with_order((b, t, d)).unwrap().view()).unwrap();
            let cache = model.caches().nth(i).unwrap();
            assert_eq!(cache.keys().dim(), (1, config.n_kv_heads, 9, config.head_dim()));
            let dk = (&cache.keys() - &k).mapv(f64::abs).fold(0.0f64, |m, &x| m.max(x));
            let dv = (&cache.values() - &v).mapv(f64::abs).fold(0.0f64, |m, &x| m.max(x));
            assert!(dk <= F64_REORDERED && dv <= F64_REORDERED, "layer {i}: |dK| {dk:e}, |dV| {dv:e}");
            eprintln!("layer {i} ({storage:?}): max |cached K - recomputed| = {dk:e}, V {dv:e}");
            x = block.clone().forward(x, false).unwrap();
        }
    }
}

#[test]
fn chunked_prefill_equals_one_chunk() {
    let config = tiny_config();
    let seq = prompt(17, config.vocab_size as u32, 3);
    let mut whole = cached::<f64>(&config, 13, CacheStorage::Concat);
    let one = whole.forward(row(&seq), true).unwrap();
    let mut worst = 0.0f64;
    for chunks in [vec![5, 12], vec![1, 1, 15], vec![8, 8, 1], vec![3, 3, 3, 3, 5]] {
        for storage in STORAGES {
            let mut model = cached::<f64>(&config, 13, storage);
            let mut start = 0;
            for c in &chunks {
                let part = model.forward(row(&seq[start..start + c]), true).unwrap();
                let expected = one.slice(s![0, start..start + c, ..]).to_owned();
                let diff = max_abs_diff(&expected, part.index_axis(Axis(0), 0));
                assert!(diff <= F64_REORDERED, "chunks {chunks:?}: diff {diff:e}");
                worst = worst.max(diff);
                start += c;
            }
            assert_eq!(model.current_pos().unwrap(), 17);
        }
    }
    eprintln!("chunked prefill: max |chunks - one chunk| = {worst:e}");
}

#[test]
fn generate_gives_identical_tokens_with_and_without_cache() {
    use ch04_gpt::{GenerateOptions, Sampling};
    let config = tiny_mha_config();
    for sampling in [Sampling::GREEDY, Sampling { temperature: 1.0, top_k: Some(20), top_p: Some(0.9) }] {
        for storage in STORAGES {
            let mut model = cached::<f32>(&config, 14, storage);
            let opts = GenerateOptions { max_new_tokens: 25, sampling, seed: 7, eos_token_id: None };
            let p = prompt(6, config.vocab_size as u32, 4);
            let with = model.generate(&p, &opts, true, |_| Ok(())).unwrap();
            let without = model.generate(&p, &opts, false, |_| Ok(())).unwrap();
            assert_eq!(with.new_ids, without.new_ids, "{sampling:?} {storage:?}");
            assert_eq!(with.new_ids.len(), 25);
        }
    }
}

#[test]
fn memory_formula_matches_the_bytes_the_cache_holds() {
    use ch08_kv_cache::memory::kv_cache_bytes;
    let config = tiny_config();
    for storage in STORAGES {
        let mut model = cached::<f32>(&config, 15, storage);
        model.forward(row(&prompt(10, 101, 5)), true).unwrap();
        model.forward(row(&[3]), true).unwrap();
        let info = model.cache_info();
        assert_eq!(info.n_layers(), 3);
        assert_eq!(info.layers[0].k_shape, [1, 2, 11, 8]);
        let formula = kv_cache_bytes(config.n_layers, 1, config.n_kv_heads, 11, config.head_dim(), 4);
        assert_eq!(info.total_bytes() as u128, formula);
        // and by counting the elements of the arrays themselves
        let counted: usize = model.caches().map(|c| (c.keys().len() + c.values().len()) * 4).sum();
        assert_eq!(counted as u128, formula);
    }
}
