//! Cached == uncached: logits at every step, and the cache's K/V against a full recompute.

mod common;
use common::*;
use ch03_attention::Qkv;
use ch08_kv_cache::CacheStorage;
use ndarray::{s, Axis};
use shared::Float;

/// Feed `prompt` then `steps` greedy tokens one by one with the cache, and compare the logits of
/// every new position with the uncached model run over the whole sequence.
fn logits_match<F: Float>(tol: f64, storage: CacheStorage, prompt_len: usize, steps: usize) -> f64 {
    let config = tiny_config();
    let mut reference = uncached::<F>(&config, 11);
    let mut model = cached::<F>(&config, 11, storage);
    let mut seq = prompt(prompt_len, config.vocab_size as u32, 1);
    let mut worst = 0.0f64;
    let mut logits = model.forward(row(&seq), true).unwrap().index_axis_move(Axis(0), 0); // [t, vocab]
    for step in 0..=steps {
        let full = reference.logits(&seq).unwrap(); // [len, vocab], uncached
        let new_rows = full.slice(s![full.nrows() - logits.nrows().., ..]);
        let diff = max_abs_diff(&logits, new_rows);
        assert!(diff <= tol, "{} step {step}: max |cached - uncached| = {diff:e} > {tol:e}", F::NAME);
        worst = worst.max(diff);
        if step == steps {
            break;
        }
        let last: Vec<f64> = logits.row(logits.nrows() - 1).iter().map(|x| x.as_f64()).collect();
        let next = ch04_gpt::sampling::argmax(&last);
        seq.push(next);
        logits = model.forward(row(&[next]), true).unwrap().index_axis_move(Axis(0), 0); // [1, vocab]
    }
    worst
}

#[test]
fn f32_logits_equal_within_1e_4_at_every_step() {
    for storage in STORAGES {
        for prompt_len in [1, 4, 13] {
            logits_match::<f32>(1e-4, storage, prompt_len, 12);
        }
    }
}

#[test]
fn f64_logits_equal_within_1e_9_at_every_step() {
    for storage in STORAGES {
        for prompt_len in [1, 4, 13] {
            logits_match::<f64>(1e-9, storage, prompt_len, 12);
        }
    }
}

/// Seed 003's check: the keys and values in the cache after prompt + decode steps equal the
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
            let cache = &model.model.blocks[i].attn.cache;
            assert_eq!(cache.keys().dim(), (1, config.n_kv_heads, 9, config.head_dim()));
            let dk = (&cache.keys() - &k).mapv(f64::abs).fold(0.0f64, |m, &x| m.max(x));
            let dv = (&cache.values() - &v).mapv(f64::abs).fold(0.0f64, |m, &x| m.max(x));
            assert!(dk < 1e-12 && dv < 1e-12, "layer {i}: |dK| {dk:e}, |dV| {dv:e}");
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
    for chunks in [vec![5, 12], vec![1, 1, 15], vec![8, 8, 1], vec![3, 3, 3, 3, 5]] {
        for storage in STORAGES {
            let mut model = cached::<f64>(&config, 13, storage);
            let mut start = 0;
            for c in &chunks {
                let part = model.forward(row(&seq[start..start + c]), true).unwrap();
                let expected = one.slice(s![0, start..start + c, ..]).to_owned();
                let diff = max_abs_diff(&expected, part.index_axis(Axis(0), 0));
                assert!(diff < 1e-10, "chunks {chunks:?}: diff {diff:e}");
                start += c;
            }
            assert_eq!(model.current_pos, 17);
        }
    }
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
        let counted: usize = model.model.blocks.iter().map(|b| (b.attn.cache.keys().len() + b.attn.cache.values().len()) * 4).sum();
        assert_eq!(counted as u128, formula);
    }
}

#[test]
fn concat_copies_the_whole_cache_each_step_preallocated_only_the_new_token() {
    let config = tiny_config();
    let per_token = (2 * config.n_layers * config.n_kv_heads * config.head_dim() * 4) as u64; // bytes, f32
    let mut concat = cached::<f32>(&config, 16, CacheStorage::Concat);
    let mut prealloc = cached::<f32>(&config, 16, CacheStorage::Preallocated { capacity: 40 });
    let p = prompt(4, 101, 6);
    concat.forward(row(&p), true).unwrap();
    prealloc.forward(row(&p), true).unwrap();
    for n in 5..=20u64 {
        let (c0, p0) = (concat.bytes_copied(), prealloc.bytes_copied());
        concat.forward(row(&[1]), true).unwrap();
        prealloc.forward(row(&[1]), true).unwrap();
        assert_eq!(concat.bytes_copied() - c0, n * per_token, "concat copies all {n} positions");
        assert_eq!(prealloc.bytes_copied() - p0, per_token, "preallocated writes one position");
    }
}
