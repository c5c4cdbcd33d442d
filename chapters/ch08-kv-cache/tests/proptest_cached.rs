//! Property: for any small configuration, prompt and chunking, cached == uncached.

mod common;
use common::*;
use ch04_gpt::Gpt;
use ch08_kv_cache::{CacheStorage, KvGpt};
use ndarray::{s, Axis};
use proptest::prelude::*;
use shared::tolerance::F64_REORDERED;
use shared::GptConfig;

fn config_strategy() -> impl Strategy<Value = GptConfig> {
    // (n_layers, n_kv_heads, group, head_dim): n_heads = n_kv_heads * group
    (1usize..=3, 1usize..=3, 1usize..=3, 1usize..=4).prop_map(|(layers, kv, group, hd2)| {
        let n_heads = kv * group;
        let mut c = GptConfig::gpt2_like(37, 24, n_heads * hd2 * 2, layers, n_heads);
        c.n_kv_heads = kv;
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cached_equals_uncached(
        config in config_strategy(),
        seed in 0u64..1000,
        ids in prop::collection::vec(0u32..37, 2..20),
        cuts in prop::collection::vec(1usize..6, 0..6),
        prealloc in any::<bool>(),
    ) {
        let reference = Gpt::<f64>::random(&config, seed).unwrap();
        let full = reference.clone().logits(&ids).unwrap(); // [len, vocab]
        let storage = if prealloc { CacheStorage::Preallocated { capacity: 24 } } else { CacheStorage::Concat };
        let mut model = KvGpt::new(reference, storage);
        // split ids into chunks of the drawn sizes (the rest one token at a time)
        let mut start = 0;
        let mut sizes = cuts.into_iter();
        while start < ids.len() {
            let size = sizes.next().unwrap_or(1).min(ids.len() - start);
            let out = model.forward(row(&ids[start..start + size]), true).unwrap();
            let diff = max_abs_diff(&full.slice(s![start..start + size, ..]).to_owned(), out.index_axis(Axis(0), 0));
            prop_assert!(diff <= F64_REORDERED, "chunk at {} of {}: diff {:e}", start, size, diff);
            start += size;
        }
        prop_assert_eq!(model.current_pos().unwrap(), ids.len());
    }
}
