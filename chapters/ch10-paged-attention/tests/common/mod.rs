//! What the tests share: the fixtures (tiny Hugging Face folders of every family) and chapter 8's
//! contiguous cache as the reference.
#![allow(dead_code)]

use ch04_gpt::{CausalLm, Gpt, NextToken};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::{CachedAttention, KvModel, WithCaches};
use ch10_paged_attention::{PagedAttention, PagedFamily, PagedModel};
use ndarray::Array1;
use shared::Float;
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// The rotary fixtures (chapter 6's families).
pub const ROTARY: [&str; 4] = ["llama-tiny-gqa", "qwen2-tiny", "qwen3-tiny", "neox-tiny"];
/// The mixture-of-experts fixtures (chapter 7).
pub const MOE: [&str; 2] = ["mixtral-tiny", "qwen3-moe-tiny"];
/// The block sizes the issue names: one token, an odd size that never divides the lengths, vLLM's.
pub const BLOCK_SIZES: [usize; 3] = [1, 3, 16];

pub type PG<F> = Gpt<F, PagedAttention<F>>;
pub type PD<F, M = ch06_llama_qwen::FeedForward<F>> = Decoder<F, PagedAttention<F, RotaryAttention<F>>, M>;
pub type KG<F> = Gpt<F, CachedAttention<F>>;
pub type KD<F, M = ch06_llama_qwen::FeedForward<F>> = Decoder<F, CachedAttention<F, RotaryAttention<F>>, M>;
pub type Moe<F> = ch07_moe::MoeFeedForward<F>;

pub fn gpt2<F: Float>(name: &str) -> Gpt<F> {
    Gpt::from_pretrained(&fixture(name)).expect("a GPT-2 fixture")
}

pub fn rotary<F: Float>(name: &str) -> Decoder<F> {
    Decoder::from_pretrained(&fixture(name)).expect("a rotary fixture")
}

pub fn moe<F: Float>(name: &str) -> ch07_moe::MoeDecoder<F> {
    ch07_moe::from_pretrained(&fixture(name)).expect("a MoE fixture").1
}

/// Prompts of lengths `lens`, ids spread over the vocabulary.
pub fn prompts(lens: &[usize], vocab: usize, seed: usize) -> Vec<Vec<u32>> {
    lens.iter().enumerate().map(|(b, &n)| (0..n).map(|t| ((seed * 31 + b * 97 + t * 13 + 5) % (vocab - 1)) as u32).collect()).collect()
}

pub fn max_abs_diff<F: Float>(a: &Array1<F>, b: &Array1<F>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x.as_f64() - y.as_f64()).abs()).fold(0.0, f64::max)
}

/// Chapter 8's logits after `prompt`, then after each token of `steps` (teacher-forced).
pub fn contiguous_logits<K: WithCaches>(model: K::Plain, prompt: &[u32], steps: &[u32]) -> Vec<Array1<K::Float>> {
    let mut kv = KvModel::<K>::preallocated(model);
    kv.start().unwrap();
    let mut seq = prompt.to_vec();
    let mut out = vec![kv.next_logits(&seq).unwrap()];
    for &t in steps {
        seq.push(t);
        out.push(kv.next_logits(&seq).unwrap());
    }
    out
}

/// A paged model with room for `sequences` whole contexts.
pub fn paged<P: PagedFamily>(model: P::Plain, sequences: usize, block_size: usize) -> PagedModel<P> {
    PagedModel::<P>::with_room_for(model, sequences, block_size).unwrap()
}

/// Blocks the sequences hold, counted from their tables: the distinct block numbers.
pub fn distinct_blocks<P: PagedFamily>(model: &PagedModel<P>) -> usize {
    let mut all: Vec<usize> = model.sequences().flat_map(|s| model.table(s).unwrap().blocks().to_vec()).collect();
    all.sort_unstable();
    all.dedup();
    all.len()
}

pub fn vocab<M: CausalLm>(m: &M) -> usize {
    m.vocab_size()
}
