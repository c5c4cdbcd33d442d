//! Prefix sharing with copy-on-write: sequences that share a prompt hold its blocks once, and
//! their tokens are those of unshared runs.

mod common;

use ch04_gpt::{sample, GenerateOptions, Sampling};
use ch08_kv_cache::{KvModel, WithCaches};
use ch10_paged_attention::{PagedFamily, PagedModel};
use common::*;
use shared::init;

/// Blocks in use after sharing: the prefix's full blocks once, and what each sequence holds
/// beyond them (its part of the partly filled prefix block is its own copy, or the original for
/// the last to write). `lens`: every sequence's final length.
fn shared_blocks(prefix: usize, lens: &[usize], bs: usize) -> usize {
    prefix / bs + lens.iter().map(|&l| l.div_ceil(bs) - prefix / bs).sum::<usize>()
}

fn unshared_blocks(lens: &[usize], bs: usize) -> usize {
    lens.iter().map(|&l| l.div_ceil(bs)).sum()
}

/// Parallel sampling, n = 4: the prompt is fed once, forked three times, and each sequence samples
/// with its own seed. Each one's tokens must be chapter 8's for that seed alone.
fn parallel_sampling<P: PagedFamily, K: WithCaches<Float = P::Float> + Send>(plain: P::Plain, kv_plain: K::Plain, vocab: usize, bs: usize) -> (usize, usize) {
    let prompt = &prompts(&[8], vocab, 1)[0];
    let (n, new) = (4u64, 10);
    let sampling = Sampling { temperature: 1.0, top_k: Some(40), top_p: Some(0.95) };
    let mut kv = KvModel::<K>::preallocated(kv_plain);
    let want: Vec<Vec<u32>> = (0..n)
        .map(|seed| kv.generate(prompt, &GenerateOptions { max_new_tokens: new, sampling, seed, eos_token_id: None }, true, |_| Ok(())).unwrap().new_ids)
        .collect();
    assert!(want.windows(2).any(|w| w[0] != w[1]), "the seeds give different samples (else the test proves little)");

    let mut paged = paged::<P>(plain, n as usize, bs);
    paged.add_sequence(0).unwrap();
    let first = paged.step(&[(0, prompt)]).unwrap().remove(0);
    for s in 1..n {
        paged.fork(0, s).unwrap();
    }
    assert_eq!(paged.pool().num_used(), prompt.len().div_ceil(bs), "forks copy nothing");
    let mut rngs: Vec<_> = (0..n).map(init::rng).collect();
    let mut last = vec![first; n as usize];
    let mut got = vec![Vec::new(); n as usize];
    for step in 0..new {
        let next: Vec<u32> = (0..n as usize).map(|s| sample(last[s].view(), &sampling, &mut rngs[s]).unwrap()).collect();
        for (s, &t) in next.iter().enumerate() {
            got[s].push(t);
        }
        if step + 1 < new {
            let inputs: Vec<(u64, &[u32])> = next.iter().enumerate().map(|(s, t)| (s as u64, std::slice::from_ref(t))).collect();
            last = paged.step(&inputs).unwrap();
        }
    }
    assert_eq!(got, want, "block size {bs}: shared prompt blocks change no sample");
    let lens = vec![prompt.len() + new - 1; n as usize];
    let used = paged.pool().num_used();
    assert_eq!(distinct_blocks(&paged), used, "the tables hold exactly the used blocks");
    assert_eq!(used, shared_blocks(prompt.len(), &lens, bs), "block size {bs}");
    (used, unshared_blocks(&lens, bs))
}

