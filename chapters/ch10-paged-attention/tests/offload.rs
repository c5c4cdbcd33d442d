//! Swapping a sequence out of the pool and back in: the keys and values come back unchanged at
//! new block numbers, and the generation continues exactly as chapter 8's uninterrupted one.

use ch04_gpt::{sample, GenerateOptions, Gpt, Sampling};
use ch08_kv_cache::{CachedAttention, KvModel};
use ch10_paged_attention::offload::{swap_in, swap_out};
use ch10_paged_attention::PagedGpt;
use ndarray::Array1;
use std::path::PathBuf;

fn model() -> Gpt<f32> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpt2-tiny-a");
    Gpt::from_pretrained(&dir).unwrap()
}

fn greedy(logits: &Array1<f32>) -> u32 {
    sample(logits.view(), &Sampling::GREEDY, &mut shared::init::rng(0)).unwrap()
}

/// Feed `ids` to `seq`, then pick `n` greedy tokens, feeding back all but the last.
fn decode(paged: &mut PagedGpt<f32>, seq: u64, ids: &[u32], n: usize) -> Vec<u32> {
    let mut logits = paged.step(&[(seq, ids)]).unwrap().remove(0);
    let mut out = Vec::new();
    while out.len() < n {
        out.push(greedy(&logits));
        if out.len() < n {
            logits = paged.step(&[(seq, &out[out.len() - 1..])]).unwrap().remove(0);
        }
    }
    out
}

#[test]
fn swapped_out_and_in_the_sequence_continues_unchanged() {
    let model = model();
    let prompt: Vec<u32> = vec![5, 17, 42, 8, 99, 3, 61];
    let options = GenerateOptions { max_new_tokens: 12, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None };
    let want = KvModel::<Gpt<f32, CachedAttention<f32>>>::preallocated(model.clone()).generate(&prompt, &options, true, |_| Ok(())).unwrap().new_ids;

    let mut paged = PagedGpt::<f32>::new(model, 12, 3).unwrap();
    paged.add_sequence(1).unwrap();
    // prompt, then 5 of 6 new tokens fed back: 7 + 5 = 12 tokens cached in 4 blocks
    let mut got = decode(&mut paged, 1, &prompt, 6);
    let last = got[5];
    let old_blocks = paged.table(1).unwrap().blocks().to_vec();
    let kv_before: Vec<_> = old_blocks.iter().map(|&b| paged.block_kv(b).unwrap()).collect();
    let bytes_per_block = paged.bytes_per_block();

    let swapped = swap_out(&mut paged, 1).unwrap();
    assert_eq!((swapped.len(), swapped.num_blocks()), (12, 4));
    assert_eq!(swapped.bytes(), 4 * bytes_per_block);
    assert_eq!(paged.pool().num_used(), 0, "its blocks are free while it is out");
    assert!(paged.table(1).is_none());

    // another sequence takes the freed block numbers meanwhile
    paged.add_sequence(2).unwrap();
    decode(&mut paged, 2, &[1, 2, 3, 4, 5, 6], 0);
    swap_in(&mut paged, 1, swapped).unwrap();
    let new_blocks = paged.table(1).unwrap().blocks().to_vec();
    assert_ne!(new_blocks, old_blocks, "it comes back at other block numbers");
    let kv_after: Vec<_> = new_blocks.iter().map(|&b| paged.block_kv(b).unwrap()).collect();
    assert_eq!(kv_after, kv_before, "the same keys and values");

    got.extend(decode(&mut paged, 1, &[last], 6)); // fed back, and 6 more
    assert_eq!(got, want);
}

#[test]
fn swap_in_without_room_takes_nothing() {
    let mut paged = PagedGpt::<f32>::new(model(), 4, 2).unwrap();
    paged.add_sequence(1).unwrap();
    paged.step(&[(1, &[1, 2, 3])]).unwrap(); // 2 blocks
    let swapped = swap_out(&mut paged, 1).unwrap();
    paged.add_sequence(2).unwrap();
    paged.step(&[(2, &[4, 5, 6, 7, 8])]).unwrap(); // 3 of the 4 blocks
    assert!(swap_in(&mut paged, 1, swapped).is_err());
    assert_eq!(paged.pool().num_free(), 1);
    assert!(paged.table(1).is_none());
}

#[test]
fn a_swapped_sequence_survives_a_round_trip_through_a_file() {
    let model = model();
    let prompt: Vec<u32> = vec![9, 8, 7, 6, 5];
    let options = GenerateOptions { max_new_tokens: 10, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None };
    let want = KvModel::<Gpt<f32, CachedAttention<f32>>>::preallocated(model.clone()).generate(&prompt, &options, true, |_| Ok(())).unwrap().new_ids;
    let mut paged = PagedGpt::<f32>::new(model, 8, 4).unwrap();
    paged.add_sequence(3).unwrap();
    let mut got = decode(&mut paged, 3, &prompt, 4); // 5 + 3 = 8 tokens cached in 2 full blocks
    let swapped = swap_out(&mut paged, 3).unwrap();
    let dir = std::env::temp_dir().join(format!("ch10-swap-file-{}", std::process::id()));
    let path = dir.join("seq3.kvswap");
    swapped.save(&path).unwrap();
    // f32 values, 4 bytes each, after a 56-byte header
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, 56 + swapped.bytes());
    let back = ch10_paged_attention::offload::Swapped::<f32>::load(&path).unwrap();
    assert_eq!(back, swapped);
    // a truncated file is refused, not misread
    std::fs::write(&path, &std::fs::read(&path).unwrap()[..100]).unwrap();
    assert!(ch10_paged_attention::offload::Swapped::<f32>::load(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    swap_in(&mut paged, 3, back).unwrap();
    let pending = got[3];
    got.extend(decode(&mut paged, 3, &[pending], 6));
    assert_eq!(got, want);
}
