//! 16-bit weights kept in 16 bits (`Checkpoint::keeping_16_bit`) compute what the plain f32
//! path computes on the same numbers widened: a bf16 (or f16) copy of a transformers fixture,
//! loaded twice, once kept in 16 bits and once widened to f32 as every other test loads it.
//! The only difference is the kernel (the weights widened in registers, a prefill's weights in
//! blocks), so the logits agree within [`F32_REORDERED`] (the grouping of the sums may differ)
//! and the greedy tokens are the same. GPT-2, and chapter 6's decoder (Llama with GQA and an
//! untied head, Qwen3 with q/k norms).

mod common;
use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::Decoder;
use ch08_kv_cache::{KvDecoder, KvGpt, KvModel, WithCaches};
use common::{max_abs_diff, prompt, row};
use shared::checkpoint::narrow_file;
use shared::half_matrix::HalfFormat;
use shared::tolerance::F32_REORDERED;
use shared::Checkpoint;
use std::path::{Path, PathBuf};

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// A copy of fixture folder `name` with every tensor of every safetensors file (a single file
/// or shards) rounded to `format`.
fn narrowed_copy(name: &str, format: HalfFormat) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ch08-half-{name}-{}-{}", format.name(), std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture_dir(name)).unwrap() {
        let from = entry.unwrap().path();
        let to = dir.join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
        if to.extension().is_some_and(|e| e == "safetensors") {
            narrow_file(&to, format).unwrap();
        }
    }
    dir
}

/// Both models see the same prompt (a prefill), then the same `steps` tokens one at a time
/// through the fast decode step; every logit within tolerance. Then greedy generation from a
/// fresh prompt gives the same tokens.
fn same_logits_and_tokens<M: WithCaches<Float = f32> + Clone + Send>(half: KvModel<M>, plain: KvModel<M>, vocab: u32, what: &str) {
    for prompt_len in [5, 40] {
        // 5 rows: the few-rows kernel; 40 rows: the prefill path, weights widened in blocks
        let (mut half, mut plain) = (half.clone(), plain.clone());
        let ids = prompt(prompt_len, vocab, 3);
        let (a, b) = (
            half.forward_last(row(&ids), true).unwrap(),
            plain.forward_last(row(&ids), true).unwrap(),
        );
        let d = max_abs_diff(&a, b.view());
        assert!(d <= F32_REORDERED, "{what}: prompt of {prompt_len}: max |diff| {d:e}");
        let (mut la, mut lb) = (vec![0f32; vocab as usize], vec![0f32; vocab as usize]);
        for step in 0..6 {
            let token = ((step * 7 + 3) % vocab as usize) as u32;
            half.decode_into(token, &mut la).unwrap();
            plain.decode_into(token, &mut lb).unwrap();
            let d = la.iter().zip(&lb).map(|(x, y)| (x - y).abs() as f64).fold(0.0, f64::max);
            assert!(d <= F32_REORDERED, "{what}: decode step {step}: max |diff| {d:e}");
        }
    }
    let options = GenerateOptions {
        max_new_tokens: 12,
        sampling: Sampling::GREEDY,
        seed: 0,
        eos_token_id: None,
    };
    let ids = prompt(4, vocab, 9);
    let (mut half, mut plain) = (half, plain);
    let a = half.generate(&ids, &options, true, |_| Ok(())).unwrap().new_ids;
    let b = plain.generate(&ids, &options, true, |_| Ok(())).unwrap().new_ids;
    assert_eq!(a, b, "{what}: greedy tokens");
}

fn open(dir: &Path, keep: bool) -> Checkpoint {
    Checkpoint::open_folder(dir).unwrap().keeping_16_bit(keep)
}

#[test]
fn gpt2_with_16_bit_weights_equals_the_f32_path_on_the_same_numbers() {
    for format in [HalfFormat::Bf16, HalfFormat::F16] {
        let file = narrowed_copy("gpt2-tiny-b", format);
        let config = ch04_gpt::model::read_config(&fixture_dir("gpt2-tiny-b")).unwrap();
        let half = Gpt::<f32>::load(&open(&file, true), &config).unwrap();
        let plain = Gpt::<f32>::load(&open(&file, false), &config).unwrap();
        // the weights really are 16-bit in the one, f32 in the other
        assert_eq!(half.blocks[0].attn.c_attn.half().map(|h| h.format()), Some(format));
        assert_eq!(half.embeddings.wte.half().map(|h| h.format()), Some(format));
        assert!(plain.blocks[0].attn.c_attn.half().is_none() && plain.embeddings.wte.half().is_none());
        let vocab = config.vocab_size as u32;
        same_logits_and_tokens(
            KvGpt::preallocated(half),
            KvGpt::preallocated(plain),
            vocab,
            &format!("gpt2-tiny-b {}", format.name()),
        );
        std::fs::remove_dir_all(&file).unwrap();
    }
}

#[test]
fn rotary_models_with_16_bit_weights_equal_the_f32_path_on_the_same_numbers() {
    for name in ["llama-tiny-gqa", "qwen3-tiny"] {
        let file = narrowed_copy(name, HalfFormat::Bf16);
        let config = ch06_llama_qwen::model::read_config(&fixture_dir(name)).unwrap();
        let half = Decoder::<f32>::load(&open(&file, true), &config).unwrap();
        let plain = Decoder::<f32>::load(&open(&file, false), &config).unwrap();
        assert_eq!(
            half.blocks[0].attn.mha.c_attn.half().map(|h| h.format()),
            Some(HalfFormat::Bf16),
            "{name}"
        );
        assert!(plain.blocks[0].attn.mha.c_attn.half().is_none(), "{name}");
        let vocab = config.vocab_size as u32;
        same_logits_and_tokens(
            KvDecoder::preallocated(half),
            KvDecoder::preallocated(plain),
            vocab,
            &format!("{name} bf16"),
        );
        std::fs::remove_dir_all(&file).unwrap();
    }
}
