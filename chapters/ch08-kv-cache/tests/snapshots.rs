//! insta snapshots that the uncached and the cached runs assert against **the same name**:
//! the uncached model (chapter 4) is the reference; if the cache changes a single generated id
//! or a logit in its 6th decimal, the cached test fails against the snapshot the uncached run
//! wrote and a reviewer approved.

mod common;
use common::*;
use ch04_gpt::{GenerateOptions, Sampling};
use ch08_kv_cache::{CacheStorage, KvGpt};
use insta::assert_snapshot;

const SEED: u64 = 31;

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
    let mut m = cached::<f64>(&tiny_config(), SEED, storage);
    m.prefill_chunk = chunk;
    m
}

macro_rules! same_snapshot {
    ($name:ident, $prompt_len:expr, $options:expr) => {
        mod $name {
            use super::*;
            fn p() -> Vec<u32> {
                prompt($prompt_len, 101, 9)
            }
            #[test]
            fn uncached() {
                let mut m = super::uncached::<f64>(&tiny_config(), SEED);
                assert_snapshot!(stringify!($name), trace(&mut m, &p(), &$options));
            }
            #[test]
            fn cached_concat() {
                assert_snapshot!(stringify!($name), trace(&mut kv(CacheStorage::Concat, None), &p(), &$options));
            }
            #[test]
            fn cached_preallocated() {
                let mut m = kv(CacheStorage::Preallocated { capacity: 40 }, None);
                assert_snapshot!(stringify!($name), trace(&mut m, &p(), &$options));
            }
            #[test]
            fn cached_chunked_prefill_by_3() {
                assert_snapshot!(stringify!($name), trace(&mut kv(CacheStorage::Concat, Some(3)), &p(), &$options));
            }
            #[test]
            fn cached_chunked_prefill_by_1() {
                let mut m = kv(CacheStorage::Preallocated { capacity: 40 }, Some(1));
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
