//! The tests of chapter 11's exercises, one group per exercise (`ch11_K_...`).
//!
//! `cargo run -p exercises -- check ch11` runs each group against the learner's stub
//! (`--features ex-ch11-K`); a plain `cargo test` runs them against the reference code. The
//! expected lengths are worked out by hand in the comments.

use ch11_cache_on_disk::fingerprint::ModelShape;
use ch11_cache_on_disk::format::{Dtype, Header};
use ch11_cache_on_disk::{check_header, longest_prefix, CacheFileError, Fingerprint};
use std::path::Path;

// ---------------------------------------------------------------- ch11-1: the header check

/// A model of 2 layers, 2 KV heads of width 16, a context of 64 and a vocabulary of 300.
const MODEL: ModelShape = ModelShape { n_layers: 2, n_kv_heads: 2, head_dim: 16, context_length: 64, vocab_size: 300 };
const FINGERPRINT: Fingerprint = Fingerprint(0xfeed);

fn header(n_tokens: u32, dtype: Dtype) -> Header {
    Header { fingerprint: 0xfeed, dtype, n_layers: 2, n_kv_heads: 2, head_dim: 16, n_tokens, payload_checksum: 0 }
}

fn check(h: &Header, native: Dtype) -> Result<u64, CacheFileError> {
    check_header(Path::new("story.kvc"), h, &MODEL, FINGERPRINT, native)
}

// ANCHOR: ch11_1_the_length_is_the_memory_formula
#[test]
fn ch11_1_the_length_is_the_memory_formula() {
    // 64-byte header + 4 bytes per id + K and V x 2 layers x 2 heads x n tokens x 16 x bytes
    assert_eq!(check(&header(12, Dtype::F32), Dtype::F32).unwrap(), 64 + 4 * 12 + 2 * 2 * 2 * 12 * 16 * 4); // 6256
    assert_eq!(check(&header(12, Dtype::F16), Dtype::F32).unwrap(), 64 + 48 + 3072);
    assert_eq!(check(&header(64, Dtype::F64), Dtype::F64).unwrap(), 64 + 256 + 2 * 2 * 2 * 64 * 16 * 8);
    assert_eq!(check(&header(1, Dtype::Bf16), Dtype::F64).unwrap(), 64 + 4 + 2 * 2 * 2 * 16 * 2);
}
// ANCHOR_END: ch11_1_the_length_is_the_memory_formula

#[test]
fn ch11_1_a_huge_or_empty_token_count_is_refused_before_anything_else() {
    for n in [0, 65, u32::MAX] {
        let e = check(&header(n, Dtype::F32), Dtype::F32).expect_err("exercise ch11-1: a token count outside 1..=64 is refused");
        assert!(matches!(e, CacheFileError::TokenCount { context_length: 64, .. }), "exercise ch11-1: {n} tokens should be TokenCount, got {e}");
        assert!(e.to_string().contains("story.kvc"), "exercise ch11-1: the error names the file: {e}");
    }
}

#[test]
fn ch11_1_each_mismatch_has_its_own_error() {
    let mut other = header(12, Dtype::F32);
    other.fingerprint = 0xbeef;
    assert!(matches!(check(&other, Dtype::F32), Err(CacheFileError::OtherModel { file: 0xbeef, model: 0xfeed, .. })));
    assert!(matches!(check(&header(12, Dtype::F32), Dtype::F64), Err(CacheFileError::Dtype { file: "f32", model: "f64", .. })));
    assert!(matches!(check(&header(12, Dtype::F64), Dtype::F32), Err(CacheFileError::Dtype { file: "f64", model: "f32", .. })));
    type Edit = fn(&mut Header);
    let edits: [(&str, Edit); 3] = [
        ("n_layers", |h| h.n_layers = 1_000_000),
        ("n_kv_heads", |h| h.n_kv_heads = 1_000_000),
        ("head_dim", |h| h.head_dim = 1_000_000),
    ];
    for (what, edit) in edits {
        let mut h = header(12, Dtype::F32);
        edit(&mut h);
        match check(&h, Dtype::F32) {
            Err(CacheFileError::Shape { what: w, file: 1_000_000, .. }) => assert_eq!(w, what),
            other => panic!("exercise ch11-1: {what} = 1000000 should be a Shape error, got {other:?}"),
        }
    }
    // the fingerprint is checked first: another model with other shapes is "another model"
    let mut both = header(u32::MAX, Dtype::F64);
    both.fingerprint = 1;
    assert!(matches!(check(&both, Dtype::F32), Err(CacheFileError::OtherModel { .. })));
}

// ---------------------------------------------------------------- ch11-2: the longest saved prefix

// ANCHOR: ch11_2_the_longest_strict_prefix_wins
#[test]
fn ch11_2_the_longest_strict_prefix_wins() {
    let saved = vec![vec![5, 6], vec![5, 6, 7], vec![5, 9], vec![5, 6, 7, 8]];
    // [5, 6, 7, 8] is the whole prompt: nothing left to compute, so [5, 6, 7] (index 1)
    assert_eq!(longest_prefix(&[5, 6, 7, 8], &saved), Some(1), "exercise ch11-2");
    assert_eq!(longest_prefix(&[5, 6, 7, 8, 9], &saved), Some(3), "exercise ch11-2");
    assert_eq!(longest_prefix(&[5, 9, 1], &saved), Some(2), "exercise ch11-2");
    assert_eq!(longest_prefix(&[6, 5, 7], &saved), None, "exercise ch11-2: no saved context starts the prompt");
}
// ANCHOR_END: ch11_2_the_longest_strict_prefix_wins

#[test]
fn ch11_2_edge_cases() {
    assert_eq!(longest_prefix(&[1, 2, 3], &[]), None, "exercise ch11-2: an empty folder");
    assert_eq!(longest_prefix(&[], &[vec![1]]), None, "exercise ch11-2: an empty prompt");
    assert_eq!(longest_prefix(&[1, 2], &[vec![1]]), Some(0), "exercise ch11-2");
    assert_eq!(longest_prefix(&[1], &[vec![1]]), None, "exercise ch11-2: equal to the prompt leaves nothing to compute");
    // equal lengths: the first
    assert_eq!(longest_prefix(&[1, 2, 3], &[vec![9], vec![1, 2], vec![1, 2]]), Some(1), "exercise ch11-2: ties go to the first");
}
