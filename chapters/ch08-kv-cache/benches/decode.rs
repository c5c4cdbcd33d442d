//! `cargo bench -p ch08-kv-cache`: decode with and without the KV cache, and prefill, on the
//! exact GPT-2 124M configuration (random weights: the speed does not depend on their values).
//!
//! divan prints the time per generation and, through the item counter, tokens per second.
//! Sample counts are low (each sample generates 20 tokens through a 124M-parameter model), so
//! the whole run takes a couple of minutes on 2 cores.

use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch08_kv_cache::KvGpt;
use divan::counter::ItemsCount;
use divan::Bencher;
use ndarray::ArrayView2;
use shared::GptConfig;
use std::sync::{LazyLock, Mutex};

/// Tokens generated per decode sample, and the prompt lengths.
const NEW_TOKENS: usize = 20;
const PROMPT_LEN: usize = 8;
const PREFILL_LEN: usize = 512;

/// One GPT-2 124M with a preallocated cache, built once (about 500 MB of weights) and shared
/// by every benchmark.
static MODEL: LazyLock<Mutex<KvGpt<f32>>> = LazyLock::new(|| {
    let model = Gpt::<f32>::random(&GptConfig::gpt2_124m(), 42).expect("GPT-2 124M config is valid");
    Mutex::new(KvGpt::preallocated(model))
});

/// A fixed prompt of `len` ids (random weights: only the count matters).
fn prompt(len: usize) -> Vec<u32> {
    (0..len as u32).map(|i| (i * 7919 + 13) % 50257).collect()
}

fn greedy(max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens, sampling: Sampling::GREEDY, seed: 42, eos_token_id: None }
}

fn main() {
    divan::main();
}

/// 20 tokens after an 8-token prompt WITH the cache: one token per step after the prompt.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn decode_20_tokens_cached(bencher: Bencher) {
    let mut model = MODEL.lock().expect("not poisoned"); // built here, outside the timing
    let ids = prompt(PROMPT_LEN);
    bencher.counter(ItemsCount::new(NEW_TOKENS)).bench_local(|| {
        model.generate(&ids, &greedy(NEW_TOKENS), true, |_| Ok(())).expect("fits the context")
    });
}

/// The same 20 tokens WITHOUT the cache: every step reruns the whole sequence.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn decode_20_tokens_uncached(bencher: Bencher) {
    let mut model = MODEL.lock().expect("not poisoned");
    let ids = prompt(PROMPT_LEN);
    bencher.counter(ItemsCount::new(NEW_TOKENS)).bench_local(|| {
        model.generate(&ids, &greedy(NEW_TOKENS), false, |_| Ok(())).expect("fits the context")
    });
}

/// Prefill: one forward pass over a 512-token prompt, filling the cache (tokens/s = prompt
/// tokens processed per second).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn prefill_512_tokens(bencher: Bencher) {
    let mut model = MODEL.lock().expect("not poisoned");
    let ids = prompt(PREFILL_LEN);
    let row = ArrayView2::from_shape((1, PREFILL_LEN), &ids).expect("one row"); // [1, 512]
    bencher.counter(ItemsCount::new(PREFILL_LEN)).bench_local(|| {
        model.reset_kv_cache();
        model.forward_last(row, true).expect("fits the context") // [1, vocab]
    });
}
