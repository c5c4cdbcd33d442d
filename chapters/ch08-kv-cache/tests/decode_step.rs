//! The fast decode step (`decode_step.rs`) gives the same logits, bit for bit, as chapter 4's
//! and chapter 6's layers (the plain path, which the other tests of this chapter prove equal to
//! the uncached model and to transformers), and leaves the same keys and values in the caches.
//! Checked on the committed transformers fixtures of every family (GPT-2; Llama with GQA and an
//! untied head; Qwen2 with biases; Qwen3 with q/k norms; GPT-NeoX with partial rotary, parallel
//! residual and the exact GELU), in f32 and f64, and over a cache long enough that attention
//! splits its heads across threads.

mod common;
use ch06_llama_qwen::{Decoder, DecoderConfig, Family};
use ch08_kv_cache::{KvDecoder, KvGpt, KvModel, WithCaches};
use common::{prompt, row};
use ndarray::Array4;
use shared::Float;
use std::path::PathBuf;

const ROTARY_FIXTURES: [&str; 4] = ["llama-tiny-gqa", "qwen2-tiny", "qwen3-tiny", "neox-tiny"];

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// Feed `prompt` to two copies of `model`, then `steps` tokens one at a time: one copy through
/// the fast step, the other through the plain path. Every step's logits must be equal, and so
/// must the caches at the end.
fn fast_equals_plain<M: WithCaches + Clone>(model: KvModel<M>, prompt: &[u32], steps: usize, what: &str) {
    let mut fast = model.clone();
    let mut plain = model;
    plain.set_fast_decode(false);
    let a = fast.forward_last(row(prompt), true).unwrap();
    let b = plain.forward_last(row(prompt), true).unwrap();
    assert_eq!(a, b, "{what}: the prompt (plain path in both)");
    let vocab = a.ncols();
    let mut logits = vec![<M::Float as Float>::cast(0.0); vocab];
    for step in 0..steps {
        let token = ((step * 7 + 3) % vocab) as u32;
        let want = plain.forward_last(row(&[token]), true).unwrap(); // [1, vocab]
        if step % 2 == 0 {
            let got = fast.forward_last(row(&[token]), true).unwrap();
            assert_eq!(got, want, "{what}: step {step} (forward_last)");
        } else {
            fast.decode_into(token, &mut logits).unwrap();
            assert!(logits.iter().eq(want.iter()), "{what}: step {step} (decode_into)");
        }
    }
    for (layer, (f, p)) in fast.caches().zip(plain.caches()).enumerate() {
        assert_eq!(f.keys(), p.keys(), "{what}: keys of layer {layer}");
        assert_eq!(f.values(), p.values(), "{what}: values of layer {layer}");
    }
}

fn gpt2<F: Float>() {
    let model = KvGpt::<F>::preallocated(common::fixture_model::<F>());
    fast_equals_plain(model, &prompt(5, 517, 1), 8, &format!("gpt2-tiny-b {}", F::NAME));
}

fn rotary<F: Float>() {
    for name in ROTARY_FIXTURES {
        let model = KvDecoder::<F>::preallocated(Decoder::<F>::from_pretrained(&fixture_dir(name)).unwrap());
        let vocab = model.model().config.vocab_size as u32;
        fast_equals_plain(model, &prompt(5, vocab, 2), 8, &format!("{name} {}", F::NAME));
    }
}

#[test]
fn gpt2_fast_step_equals_the_plain_path_f32_and_f64() {
    gpt2::<f32>();
    gpt2::<f64>();
}

#[test]
fn every_rotary_family_fast_step_equals_the_plain_path_f32_and_f64() {
    rotary::<f32>();
    rotary::<f64>();
}

#[test]
fn a_long_cache_splits_the_heads_and_still_gives_the_same_logits() {
    // 4 heads x 64 dims x 1100 positions > 2^18: the heads run on rayon's threads (shared's
    // ATTENTION_MIN_WORK). The cache is filled by restore_caches, not by a long prefill.
    let config = DecoderConfig { context_length: 1200, ..DecoderConfig::tiny(Family::Llama, 50, 256, 1, 4, 2) };
    let mut model = KvDecoder::<f32>::preallocated(Decoder::<f32>::random(&config, 3).unwrap());
    let (seq, n_kv_heads, head_dim) = (1100, config.n_kv_heads, config.head_dim);
    let k: Array4<f32> = shared::init::normal((1, n_kv_heads, seq, head_dim), 1.0, &mut shared::init::rng(4));
    let v: Array4<f32> = shared::init::normal((1, n_kv_heads, seq, head_dim), 1.0, &mut shared::init::rng(5));
    model.restore_caches(&[(k.view(), v.view())]).unwrap();
    fast_equals_plain(model, &[7], 3, "llama, 1100 cached positions");
}

#[test]
fn decode_into_refuses_bad_input_without_touching_the_caches_and_works_from_an_empty_cache() {
    let mut model = KvGpt::<f64>::preallocated(common::fixture_model::<f64>());
    let vocab = 517;
    let mut plain = model.clone();
    plain.set_fast_decode(false);
    let mut logits = vec![0.0; vocab];
    // an empty cache: the fast step does not apply yet (nothing allocated), the plain path runs
    model.decode_into(3, &mut logits).unwrap();
    let want = plain.forward_last(row(&[3]), true).unwrap();
    assert!(logits.iter().eq(want.iter()));
    model.decode_into(4, &mut logits).unwrap(); // now through the fast step
    assert_eq!(model.current_pos().unwrap(), 2);
    let err = model.decode_into(4, &mut vec![0.0; vocab - 1]).unwrap_err();
    assert!(matches!(err, shared::Error::Shape { .. }), "{err}");
    let err = model.decode_into(vocab as u32, &mut logits).unwrap_err();
    assert!(matches!(err, shared::Error::TokenOutOfRange { .. }), "{err}");
    assert_eq!(model.current_pos().unwrap(), 2, "a refused step leaves every cache as it was");
    // and a full context is the plain path's overflow error
    let mut tiny = KvGpt::<f64>::preallocated(common::uncached(&common::tiny_mha_config(), 2));
    let context = 40;
    tiny.forward_last(row(&prompt(context, 101, 3)), true).unwrap();
    let err = tiny.decode_into(1, &mut vec![0.0; 101]).unwrap_err();
    assert!(matches!(err, shared::Error::ContextOverflow { .. }), "{err}");
}
