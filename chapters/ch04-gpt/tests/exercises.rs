//! The tests of chapter 4's exercises, one group per exercise (`ch04_K_...`).
//!
//! `cargo run -p exercises -- check ch04` runs each group against the learner's stub
//! (`--features ex-ch04-K`); a plain `cargo test` runs them against the reference code. Every
//! expected value is independent of the code under test: hand-computed numbers, properties of
//! layer norm, or test doubles whose behaviour is known exactly.

use ch04_gpt::sampling::{keep_top_k, keep_top_p};
use ch04_gpt::{generate, Attention, Block, GenerateOptions, Mlp, NextToken, Sampling};
use ndarray::{Array1, Array3, ArrayView3};
use shared::{init, Error, GptConfig, LayerNorm, Result};
use std::cell::RefCell;
use std::rc::Rc;

// ------------------------------------------------------------------ ch04-1: the block's wiring

/// An attention double: remembers what it was given, answers `output` everywhere.
struct FakeAttention {
    output: f64,
    seen: Rc<RefCell<Vec<(Array3<f64>, bool)>>>,
}

impl Attention<f64> for FakeAttention {
    fn forward(&mut self, x: ArrayView3<f64>, use_cache: bool) -> Result<Array3<f64>> {
        self.seen.borrow_mut().push((x.to_owned(), use_cache));
        Ok(Array3::from_elem(x.dim(), self.output))
    }
}

const D_MODEL: usize = 8;

/// x: `[2, 3, D_MODEL]`, rows that are far from normalised (mean about 2, spread about 3).
fn block_input() -> Array3<f64> {
    Array3::from_shape_fn((2, 3, D_MODEL), |(b, t, i)| 2.0 + 3.0 * (((b * 5 + t * 3 + i * 7) % 11) as f64 / 5.0 - 1.0))
}

fn block(attention_output: f64, zero_mlp: bool) -> (Block<f64, FakeAttention>, Rc<RefCell<Vec<(Array3<f64>, bool)>>>) {
    let config = GptConfig::gpt2_like(10, 8, D_MODEL, 1, 2);
    let mut mlp = Mlp::random(&config, &mut init::rng(41));
    if zero_mlp {
        mlp.c_proj.weight.fill(0.0); // the MLP then outputs its bias, which is zero
    }
    let seen = Rc::new(RefCell::new(vec![]));
    let attn = FakeAttention { output: attention_output, seen: seen.clone() };
    let ln = || LayerNorm::new(D_MODEL, 1e-5);
    (Block { ln_1: ln(), attn, ln_2: ln(), mlp }, seen)
}

#[test]
fn ch04_1_a_block_whose_sublayers_add_nothing_changes_nothing() {
    let (mut block, _) = block(0.0, true);
    let x = block_input();
    let out = block.forward(x.clone(), false).unwrap();
    let diff = out.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(
        diff < 1e-12,
        "exercise ch04-1: with an attention and an MLP that both output 0, the block should return \
         its input unchanged (x + 0 + 0), but differs from it by {diff:.2}: are both residuals \
         added to x itself, not to the normalised x?"
    );
}

#[test]
fn ch04_1_attention_sees_the_normalised_input() {
    let (mut block, seen) = block(0.0, true);
    block.ln_1.weight.fill(2.0); // ln_1's output rows then have mean 1 (the bias) and spread 2
    block.ln_1.bias.fill(1.0);
    block.forward(block_input(), true).unwrap();
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "exercise ch04-1: the block should call its attention once, it called it {} times", seen.len());
    let (input, use_cache) = &seen[0];
    assert_eq!(input.dim(), (2, 3, D_MODEL), "exercise ch04-1: attention should get x as [batch, seq, d_model]");
    assert!(*use_cache, "exercise ch04-1: the block should pass use_cache on to its attention");
    for row in input.rows() {
        let mean = row.mean().unwrap();
        let std = row.mapv(|v| (v - mean).powi(2)).mean().unwrap().sqrt();
        assert!(
            (mean - 1.0).abs() < 1e-6 && (std - 2.0).abs() < 1e-3,
            "exercise ch04-1: attention should get ln_1(x) (pre-LN): with ln_1's weight 2 and bias \
             1, each row it gets should have mean 1 and standard deviation 2, got mean {mean:.3} \
             and standard deviation {std:.3}"
        );
    }
}

