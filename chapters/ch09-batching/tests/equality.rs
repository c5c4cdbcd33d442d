//! Every row of a batch equals its own one-prompt generation (chapter 8's cache): tokens,
//! greedy and sampled, and logits at every step, for GPT-2 and the rotary families.

mod common;

use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::{CachedAttention, KvModel, WithCaches};
use ch09_batching::{generate_batch, BatchFamily, BatchedAttention, BatchedModel, LeftPadded, Positions};
use common::*;
use ndarray::{Array2, ArrayView2};
use shared::Float;

type G<F> = Gpt<F, BatchedAttention<F>>;
type D<F> = Decoder<F, BatchedAttention<F, RotaryAttention<F>>>;
type KG<F> = Gpt<F, CachedAttention<F>>;
type KD<F> = Decoder<F, CachedAttention<F, RotaryAttention<F>>>;

fn greedy(n: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens: n, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None }
}

fn sampled(n: usize, seed: u64) -> GenerateOptions {
    GenerateOptions { max_new_tokens: n, sampling: Sampling { temperature: 1.0, top_k: Some(40), top_p: Some(0.95) }, seed, eos_token_id: None }
}

const LENS: [usize; 5] = [3, 9, 1, 14, 6];

#[test]
fn every_row_equals_its_own_generation_greedy_and_sampled_for_every_family() {
    for options in [greedy(12), sampled(12, 7)] {
        for name in GPT2 {
            let model = gpt2::<f32>(name);
            let p = prompts(&LENS, model.config.vocab_size, 1);
            let want = one_at_a_time::<KG<f32>>(model.clone(), &p, &options);
            assert_eq!(batched::<G<f32>>(model, &p, &options), want, "{name}, {:?}", options.sampling);
        }
        for name in ROTARY {
            let model = rotary::<f32>(name);
            let p = prompts(&LENS, model.config.vocab_size, 2);
            let want = one_at_a_time::<KD<f32>>(model.clone(), &p, &options);
            assert_eq!(batched::<D<f32>>(model, &p, &options), want, "{name}, {:?}", options.sampling);
        }
    }
}

#[test]
fn a_row_stops_at_its_end_of_text_and_the_others_go_on() {
    let model = gpt2::<f32>("gpt2-tiny-a");
    let p = prompts(&LENS, model.config.vocab_size, 3);
    // row 1's third greedy token becomes end-of-text: row 1 must stop there, the rest go on
    let free = one_at_a_time::<KG<f32>>(model.clone(), &p, &greedy(10));
    let eos = free[1][2];
    let options = GenerateOptions { eos_token_id: Some(eos), ..greedy(10) };
    let want = one_at_a_time::<KG<f32>>(model.clone(), &p, &options);
    let mut bm = BatchedModel::<G<f32>>::preallocated(model);
    let got = generate_batch(&mut bm, &p, &options).unwrap();
    assert_eq!(got[1].new_ids, free[1][..3].to_vec());
    assert!(got[1].stopped_at_eos);
    for (b, g) in got.iter().enumerate() {
        assert_eq!(g.new_ids, want[b], "row {b}");
        assert_eq!(g.prompt_ids, p[b]);
    }
    assert!(got.iter().any(|g| g.new_ids.len() == 10), "some row went on to the end");
}

