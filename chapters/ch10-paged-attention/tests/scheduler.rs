//! The scheduler against independent facts: every request's tokens equal chapter 8's
//! generation of that prompt alone (a contiguous cache, no pool), whatever was preempted,
//! swapped or recomputed on the way; the blocks the tables hold never pass the budget; and every
//! block is back on the free list at the end.

use ch04_gpt::{CausalLm, GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::{CachedAttention, KvModel, WithCaches};
use ch10_paged_attention::scheduler::{Preemption, Request, Scheduler, SchedulerOptions};
use ch10_paged_attention::{PagedAttention, PagedFamily, PagedModel};
use std::path::PathBuf;

type KG = Gpt<f32, CachedAttention<f32>>;
type KD = Decoder<f32, CachedAttention<f32, RotaryAttention<f32>>>;
type PG = Gpt<f32, PagedAttention<f32>>;
type PD = Decoder<f32, PagedAttention<f32, RotaryAttention<f32>>>;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// Prompt lengths and max new tokens of the stream: different, so sequences end at different steps.
const SHAPES: [(usize, usize); 7] = [(5, 12), (11, 4), (2, 20), (8, 9), (14, 16), (3, 7), (9, 13)];

fn requests(vocab: usize) -> Vec<Request> {
    SHAPES
        .iter()
        .enumerate()
        .map(|(i, &(len, max_new_tokens))| Request {
            id: 10 + i as u64,
            prompt: (0..len).map(|t| ((i * 37 + t * 11 + 3) % (vocab - 1)) as u32).collect(),
            max_new_tokens,
        })
        .collect()
}

/// Chapter 8: each request alone, through its contiguous KV cache.
fn solo<M: WithCaches + Send>(model: M::Plain, requests: &[Request], eos: Option<u32>) -> Vec<Vec<u32>> {
    let mut kv = KvModel::<M>::preallocated(model);
    requests
        .iter()
        .map(|r| {
            let options = GenerateOptions { max_new_tokens: r.max_new_tokens, sampling: Sampling::GREEDY, seed: 0, eos_token_id: eos };
            kv.generate(&r.prompt, &options, true, |_| Ok(())).expect("chapter 8 generates").new_ids
        })
        .collect()
}

/// Serve the stream in `num_blocks` blocks, checking the books after every step; the tokens.
fn served<M: PagedFamily<Float = f32>>(
    model: M::Plain,
    requests: &[Request],
    num_blocks: usize,
    block_size: usize,
    preemption: Preemption,
    eos: Option<u32>,
) -> (Vec<Vec<u32>>, usize) {
    let mut paged = PagedModel::<M>::new(model, num_blocks, block_size).unwrap();
    let options = SchedulerOptions { sampling: Sampling::GREEDY, seed: 0, eos_token_id: eos, max_batch: 8, preemption };
    let mut scheduler = Scheduler::new(options).unwrap();
    for r in requests {
        scheduler.submit(&paged, r.clone()).unwrap();
    }
    while !scheduler.is_done() {
        scheduler.step(&mut paged).unwrap();
        // the tables' blocks, counted from the tables: within the budget, and all the pool lends
        let held: usize = paged.sequences().map(|s| paged.table(s).unwrap().blocks().len()).sum();
        assert!(held <= num_blocks, "{held} blocks held, budget {num_blocks}");
        assert_eq!(held, paged.pool().num_used(), "blocks lent that no table holds");
        let tokens: usize = paged.sequences().map(|s| paged.table(s).unwrap().len()).sum();
        assert!(tokens <= held * block_size);
    }
    assert_eq!(paged.pool().num_free(), num_blocks, "every block back on the free list");
    assert_eq!(paged.sequences().count(), 0);
    let preemptions = scheduler.stats().preemptions;
    let finished = scheduler.run(&mut paged).unwrap();
    assert_eq!(finished.iter().map(|f| f.id).collect::<Vec<_>>(), requests.iter().map(|r| r.id).collect::<Vec<_>>());
    (finished.into_iter().map(|f| f.new_ids).collect(), preemptions)
}

#[test]
fn gpt2_every_request_equals_its_solo_generation_with_and_without_preemption() {
    let model = Gpt::<f32>::from_pretrained(&fixture("gpt2-tiny-a")).unwrap();
    let reqs = requests(model.vocab_size());
    // an end-of-text taken from a free run, so some requests stop before their max
    let free = solo::<KG>(model.clone(), &reqs, None);
    let eos = Some(free[3][4]);
    let want = solo::<KG>(model.clone(), &reqs, eos);
    assert!(want.iter().zip(&reqs).any(|(w, r)| w.len() < r.max_new_tokens), "the end-of-text stops someone early");
    for (block_size, num_blocks, preemption) in
        [(16, 64, Preemption::Recompute), (3, 16, Preemption::Recompute), (3, 16, Preemption::Swap), (1, 30, Preemption::Swap)]
    {
        let (got, preemptions) = served::<PG>(model.clone(), &reqs, num_blocks, block_size, preemption, eos);
        assert_eq!(got, want, "block size {block_size}, {num_blocks} blocks, {preemption:?}");
        if num_blocks * block_size < 100 {
            assert!(preemptions > 0, "a tight budget must preempt ({block_size} x {num_blocks})");
            eprintln!("{block_size} x {num_blocks}, {preemption:?}: {preemptions} preemptions");
        }
    }
}

#[test]
fn llama_gqa_every_request_equals_its_solo_generation_under_both_preemptions() {
    let model = Decoder::<f32>::from_pretrained(&fixture("llama-tiny-gqa")).unwrap();
    let reqs = requests(model.vocab_size());
    let want = solo::<KD>(model.clone(), &reqs, None);
    for preemption in [Preemption::Recompute, Preemption::Swap] {
        let (got, preemptions) = served::<PD>(model.clone(), &reqs, 14, 3, preemption, None);
        assert_eq!(got, want, "{preemption:?}");
        assert!(preemptions > 0);
    }
}

#[test]
fn a_request_larger_than_the_pool_is_refused_and_nothing_is_queued() {
    let model = Gpt::<f32>::from_pretrained(&fixture("gpt2-tiny-a")).unwrap();
    let paged = PagedModel::<PG>::new(model, 4, 4).unwrap();
    let options = SchedulerOptions { sampling: Sampling::GREEDY, seed: 0, eos_token_id: None, max_batch: 4, preemption: Preemption::Swap };
    let mut scheduler = Scheduler::<f32>::new(options).unwrap();
    // 10 + 7 tokens need 5 blocks of 4: more than the 4 the pool has
    let err = scheduler.submit(&paged, Request { id: 1, prompt: vec![1; 10], max_new_tokens: 7 }).unwrap_err();
    assert!(err.to_string().contains("more than the whole pool"), "{err}");
    assert!(scheduler.submit(&paged, Request { id: 2, prompt: vec![], max_new_tokens: 1 }).is_err());
    assert!(scheduler.is_done());
}

#[test]
fn one_sequence_at_a_time_gives_the_same_tokens_and_ids_must_be_unique() {
    let model = Gpt::<f32>::from_pretrained(&fixture("gpt2-tiny-a")).unwrap();
    let reqs = requests(model.vocab_size());
    let want = solo::<KG>(model.clone(), &reqs, None);
    let mut paged = PagedModel::<PG>::new(model, 40, 4).unwrap();
    let options = SchedulerOptions { sampling: Sampling::GREEDY, seed: 0, eos_token_id: None, max_batch: 1, preemption: Preemption::Recompute };
    assert!(Scheduler::<f32>::new(SchedulerOptions { max_batch: 0, ..options.clone() }).is_err());
    let mut scheduler = Scheduler::new(options).unwrap();
    for r in &reqs {
        scheduler.submit(&paged, r.clone()).unwrap();
    }
    assert!(scheduler.submit(&paged, reqs[0].clone()).is_err(), "an id already queued");
    let got: Vec<Vec<u32>> = scheduler.run(&mut paged).unwrap().into_iter().map(|f| f.new_ids).collect();
    assert_eq!(got, want);
    assert_eq!(scheduler.stats().peak_batch, 1);
    assert_eq!(scheduler.stats().preemptions, 0);
}