// ANCHOR: ch04_1_both_residuals_add_up
#[test]
fn ch04_1_both_residuals_add_up() {
    let (mut block, _) = block(0.5, false);
    let x = block_input();
    let out = block.forward(x.clone(), false).unwrap();
    // after the attention residual every entry is x + 0.5; then x1 + mlp(ln_2(x1))
    let x1 = (&x + 0.5).into_shape_with_order((6, D_MODEL)).unwrap();
    let expected = &x1 + &block.mlp.forward(block.ln_2.forward(x1.view()).view()).unwrap();
    let out = out.into_shape_with_order((6, D_MODEL)).unwrap();
    let diff = out.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(
        diff < 1e-12,
        "exercise ch04-1: with an attention that outputs 0.5 everywhere, the block should return \
         x1 + mlp(ln_2(x1)) where x1 = x + 0.5, but differs by {diff:.2e}"
    );
}
// ANCHOR_END: ch04_1_both_residuals_add_up

// ------------------------------------------------------------------- ch04-2: top-k and top-p

fn shown(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| if x.is_infinite() { "-inf".into() } else { format!("{x:.3}") }).collect();
    format!("[{}]", items.join(", "))
}

// ANCHOR: ch04_2_top_k_keeps_the_k_largest
#[test]
fn ch04_2_top_k_keeps_the_k_largest() {
    let mut logits = [1.0, 4.0, 2.0, 3.0, 0.0];
    keep_top_k(&mut logits, 2);
    let inf = f64::NEG_INFINITY;
    assert_eq!(
        logits,
        [inf, 4.0, inf, 3.0, inf],
        "exercise ch04-2: keep_top_k(k = 2) on [1, 4, 2, 3, 0] should keep 4 and 3 and set the rest to -inf, got {}",
        shown(&logits)
    );
    let mut tied = [3.0, 1.0, 3.0];
    keep_top_k(&mut tied, 1);
    assert_eq!(tied, [3.0, inf, 3.0], "exercise ch04-2: keep_top_k(k = 1) on [3, 1, 3] should keep both 3s (a tie with the k-th stays), got {}", shown(&tied));
    let mut short = [0.5, -1.0];
    keep_top_k(&mut short, 5);
    assert_eq!(short, [0.5, -1.0], "exercise ch04-2: keep_top_k(k = 5) with only 2 logits should keep both, got {}", shown(&short));
}
// ANCHOR_END: ch04_2_top_k_keeps_the_k_largest

#[test]
fn ch04_2_top_p_keeps_the_smallest_set_that_reaches_p() {
    // exact binary fractions, so every sum below is exact
    let mut probs = [0.125, 0.5, 0.25, 0.125];
    keep_top_p(&mut probs, 0.7);
    assert_eq!(
        probs,
        [0.0, 2.0 / 3.0, 1.0 / 3.0, 0.0],
        "exercise ch04-2: keep_top_p(p = 0.7) on [0.125, 0.5, 0.25, 0.125] should keep 0.5 and 0.25 \
         (0.75 >= 0.7) and rescale them to sum to 1, got {}",
        shown(&probs)
    );
    let mut probs = [0.125, 0.5, 0.25, 0.125];
    keep_top_p(&mut probs, 0.5);
    assert_eq!(probs, [0.0, 1.0, 0.0, 0.0], "exercise ch04-2: keep_top_p(p = 0.5) should keep only 0.5 (it reaches p alone), got {}", shown(&probs));
    let mut probs = [0.125, 0.5, 0.25, 0.125];
    keep_top_p(&mut probs, 0.01);
    assert_eq!(probs, [0.0, 1.0, 0.0, 0.0], "exercise ch04-2: a tiny p should still keep the most likely token, got {}", shown(&probs));
    let mut probs = [0.125, 0.5, 0.25, 0.125];
    keep_top_p(&mut probs, 1.0);
    assert_eq!(probs, [0.125, 0.5, 0.25, 0.125], "exercise ch04-2: keep_top_p(p = 1) should keep every token as it is, got {}", shown(&probs));
}

