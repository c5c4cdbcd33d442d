//! Paged attention equals chapter 8's contiguous cache: the same logits (within 1e-4 in f32,
//! 1e-9 in f64) at every step and the same greedy tokens, for block sizes 1, 3 and 16 and every
//! family; and a step of several sequences equals each one alone.

mod common;

use ch04_gpt::{generate, CausalLm, GenerateOptions, NextToken, Sampling};
use ch08_kv_cache::{KvModel, WithCaches};
use ch10_paged_attention::{PagedError, PagedFamily, PagedModel, PoolError};
use common::*;
use ndarray::Array1;
use shared::Float;

fn greedy(n: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens: n, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None }
}

/// One sequence, teacher-forced: a 7-token prompt, then 9 single tokens; every step's logits
/// against chapter 8's. Returns the largest difference.
fn logits_match<P: PagedFamily, K: WithCaches<Float = P::Float>>(plain: P::Plain, kv_plain: K::Plain, vocab: usize, block_size: usize, tol: f64) -> f64
where
    P::Plain: Clone,
{
    let p = prompts(&[7, 9], vocab, block_size);
    let (prompt, steps) = (&p[0], &p[1]);
    let want = contiguous_logits::<K>(kv_plain, prompt, steps);
    // decode reading the blocks in place (the default) and through the gather
    let worst = logits_match_with::<P>(plain.clone(), prompt, steps, &want, block_size, tol, true);
    worst.max(logits_match_with::<P>(plain, prompt, steps, &want, block_size, tol, false))
}

fn logits_match_with<P: PagedFamily>(plain: P::Plain, prompt: &[u32], steps: &[u32], want: &[Array1<P::Float>], block_size: usize, tol: f64, in_place: bool) -> f64 {
    let mut paged = paged::<P>(plain, 1, block_size);
    paged.set_read_in_place(in_place);
    paged.add_sequence(0).unwrap();
    let mut got = vec![paged.step(&[(0, prompt)]).unwrap().remove(0)];
    for &t in steps {
        got.push(paged.step(&[(0, &[t])]).unwrap().remove(0));
    }
    // the table holds every token, in ceil(len / bs) blocks
    let len = prompt.len() + steps.len();
    assert_eq!(paged.table(0).unwrap().len(), len);
    assert_eq!(paged.pool().num_used(), len.div_ceil(block_size));
    let mut worst = 0.0f64;
    for (s, (a, b)) in got.iter().zip(want).enumerate() {
        let d = max_abs_diff(a, b);
        assert!(d < tol, "block size {block_size}, in place {in_place}, step {s}: |paged - contiguous| = {d} >= {tol}");
        worst = worst.max(d);
    }
    worst
}

/// Greedy generation through chapter 4's loop: the paged model and chapter 8's, the same ids.
fn greedy_ids_match<P: PagedFamily + Send, K: WithCaches<Float = P::Float> + Send>(plain: P::Plain, kv_plain: K::Plain, vocab: usize, block_size: usize) {
    let prompt = &prompts(&[5], vocab, 3)[0];
    let want = KvModel::<K>::preallocated(kv_plain).generate(prompt, &greedy(12), true, |_| Ok(())).unwrap().new_ids;
    let mut paged = paged::<P>(plain, 1, block_size);
    let got = generate(&mut paged, prompt, &greedy(12), |_| Ok(())).unwrap().new_ids;
    assert_eq!(got, want, "block size {block_size}");
    // a second prompt starts from an empty pool (no stale blocks)
    let again = generate(&mut paged, prompt, &greedy(12), |_| Ok(())).unwrap().new_ids;
    assert_eq!(again, want);
    assert_eq!(paged.pool().num_used(), (prompt.len() + 11).div_ceil(block_size), "the last token is never fed");
}

