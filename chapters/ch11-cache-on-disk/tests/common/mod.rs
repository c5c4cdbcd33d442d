//! Helpers shared by chapter 11's tests.
#![allow(dead_code)]

use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::{CachedAttention, KvModel};
use ch11_cache_on_disk::{save_cache, Fingerprint};
use ndarray::{Array2, ArrayView2};
use shared::Float;
use std::path::{Path, PathBuf};

/// The model types inside chapter 8's `KvGpt` / `KvDecoder`.
pub type KvGptOf<F> = Gpt<F, CachedAttention<F>>;
pub type KvDecoderOf<F> = Decoder<F, CachedAttention<F, RotaryAttention<F>>>;

pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// A fresh path for one test's file.
pub fn temp_file(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ch11");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.kvc"));
    let _ = std::fs::remove_file(&path);
    path
}

pub fn greedy(max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None }
}

pub fn row(ids: &[u32]) -> ArrayView2<'_, u32> {
    ArrayView2::from_shape((1, ids.len()), ids).unwrap()
}

pub fn max_abs_diff<F: Float>(a: &Array2<F>, b: ArrayView2<F>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(x, y)| (x.as_f64() - y.as_f64()).abs()).fold(0.0, f64::max)
}

/// The context ids of the tiny GPT-2 fixture `gpt2-tiny-a` saved after a short context.
pub const GPT2_CONTEXT: [u32; 12] = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];

/// Save `gpt2-tiny-a`'s cache after [`GPT2_CONTEXT`] to a fresh file.
pub fn saved_gpt2_cache(name: &str) -> PathBuf {
    let dir = fixture_dir("gpt2-tiny-a");
    let mut model = KvModel::<KvGptOf<f32>>::new(Gpt::from_pretrained(&dir).unwrap(), ch08_kv_cache::CacheStorage::Concat);
    model.forward(row(&GPT2_CONTEXT), true).unwrap();
    let file = temp_file(name);
    save_cache(&file, &model, &GPT2_CONTEXT, Fingerprint::of_folder(&dir).unwrap()).unwrap();
    file
}