/// Teacher-forced: the batch and each prompt alone see the same tokens; the logits of every row
/// at every step (the prompt, then 6 one-token steps) must agree within `tol`.
fn logits_agree<M: BatchFamily + Send, K: WithCaches<Float = M::Float> + Send>(plain: M::Plain, kv_plain: K::Plain, vocab: usize, tol: f64) -> f64 {
    let p = prompts(&LENS, vocab, 4);
    let padded = LeftPadded::new(&p, 0).unwrap();
    let mut bm = BatchedModel::<M>::preallocated(plain);
    let mut kv = KvModel::<K>::preallocated(kv_plain);
    let mut worst = 0.0f64;
    let mut batch_logits = vec![bm.forward_last(padded.ids.view(), padded.mask.view(), Positions::FromMask).unwrap()];
    let steps: Vec<Array2<u32>> = (0..6).map(|s| Array2::from_shape_fn((p.len(), 1), |(b, _)| ((b * 11 + s * 7 + 3) % (vocab - 1)) as u32)).collect();
    let real = Array2::from_elem((p.len(), 1), true);
    for ids in &steps {
        batch_logits.push(bm.forward_last(ids.view(), real.view(), Positions::FromMask).unwrap());
    }
    for (b, prompt) in p.iter().enumerate() {
        kv.reset_kv_cache();
        let mut one = vec![kv.forward_last(ArrayView2::from_shape((1, prompt.len()), prompt).unwrap(), true).unwrap()];
        for ids in &steps {
            one.push(kv.forward_last(ArrayView2::from_shape((1, 1), &[ids[[b, 0]]]).unwrap(), true).unwrap());
        }
        for (step, (batch, alone)) in batch_logits.iter().zip(&one).enumerate() {
            let d = max_abs_diff(batch.row(b), alone.row(0));
            assert!(d < tol, "row {b}, step {step}: {d} >= {tol}");
            worst = worst.max(d);
        }
    }
    worst
}

#[test]
fn logits_agree_within_1e_4_in_f32_and_1e_9_in_f64_for_gpt2_and_rope() {
    fn check<F: Float>(tol: f64) -> (f64, f64) {
        let g = gpt2::<F>("gpt2-tiny-b");
        let vocab = g.config.vocab_size;
        let gpt = logits_agree::<G<F>, KG<F>>(g.clone(), g, vocab, tol);
        let mut worst_rope = 0.0f64;
        for name in ROTARY {
            let r = rotary::<F>(name);
            let vocab = r.config.vocab_size;
            worst_rope = worst_rope.max(logits_agree::<D<F>, KD<F>>(r.clone(), r, vocab, tol));
        }
        (gpt, worst_rope)
    }
    let (g32, r32) = check::<f32>(1e-4);
    let (g64, r64) = check::<f64>(1e-9);
    println!("max |batched - alone| logits: GPT-2 f32 {g32:e}, f64 {g64:e}; rotary f32 {r32:e}, f64 {r64:e}");
}

#[test]
fn a_batch_of_one_without_padding_is_chapter_8() {
    let model = rotary::<f64>("llama-tiny-gqa");
    let p = prompts(&[7], model.config.vocab_size, 5);
    let want = one_at_a_time::<KD<f64>>(model.clone(), &p, &greedy(8));
    assert_eq!(batched::<D<f64>>(model, &p, &greedy(8)), want);
}

#[test]
fn bad_batches_are_errors_not_panics() {
    let model = gpt2::<f32>("gpt2-tiny-a");
    let context = model.config.context_length;
    let mut bm = BatchedModel::<G<f32>>::preallocated(model);
    assert!(generate_batch(&mut bm, &[], &greedy(3)).is_err(), "no prompt");
    assert!(generate_batch(&mut bm, &[vec![1], vec![]], &greedy(3)).is_err(), "an empty prompt");
    assert!(generate_batch(&mut bm, &[vec![1; context]], &greedy(3)).is_err(), "past the context");
    assert!(generate_batch(&mut bm, &[vec![1; 3]], &GenerateOptions { sampling: Sampling { temperature: -1.0, top_k: None, top_p: None }, ..greedy(3) }).is_err());
    // another batch size on a filled cache: refused until reset
    let two = Array2::from_elem((2, 1), 1u32);
    let three = Array2::from_elem((3, 1), 1u32);
    bm.reset();
    bm.forward_last(two.view(), Array2::from_elem((2, 1), true).view(), Positions::FromMask).unwrap();
    assert!(bm.forward_last(three.view(), Array2::from_elem((3, 1), true).view(), Positions::FromMask).is_err());
    assert!(bm.forward_last(two.view(), Array2::from_elem((2, 2), true).view(), Positions::FromMask).is_err(), "mask of another shape");
    // and still usable after a reset
    bm.reset();
    assert!(bm.forward_last(three.view(), Array2::from_elem((3, 1), true).view(), Positions::FromMask).is_ok());
}