// ------------------------------------------------------------------ ch04-3: the generation loop

/// A model double over a vocabulary of 10: the next token is always `last + 1` (mod 10), by a
/// wide margin. It records how it is called.
#[derive(Default)]
struct Counting {
    starts: usize,
    lengths_seen: Vec<usize>,
}

impl NextToken<f64> for Counting {
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<f64>> {
        self.lengths_seen.push(tokens.len());
        let next = (tokens[tokens.len() - 1] as usize + 1) % 10;
        Ok(Array1::from_shape_fn(10, |i| if i == next { 5.0 } else { 0.0 }))
    }
    fn start(&mut self) -> Result<()> {
        self.starts += 1;
        Ok(())
    }
    fn context_length(&self) -> usize {
        12
    }
}

fn options(max_new_tokens: usize, eos_token_id: Option<u32>) -> GenerateOptions {
    GenerateOptions { max_new_tokens, sampling: Sampling::GREEDY, seed: 1, eos_token_id }
}

// ANCHOR: ch04_3_greedy_generation_follows_the_model
#[test]
fn ch04_3_greedy_generation_follows_the_model() {
    let mut model = Counting::default();
    let mut streamed = vec![];
    let out = generate(&mut model, &[7, 3], &options(4, None), |id| {
        streamed.push(id);
        Ok(())
    })
    .unwrap();
    assert_eq!(out.new_ids, [4, 5, 6, 7], "exercise ch04-3: after [7, 3], a model that always predicts last + 1 should generate [4, 5, 6, 7]");
    assert_eq!(out.prompt_ids, [7, 3], "exercise ch04-3: Generation::prompt_ids should be the prompt");
    assert_eq!(streamed, [4, 5, 6, 7], "exercise ch04-3: on_token should get every new id, in order, as it is made");
    assert!(!out.stopped_at_eos, "exercise ch04-3: with no EOS token, stopped_at_eos should be false");
    assert_eq!(model.starts, 1, "exercise ch04-3: generate should call model.start() once, before the first step");
    assert_eq!(
        model.lengths_seen,
        [2, 3, 4, 5],
        "exercise ch04-3: each step should give the model the prompt and every token generated so far"
    );
}
// ANCHOR_END: ch04_3_greedy_generation_follows_the_model

#[test]
fn ch04_3_generation_stops_after_the_eos_token() {
    let mut model = Counting::default();
    let out = generate(&mut model, &[2], &options(8, Some(5)), |_| Ok(())).unwrap();
    assert_eq!(out.new_ids, [3, 4, 5], "exercise ch04-3: with EOS = 5, generation after [2] should stop after emitting 5");
    assert!(out.stopped_at_eos, "exercise ch04-3: stopping at EOS should set stopped_at_eos");
}

#[test]
fn ch04_3_bad_requests_are_refused_before_any_work() {
    let mut model = Counting::default();
    let empty = generate(&mut model, &[], &options(3, None), |_| Ok(()));
    assert!(matches!(empty, Err(Error::EmptyPrompt)), "exercise ch04-3: an empty prompt should be Err(EmptyPrompt), got {:?}", empty.map(|g| g.new_ids));
    let too_long = generate(&mut model, &[1, 2, 3], &options(10, None), |_| Ok(()));
    assert!(
        matches!(too_long, Err(Error::ContextOverflow { len: 13, context_length: 12 })),
        "exercise ch04-3: 3 prompt tokens + 10 new ones do not fit a context of 12: expected \
         Err(ContextOverflow {{ len: 13, context_length: 12 }}), got {:?}",
        too_long.map(|g| g.new_ids)
    );
    let sampling = Sampling { temperature: -1.0, top_k: None, top_p: None };
    let bad = generate(&mut model, &[1], &GenerateOptions { sampling, ..options(2, None) }, |_| Ok(()));
    assert!(bad.is_err(), "exercise ch04-3: a negative temperature should be refused (options.sampling.validate())");
    assert!(model.lengths_seen.is_empty(), "exercise ch04-3: a refused request should never call the model");
}
