//! insta snapshots that the uncached and the cached runs assert against **the same name**:
//! the uncached model (chapter 4) is the reference; if the cache changes a single generated id
//! or a logit in its 6th decimal, the cached test fails against the snapshot the uncached run
//! wrote and a reviewer approved.
//!
//! The model is the committed transformers fixture `gpt2-tiny-b` (weights drawn with std 0.3):
//! its greedy continuations vary from token to token, so a snapshot can tell a right model from
//! a wrong one (random weights at GPT-2's 0.02 repeat a single token).

mod common;
use common::*;
use ch04_gpt::{GenerateOptions, Sampling};
use ch06_llama_qwen::Decoder;
use ch08_kv_cache::{CacheStorage, KvDecoder, KvGpt, KvModel};
use insta::assert_snapshot;

/// The fixture's context: 48 positions.
const CAPACITY: usize = 48;
/// Prompt ids are drawn below this (the fixture's vocabulary is 517, its last id `<|endoftext|>`).
const VOCAB: u32 = 516;

fn greedy() -> GenerateOptions {
    GenerateOptions { max_new_tokens: 12, ..Default::default() }
}

fn sampled() -> GenerateOptions {
    GenerateOptions {
        max_new_tokens: 12,
        sampling: Sampling { temperature: 1.0, top_k: Some(30), top_p: Some(0.95) },
        seed: 1234,
        eos_token_id: None,
    }
}

fn kv(storage: CacheStorage, chunk: Option<usize>) -> KvGpt<f64> {
    let mut m = KvGpt::new(fixture_model::<f64>(), storage);
    m.set_prefill_chunk(chunk);
    m
}

/// Chapter 6's sharded Llama fixture (grouped-query attention, Llama 3 rotary scaling, untied
/// head; `tests/fixtures/llama-tiny-gqa`): the same proof for a rotary model.
fn llama_fixture() -> Decoder<f64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/llama-tiny-gqa");
    Decoder::from_pretrained(&dir).unwrap()
}

fn llama_kv(storage: CacheStorage, chunk: Option<usize>) -> KvDecoder<f64> {
    let mut m = KvModel::new(llama_fixture(), storage);
    m.set_prefill_chunk(chunk);
    m
}

macro_rules! same_snapshot {
    ($name:ident, $prompt_len:expr, $options:expr) => {
        same_snapshot!($name, $prompt_len, $options, fixture_model::<f64>, kv, VOCAB);
    };
    ($name:ident, $prompt_len:expr, $options:expr, $uncached:expr, $kv:ident, $vocab:expr) => {
        mod $name {
            use super::*;
            fn p() -> Vec<u32> {
                prompt($prompt_len, $vocab, 9)
            }
            fn kv(storage: CacheStorage, chunk: Option<usize>) -> impl ch04_gpt::NextToken<f64> {
                super::$kv(storage, chunk)
            }
            #[test]
            fn uncached() {
                let mut m = $uncached();
                assert_snapshot!(stringify!($name), trace(&mut m, &p(), &$options));
            }
            #[test]
            fn cached_concat() {
                assert_snapshot!(stringify!($name), trace(&mut kv(CacheStorage::Concat, None), &p(), &$options));
            }
            #[test]
            fn cached_preallocated() {
                let mut m = kv(CacheStorage::Preallocated { capacity: CAPACITY }, None);
                assert_snapshot!(stringify!($name), trace(&mut m, &p(), &$options));
            }
            #[test]
            fn cached_chunked_prefill_by_3() {
                assert_snapshot!(stringify!($name), trace(&mut kv(CacheStorage::Concat, Some(3)), &p(), &$options));
            }
            #[test]
            fn cached_chunked_prefill_by_1() {
                let mut m = kv(CacheStorage::Preallocated { capacity: CAPACITY }, Some(1));
                assert_snapshot!(stringify!($name), trace(&mut m, &p(), &$options));
            }
        }
    };
}

same_snapshot!(greedy_prompt_1, 1, greedy());
same_snapshot!(greedy_prompt_5, 5, greedy());
same_snapshot!(greedy_prompt_17, 17, greedy());
same_snapshot!(sampled_prompt_5, 5, sampled());
same_snapshot!(sampled_prompt_17, 17, sampled());
// the Llama fixture's vocabulary is 331 (its last id the end-of-text token)
same_snapshot!(llama_greedy_prompt_5, 5, greedy(), llama_fixture, llama_kv, 330);
same_snapshot!(llama_sampled_prompt_17, 17, sampled(), llama_fixture, llama_kv, 330);
