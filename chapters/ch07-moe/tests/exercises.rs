//! The tests of chapter 7's exercises, one group per exercise (`ch07_K_...`).
//!
//! `cargo run -p exercises -- check ch07` runs each group against the learner's stub
//! (`--features ex-ch07-K`); a plain `cargo test` runs them against the reference code. Every
//! expected value is worked out by hand in the comments or written out here from the formula.

use ch07_moe::{add_weighted, top_k};
use ndarray::{array, Array1, Array2};

// ---------------------------------------------------------------- ch07-1: top-k routing

// ANCHOR: ch07_1_keeps_the_largest_and_renormalises
#[test]
fn ch07_1_keeps_the_largest_and_renormalises() {
    let probs = array![0.1f64, 0.4, 0.2, 0.3];
    // the two largest: expert 1 (0.4), then expert 3 (0.3)
    let (experts, weights) = top_k(probs.view(), 2, false);
    assert_eq!(experts, vec![1, 3], "exercise ch07-1: the 2 most probable of {probs} are experts 1 and 3, largest first");
    assert_eq!(weights, vec![0.4, 0.3], "exercise ch07-1: without renormalising, the weights are the probabilities");
    // renormalised: 0.4 / 0.7 and 0.3 / 0.7
    let (experts, weights) = top_k(probs.view(), 2, true);
    assert_eq!(experts, vec![1, 3]);
    let want = [0.4 / 0.7, 0.3 / 0.7];
    assert!(
        weights.iter().zip(want).all(|(w, e)| (w - e).abs() < 1e-15),
        "exercise ch07-1: renormalised, the weights are 0.4 / 0.7 and 0.3 / 0.7 = {want:?}; got {weights:?}"
    );
}
// ANCHOR_END: ch07_1_keeps_the_largest_and_renormalises

#[test]
fn ch07_1_top_1_and_all_experts() {
    let probs = array![0.25f32, 0.05, 0.6, 0.1];
    let (experts, weights) = top_k(probs.view(), 1, true);
    assert_eq!((experts, weights), (vec![2], vec![1.0]), "exercise ch07-1: top-1 renormalised is expert 2 with weight 1");
    // k = every expert: all of them, sorted, and renormalising a sum of 1 changes nothing
    let (experts, weights) = top_k(probs.view(), 4, false);
    assert_eq!(experts, vec![2, 0, 3, 1], "exercise ch07-1: every expert, from the most to the least probable");
    assert_eq!(weights, vec![0.6, 0.25, 0.1, 0.05]);
}

#[test]
fn ch07_1_equal_probabilities_keep_the_lower_index_first() {
    let probs = Array1::from_elem(5, 0.2f64);
    let (experts, weights) = top_k(probs.view(), 3, true);
    assert_eq!(experts, vec![0, 1, 2], "exercise ch07-1: equal probabilities: the lower expert index first");
    assert!(weights.iter().all(|w| (w - 1.0 / 3.0).abs() < 1e-15), "exercise ch07-1: three equal weights renormalise to 1/3 each, got {weights:?}");
}

// ---------------------------------------------------------------- ch07-2: the weighted combine

// ANCHOR: ch07_2_adds_each_weighted_row_to_its_token
#[test]
fn ch07_2_adds_each_weighted_row_to_its_token() {
    // 3 tokens, 2 wide; token 1 already holds another expert's output
    let mut out = array![[0.0f64, 0.0], [1.0, -1.0], [0.0, 0.0]];
    // this expert ran on tokens 1 and 2 (in that order), with weights 0.5 and 0.25
    let expert_out = array![[2.0, 4.0], [8.0, -8.0]];
    add_weighted(&mut out, &[1, 2], &[0.5, 0.25], expert_out.view());
    // token 0: untouched; token 1: [1, -1] + 0.5 [2, 4] = [2, 1]; token 2: 0.25 [8, -8] = [2, -2]
    let want = array![[0.0, 0.0], [2.0, 1.0], [2.0, -2.0]];
    assert_eq!(out, want, "exercise ch07-2: each row of the expert's output, times its weight, is added to its token's row");
}
// ANCHOR_END: ch07_2_adds_each_weighted_row_to_its_token

#[test]
fn ch07_2_two_experts_give_the_weighted_sum() {
    // token 0 chose experts A (0.7) and B (0.3); token 1 chose only B (1.0)
    let a = array![[1.0f64, 2.0, 3.0]];
    let b = array![[10.0f64, 20.0, 30.0], [-1.0, 0.0, 1.0]];
    let mut out = Array2::zeros((2, 3));
    add_weighted(&mut out, &[0], &[0.7], a.view());
    add_weighted(&mut out, &[0, 1], &[0.3, 1.0], b.view());
    let want = array![[0.7 + 3.0, 1.4 + 6.0, 2.1 + 9.0], [-1.0, 0.0, 1.0]];
    let diff = (&out - &want).iter().fold(0.0f64, |m, d| m.max(d.abs()));
    assert!(diff < 1e-14, "exercise ch07-2: token 0 = 0.7 A + 0.3 B, token 1 = B; got {out}");
}

#[test]
fn ch07_2_no_tokens_change_nothing() {
    let mut out = array![[1.0f32, 2.0]];
    add_weighted(&mut out, &[], &[], Array2::zeros((0, 2)).view());
    assert_eq!(out, array![[1.0, 2.0]], "exercise ch07-2: an expert no token chose adds nothing");
}
