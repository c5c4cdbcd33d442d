//! What the tests share: the fixtures (tiny Hugging Face folders of every family), chapter 8's
//! one-prompt runs as the reference, and chapter 9's batch.
#![allow(dead_code)]

use ch04_gpt::{GenerateOptions, Gpt};
use ch06_llama_qwen::Decoder;
use ch08_kv_cache::{KvModel, WithCaches};
use ch09_batching::{generate_batch, BatchFamily, BatchedModel};
use shared::Float;
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// The rotary fixtures (chapter 6's families).
pub const ROTARY: [&str; 4] = ["llama-tiny-gqa", "qwen2-tiny", "qwen3-tiny", "neox-tiny"];
/// The GPT-2 fixtures.
pub const GPT2: [&str; 2] = ["gpt2-tiny-a", "gpt2-tiny-b"];

pub fn gpt2<F: Float>(name: &str) -> Gpt<F> {
    Gpt::from_pretrained(&fixture(name)).expect("a GPT-2 fixture")
}

pub fn rotary<F: Float>(name: &str) -> Decoder<F> {
    Decoder::from_pretrained(&fixture(name)).expect("a rotary fixture")
}

/// Chapter 8: each prompt alone, through its KV cache.
pub fn one_at_a_time<M: WithCaches + Send>(model: M::Plain, prompts: &[Vec<u32>], options: &GenerateOptions) -> Vec<Vec<u32>> {
    let mut kv = KvModel::<M>::preallocated(model);
    prompts.iter().map(|p| kv.generate(p, options, true, |_| Ok(())).expect("chapter 8 generates").new_ids).collect()
}

/// Chapter 9: all prompts in one batch.
pub fn batched<M: BatchFamily + Send>(model: M::Plain, prompts: &[Vec<u32>], options: &GenerateOptions) -> Vec<Vec<u32>> {
    let mut bm = BatchedModel::<M>::preallocated(model);
    generate_batch(&mut bm, prompts, options).expect("chapter 9 generates").into_iter().map(|g| g.new_ids).collect()
}

/// Prompts of lengths `lens`, ids spread over the vocabulary.
pub fn prompts(lens: &[usize], vocab: usize, seed: usize) -> Vec<Vec<u32>> {
    lens.iter().enumerate().map(|(b, &n)| (0..n).map(|t| ((seed * 31 + b * 97 + t * 13 + 5) % (vocab - 1)) as u32).collect()).collect()
}

pub fn max_abs_diff<F: Float>(a: ndarray::ArrayView1<F>, b: ndarray::ArrayView1<F>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x.as_f64() - y.as_f64()).abs()).fold(0.0, f64::max)
}