/// A system prompt fed once, shared by three requests with their own questions (of different
/// lengths), all decoded greedily in one step each: the same tokens as each request alone.
fn system_prompt<P: PagedFamily, K: WithCaches<Float = P::Float> + Send>(plain: P::Plain, kv_plain: K::Plain, vocab: usize, bs: usize) -> (usize, usize) {
    let p = prompts(&[11, 2, 5, 7], vocab, 2);
    let (system, users) = (&p[0], &p[1..]);
    let new = 6;
    let greedy = GenerateOptions { max_new_tokens: new, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None };
    let mut kv = KvModel::<K>::preallocated(kv_plain);
    let want: Vec<Vec<u32>> = users.iter().map(|u| kv.generate(&[system.as_slice(), u].concat(), &greedy, true, |_| Ok(())).unwrap().new_ids).collect();

    let mut paged = paged::<P>(plain, users.len() + 1, bs);
    paged.add_sequence(0).unwrap();
    paged.step(&[(0, system)]).unwrap(); // the system prompt, once: sequence 0 keeps it
    for s in 1..=users.len() as u64 {
        paged.fork_prefix(0, s, system.len()).unwrap();
    }
    let inputs: Vec<(u64, &[u32])> = users.iter().enumerate().map(|(i, u)| (i as u64 + 1, u.as_slice())).collect();
    let mut last = paged.step(&inputs).unwrap();
    let mut got = vec![Vec::new(); users.len()];
    for step in 0..new {
        let next: Vec<u32> = last.iter().map(|l| sample(l.view(), &Sampling::GREEDY, &mut init::rng(0)).unwrap()).collect();
        for (s, &t) in next.iter().enumerate() {
            got[s].push(t);
        }
        if step + 1 < new {
            let inputs: Vec<(u64, &[u32])> = next.iter().enumerate().map(|(s, t)| (s as u64 + 1, std::slice::from_ref(t))).collect();
            last = paged.step(&inputs).unwrap();
        }
    }
    assert_eq!(got, want, "block size {bs}: a shared system prompt changes no token");
    let lens: Vec<usize> = std::iter::once(system.len()).chain(users.iter().map(|u| system.len() + u.len() + new - 1)).collect();
    let used = paged.pool().num_used();
    assert_eq!(distinct_blocks(&paged), used);
    assert_eq!(used, shared_blocks(system.len(), &lens, bs), "block size {bs}");
    // the three requests alone, without the system prompt's sequence
    (used, unshared_blocks(&lens[1..], bs))
}

#[test]
fn parallel_sampling_shares_the_prompt_and_samples_the_same_tokens() {
    for bs in BLOCK_SIZES {
        let g = gpt2::<f32>("gpt2-tiny-a");
        let v = g.config.vocab_size;
        let (shared, alone) = parallel_sampling::<PG<f32>, KG<f32>>(g.clone(), g, v, bs);
        println!("parallel sampling n=4, GPT-2, block size {bs}: {shared} blocks shared vs {alone} unshared");
        // a prompt of 8 shorter than a block of 16: no full block to share, no saving
        assert!(if bs <= 8 { shared < alone } else { shared == alone }, "block size {bs}: {shared} vs {alone}");
        let r = rotary::<f32>("llama-tiny-gqa");
        let v = r.config.vocab_size;
        let (shared, alone) = parallel_sampling::<PD<f32>, KD<f32>>(r.clone(), r, v, bs);
        assert!(if bs <= 8 { shared < alone } else { shared == alone });
    }
}

#[test]
fn a_shared_system_prompt_changes_no_token_and_takes_fewer_blocks() {
    for bs in BLOCK_SIZES {
        let g = gpt2::<f32>("gpt2-tiny-b");
        let v = g.config.vocab_size;
        let (shared, alone) = system_prompt::<PG<f32>, KG<f32>>(g.clone(), g, v, bs);
        println!("system prompt of 11 + 3 requests, block size {bs}: {shared} blocks shared vs {alone} unshared");
        // bs 16: every sequence fits one block, the system prompt's is partly filled: no saving
        assert!(shared <= alone + 1);
        if bs < 11 {
            assert!(shared < alone, "block size {bs}: {shared} vs {alone}");
        }
        for name in ["qwen2-tiny", "neox-tiny"] {
            let r = rotary::<f32>(name);
            let v = r.config.vocab_size;
            system_prompt::<PD<f32>, KD<f32>>(r.clone(), r, v, bs);
        }
    }
}

#[test]
fn copy_on_write_keeps_the_parent_unchanged() {
    // parent: 5 tokens at block size 4 (one full block, one with 1 token); the child writes into
    // the shared partly filled block: the parent's next logits must be those of the parent alone
    let model = gpt2::<f64>("gpt2-tiny-a");
    let v = model.config.vocab_size;
    let p = prompts(&[5, 3], v, 4);
    let want = contiguous_logits::<KG<f64>>(model.clone(), &p[0], &[7, 8]);
    let mut paged = PagedModel::<PG<f64>>::new(model, 8, 4).unwrap();
    paged.add_sequence(0).unwrap();
    paged.step(&[(0, &p[0])]).unwrap();
    paged.fork(0, 1).unwrap();
    paged.step(&[(1, &p[1])]).unwrap(); // the child writes positions 5, 6, 7: a copy of block 1 first
    assert_ne!(paged.table(0).unwrap().blocks()[1], paged.table(1).unwrap().blocks()[1]);
    assert_eq!(paged.table(0).unwrap().blocks()[0], paged.table(1).unwrap().blocks()[0], "the full block stays shared");
    let a = paged.step(&[(0, &[7])]).unwrap().remove(0);
    let b = paged.step(&[(0, &[8])]).unwrap().remove(0);
    assert!(max_abs_diff(&a, &want[1]) < 1e-12 && max_abs_diff(&b, &want[2]) < 1e-12);
}
