//! The bug of the notebook *KV caching* (see the book's Sources), reproduced: a left-padded cache
//! with the padding masked but no position ids changes the logits; position ids from the mask
//! make them equal again. GPT-NeoX (Pythia's family, as in the notebook) and GPT-2, in f64.

mod common;

use ch04_gpt::Gpt;
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::{CachedAttention, KvModel, WithCaches};
use ch09_batching::{BatchFamily, BatchedAttention, BatchedModel, Positions};
use common::*;
use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};

const PAD: usize = 5;

/// The notebook's experiment: (1) the prompt without its last token into chapter 8's cache, then
/// the last token: the reference logits. (2) The same prefix behind `PAD` masked pad positions,
/// then the last token at `positions`. Returns max |(2) - (1)|.
fn padded_cache_then_last_token<M: BatchFamily<Float = f64>, K: WithCaches<Float = f64>>(plain: M::Plain, kv_plain: K::Plain, prompt: &[u32], positions: Positions) -> f64 {
    let (prefix, last) = prompt.split_at(prompt.len() - 1);
    let mut kv = KvModel::<K>::preallocated(kv_plain);
    kv.forward_last(ArrayView2::from_shape((1, prefix.len()), prefix).unwrap(), true).unwrap();
    let want: Array1<f64> = kv.forward_last(ArrayView2::from_shape((1, 1), last).unwrap(), true).unwrap().row(0).to_owned();

    let mut bm = BatchedModel::<M>::preallocated(plain);
    // the cache, padded: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], the notebook's attention mask
    let ids = concatenate(Axis(1), &[Array2::zeros((1, PAD)).view(), ArrayView2::from_shape((1, prefix.len()), prefix).unwrap()]).unwrap();
    let mask = Array2::from_shape_fn(ids.dim(), |(_, t)| t >= PAD);
    bm.forward_last(ids.view(), mask.view(), Positions::FromMask).unwrap(); // the prefix at its true positions
    let got = bm.forward_last(ArrayView2::from_shape((1, 1), last).unwrap(), Array2::from_elem((1, 1), true).view(), positions).unwrap();
    max_abs_diff(got.row(0), want.view())
}

// ANCHOR: bug
#[test]
fn a_padded_cache_without_position_ids_changes_the_logits_and_position_ids_fix_it() {
    type D = Decoder<f64, BatchedAttention<f64, RotaryAttention<f64>>>;
    type KD = Decoder<f64, CachedAttention<f64, RotaryAttention<f64>>>;
    type G = Gpt<f64, BatchedAttention<f64>>;
    type KG = Gpt<f64, CachedAttention<f64>>;
    let prompt: Vec<u32> = vec![17, 4, 99, 23, 61, 8]; // 6 tokens, as "He was walking down the street"
    let neox = rotary::<f64>("neox-tiny");
    let gpt = gpt2::<f64>("gpt2-tiny-a");
    let neox_bug = padded_cache_then_last_token::<D, KD>(neox.clone(), neox.clone(), &prompt, Positions::FromLength);
    let neox_fix = padded_cache_then_last_token::<D, KD>(neox.clone(), neox, &prompt, Positions::FromMask);
    let gpt_bug = padded_cache_then_last_token::<G, KG>(gpt.clone(), gpt.clone(), &prompt, Positions::FromLength);
    let gpt_fix = padded_cache_then_last_token::<G, KG>(gpt.clone(), gpt, &prompt, Positions::FromMask);
    println!("GPT-NeoX: no position ids {neox_bug:e}, position ids from the mask {neox_fix:e}");
    println!("GPT-2:    no position ids {gpt_bug:e}, position ids from the mask {gpt_fix:e}");
    assert!(neox_bug > 1e-3 && gpt_bug > 1e-3, "the bug must show: {neox_bug}, {gpt_bug}");
    assert!(neox_fix < 1e-12 && gpt_fix < 1e-12, "the fix must give the same logits: {neox_fix}, {gpt_fix}");
}
// ANCHOR_END: bug