fn all_families<F: Float>(tol: f64) -> f64 {
    let mut worst = 0.0f64;
    for bs in BLOCK_SIZES {
        let g = gpt2::<F>("gpt2-tiny-a");
        let v = g.config.vocab_size;
        worst = worst.max(logits_match::<PG<F>, KG<F>>(g.clone(), g, v, bs, tol));
        for name in ROTARY {
            let r = rotary::<F>(name);
            let v = r.config.vocab_size;
            worst = worst.max(logits_match::<PD<F>, KD<F>>(r.clone(), r, v, bs, tol));
        }
        for name in MOE {
            let m = moe::<F>(name);
            let v = m.config.vocab_size;
            worst = worst.max(logits_match::<PD<F, Moe<F>>, KD<F, Moe<F>>>(m.clone(), m, v, bs, tol));
        }
    }
    worst
}

#[test]
fn paged_logits_equal_contiguous_within_1e_4_in_f32_for_every_family_and_block_size() {
    let worst = all_families::<f32>(1e-4);
    println!("max |paged - contiguous| logits, f32: {worst:e}");
}

#[test]
fn paged_logits_equal_contiguous_within_1e_9_in_f64_for_every_family_and_block_size() {
    let worst = all_families::<f64>(1e-9);
    println!("max |paged - contiguous| logits, f64: {worst:e}");
}

#[test]
fn paged_greedy_ids_equal_contiguous_for_every_family_and_block_size() {
    for bs in BLOCK_SIZES {
        let g = gpt2::<f32>("gpt2-tiny-a");
        let v = g.config.vocab_size;
        greedy_ids_match::<PG<f32>, KG<f32>>(g.clone(), g, v, bs);
        for name in ROTARY {
            let r = rotary::<f32>(name);
            let v = r.config.vocab_size;
            greedy_ids_match::<PD<f32>, KD<f32>>(r.clone(), r, v, bs);
        }
        for name in MOE {
            let m = moe::<f32>(name);
            let v = m.config.vocab_size;
            greedy_ids_match::<PD<f32, Moe<f32>>, KD<f32, Moe<f32>>>(m.clone(), m, v, bs);
        }
    }
}

/// Several sequences of different lengths in one step (no padding: each reads its own table),
/// prompts and decode steps mixed, against each sequence run alone through the uncached model.
fn batch_equals_alone<P: PagedFamily>(plain: P::Plain, block_size: usize, tol: f64, in_place: bool)
where
    P::Plain: Clone + CausalLm<Float = P::Float>,
{
    let mut uncached = plain.clone();
    let vocab = uncached.vocab_size();
    let p = prompts(&[3, 9, 1, 14, 6], vocab, 7);
    let mut paged = paged::<P>(plain, p.len(), block_size);
    paged.set_read_in_place(in_place);
    let mut seqs: Vec<Vec<u32>> = Vec::new();
    // step 0: sequences 0 and 1 start; step 1: 0 and 1 decode while 2, 3, 4 start; then all decode
    let mut check = |paged: &mut PagedModel<P>, inputs: Vec<(u64, Vec<u32>)>, seqs: &mut Vec<Vec<u32>>| {
        for (s, ids) in &inputs {
            if *s as usize == seqs.len() {
                paged.add_sequence(*s).unwrap();
                seqs.push(Vec::new());
            }
            seqs[*s as usize].extend(ids);
        }
        let refs: Vec<(u64, &[u32])> = inputs.iter().map(|(s, ids)| (*s, ids.as_slice())).collect();
        let got = paged.step(&refs).unwrap();
        for ((s, _), logits) in inputs.iter().zip(&got) {
            let seq = &seqs[*s as usize];
            let all = uncached.forward(ndarray::ArrayView2::from_shape((1, seq.len()), seq).unwrap(), 0, false).unwrap(); // [1, len, vocab]
            let want: Array1<P::Float> = all.slice(ndarray::s![0, -1, ..]).to_owned();
            let d = max_abs_diff(logits, &want);
            assert!(d < tol, "block size {block_size}, sequence {s} at length {}: {d} >= {tol}", seq.len());
        }
    };
    check(&mut paged, vec![(0, p[0].clone()), (1, p[1].clone())], &mut seqs);
    check(&mut paged, vec![(2, p[2].clone()), (0, vec![4]), (3, p[3].clone()), (1, vec![5]), (4, p[4].clone())], &mut seqs);
    for step in 0..4u32 {
        check(&mut paged, (0..5).map(|s| (s, vec![(step * 7 + s as u32 * 3) % (vocab as u32 - 1)])).collect(), &mut seqs);
    }
    let want_blocks: usize = seqs.iter().map(|s| s.len().div_ceil(block_size)).sum();
    assert_eq!(paged.pool().num_used(), want_blocks);
    assert_eq!(distinct_blocks(&paged), want_blocks, "no two sequences share a block");
}

