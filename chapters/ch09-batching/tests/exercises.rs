//! The tests of chapter 9's exercises, one group per exercise (`ch09_K_...`).
//!
//! `cargo run -p exercises -- check ch09` runs each group against the learner's stub
//! (`--features ex-ch09-K`); a plain `cargo test` runs them against the reference code. The
//! expected values are worked out by hand in the comments, or come from chapter 3's causal mask.

use ch09_batching::{padded_causal_mask, position_ids};
use ndarray::{array, s, Array2};
use shared::causal_mask;

// ---------------------------------------------------------------- ch09-1: position ids

// ANCHOR: ch09_1_counts_only_real_tokens
#[test]
fn ch09_1_counts_only_real_tokens() {
    // [pad, pad, The, cat, sat]: cumsum [0, 0, 1, 2, 3] - 1 -> real tokens at 0, 1, 2; pads at 1
    // [A, dog, ran, away, fast]: no padding -> the columns, 0..5
    let mask = array![[false, false, true, true, true], [true, true, true, true, true]];
    let want = array![[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]];
    let got = position_ids(mask.view());
    assert_eq!(got, want, "exercise ch09-1: position ids of {mask} should be {want}, got {got}");
}
// ANCHOR_END: ch09_1_counts_only_real_tokens

#[test]
fn ch09_1_a_row_keeps_counting_across_the_cache_and_the_new_tokens() {
    // a cached row [pad, x, y] plus one new real token: positions of the new column = 2
    let mask = array![[false, true, true, true]];
    let got = position_ids(mask.view());
    assert_eq!(got.slice(s![.., 3]), array![2], "exercise ch09-1: the 4th column holds the 3rd real token: position 2, got {got}");
    // one real token after three pads is at position 0
    assert_eq!(position_ids(array![[false, false, false, true]].view()), array![[1, 1, 1, 0]]);
}

// ---------------------------------------------------------------- ch09-2: the padded causal mask

fn visible(m: &ndarray::Array3<f64>) -> Vec<Vec<String>> {
    m.outer_iter().map(|r| r.rows().into_iter().map(|row| row.iter().map(|&x| if x == 0.0 { 'x' } else { '.' }).collect()).collect()).collect()
}

// ANCHOR: ch09_2_hides_padding_and_the_future
#[test]
fn ch09_2_hides_padding_and_the_future() {
    // row 0: [pad, pad, The, cat]; row 1: no padding. Prefill: q_len = kv_len = 4.
    let key_mask = array![[false, false, true, true], [true, true, true, true]];
    let got = padded_causal_mask::<f64>(key_mask.view(), 4);
    let want = [
        ["x...", ".x..", "..x.", "..xx"], // pads see only themselves; real tokens skip the pads
        ["x...", "xx..", "xxx.", "xxxx"], // no padding: the causal lower triangle
    ];
    assert_eq!(visible(&got), want.map(|r| r.map(String::from).to_vec()).to_vec(), "exercise ch09-2: mask of {key_mask}");
    assert!(got.iter().all(|&x| x == 0.0 || x == f64::NEG_INFINITY), "exercise ch09-2: only 0 and -inf");
}
// ANCHOR_END: ch09_2_hides_padding_and_the_future

#[test]
fn ch09_2_without_padding_it_is_the_causal_mask_offset_by_the_cache() {
    // 2 new queries over 5 keys, no padding: chapter 3's causal_mask(2, 5) in every row
    let got = padded_causal_mask::<f64>(Array2::from_elem((3, 5), true).view(), 2);
    let causal = causal_mask::<f64>(2, 5).unwrap();
    for b in 0..3 {
        assert_eq!(got.slice(s![b, .., ..]), causal, "exercise ch09-2: row {b} without padding must be the causal mask");
    }
    // one decode query after [pad, a, b]: sees a, b and itself, not the pad
    let got = padded_causal_mask::<f64>(array![[false, true, true, true]].view(), 1);
    assert_eq!(visible(&got), vec![vec![".xxx".to_string()]], "exercise ch09-2: a decode step skips the row's padding");
}
