//! Random batches: prompt lengths 1..=12, batch sizes 1..=6, greedy and sampled, GPT-2 and a
//! rotary model: every row equals its own generation (chapter 8). Few cases: debug builds.

mod common;

use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::CachedAttention;
use ch09_batching::BatchedAttention;
use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_row_of_a_random_batch_equals_its_own_generation(
        lens in proptest::collection::vec(1usize..=12, 1..=6),
        seed in 0usize..1000,
        rope in any::<bool>(),
        temperature in prop_oneof![Just(0.0), Just(0.8)],
    ) {
        let options = GenerateOptions {
            max_new_tokens: 5,
            sampling: Sampling { temperature, top_k: None, top_p: None },
            seed: seed as u64,
            eos_token_id: None,
        };
        if rope {
            let model = rotary::<f32>("qwen3-tiny");
            let p = prompts(&lens, model.config.vocab_size, seed);
            let want = one_at_a_time::<Decoder<f32, CachedAttention<f32, RotaryAttention<f32>>>>(model.clone(), &p, &options);
            prop_assert_eq!(batched::<Decoder<f32, BatchedAttention<f32, RotaryAttention<f32>>>>(model, &p, &options), want);
        } else {
            let model = gpt2::<f32>("gpt2-tiny-b");
            let p = prompts(&lens, model.config.vocab_size, seed);
            let want = one_at_a_time::<Gpt<f32, CachedAttention<f32>>>(model.clone(), &p, &options);
            prop_assert_eq!(batched::<Gpt<f32, BatchedAttention<f32>>>(model, &p, &options), want);
        }
    }
}