#[test]
fn a_step_of_several_sequences_equals_each_alone() {
    for in_place in [true, false] {
        for bs in BLOCK_SIZES {
            batch_equals_alone::<PG<f64>>(gpt2::<f64>("gpt2-tiny-b"), bs, 1e-9, in_place);
            batch_equals_alone::<PD<f64>>(rotary::<f64>("llama-tiny-gqa"), bs, 1e-9, in_place);
            batch_equals_alone::<PD<f64>>(rotary::<f64>("neox-tiny"), bs, 1e-9, in_place);
        }
        batch_equals_alone::<PG<f32>>(gpt2::<f32>("gpt2-tiny-a"), 3, 1e-4, in_place);
        batch_equals_alone::<PD<f32>>(rotary::<f32>("qwen3-tiny"), 3, 1e-4, in_place);
    }
}

#[test]
fn bad_steps_are_errors_and_change_nothing() {
    let model = gpt2::<f32>("gpt2-tiny-a");
    let (vocab, context) = (model.config.vocab_size, model.config.context_length);
    // 3 blocks of 4 tokens
    let mut paged = PagedModel::<PG<f32>>::new(model, 3, 4).unwrap();
    paged.add_sequence(0).unwrap();
    assert!(matches!(paged.step(&[(1, &[1])]), Err(PagedError::UnknownSequence(1))));
    assert!(matches!(paged.step(&[(0, &[])]), Err(PagedError::InvalidStep(_))));
    assert!(matches!(paged.step(&[(0, &[1]), (0, &[2])]), Err(PagedError::InvalidStep(_))));
    assert!(matches!(paged.step(&[(0, &[vocab as u32])]), Err(PagedError::Model(shared::Error::TokenOutOfRange { .. }))));
    assert!(matches!(paged.step(&[(0, &vec![1; context + 1])]), Err(PagedError::Model(shared::Error::ContextOverflow { .. }))));
    assert!(matches!(paged.step(&[(0, &[1; 13])]), Err(PagedError::Pool(PoolError::OutOfBlocks { needed: 4, free: 3, total: 3 }))));
    assert_eq!((paged.table(0).unwrap().len(), paged.pool().num_used()), (0, 0), "nothing changed");
    assert!(matches!(paged.add_sequence(0), Err(PagedError::SequenceExists(0))));
    assert!(matches!(PagedModel::<PG<f32>>::new(gpt2::<f32>("gpt2-tiny-a"), 3, 0), Err(PagedError::Pool(PoolError::ZeroBlockSize))));
    // 12 tokens fit exactly
    assert!(paged.step(&[(0, &[1; 12])]).is_ok());
    assert_eq!(paged.pool().num_free(), 0);
    paged.release(0).unwrap();
    assert_eq!(paged.pool().num_free(), 3);
    // through chapter 4's loop, out of blocks is one clear error
    let err = generate(&mut paged, &[1; 10], &greedy(5), |_| Ok(())).unwrap_err();
    assert!(err.to_string().contains("out of blocks"), "{err}");
    let _ = paged.next_logits(&[1]); // the sequence 0 of the failed run is still there: no panic
}
