//! One test per cache bug seen in public projects (see the chapter's page). Each was checked
//! to fail when its bug is put back (`tools/check-regressions.sh` does it on every CI run).

mod common;
use common::*;
use ch04_gpt::GenerateOptions;
use ch08_kv_cache::CacheStorage;
use ndarray::{s, Axis};
use shared::tolerance::F64_REORDERED;
use shared::Error;

/// Bug: the causal mask sliced as `[:t, :t]` instead of being offset by the cached length.
/// A chunk of several tokens meeting a non-empty cache then hides cached keys from its first
/// queries. (rasbt/LLMs-from-scratch PR #697.)
#[test]
fn mask_is_offset_by_the_cached_length() {
    let config = tiny_config();
    let seq = prompt(10, 101, 7);
    let full = uncached::<f64>(&config, 21).logits(&seq).unwrap(); // [10, vocab]
    for storage in STORAGES {
        let mut model = cached::<f64>(&config, 21, storage);
        model.forward(row(&seq[..4]), true).unwrap(); // 4 cached
        let chunk = model.forward(row(&seq[4..]), true).unwrap(); // 6 more in one chunk
        let diff = max_abs_diff(&full.slice(s![4.., ..]).to_owned(), chunk.index_axis(Axis(0), 0));
        assert!(diff <= F64_REORDERED, "a 6-token chunk after 4 cached tokens differs by {diff:e}");
    }
}

/// Bug: the position not advanced, so every decoded token gets position 0 (or the prompt's
/// end) from the learned position table.
#[test]
fn positions_advance_with_every_token() {
    let config = tiny_config();
    let seq = prompt(8, 101, 8);
    let full = uncached::<f64>(&config, 22).logits(&seq).unwrap();
    let mut model = cached::<f64>(&config, 22, CacheStorage::Concat);
    model.forward(row(&seq[..3]), true).unwrap();
    for (i, &t) in seq.iter().enumerate().skip(3) {
        assert_eq!(model.current_pos().unwrap(), i);
        let l = model.forward(row(&[t]), true).unwrap();
        let diff = max_abs_diff(&full.slice(s![i..i + 1, ..]).to_owned(), l.index_axis(Axis(0), 0));
        assert!(diff <= F64_REORDERED, "token {i} differs by {diff:e}: wrong position?");
    }
    assert_eq!(model.current_pos().unwrap(), 8);
}

/// Bug: the position pointer (or the cache) not reset between prompts (rasbt PR #925,
/// litgpt PR #1647): the second prompt then sees the first one's keys, or wrong positions.
#[test]
fn reset_clears_every_layer_and_the_position() {
    let config = tiny_config();
    for storage in STORAGES {
        let mut model = cached::<f64>(&config, 23, storage);
        model.forward(row(&prompt(9, 101, 1)), true).unwrap();
        model.reset_kv_cache();
        assert_eq!(model.current_pos().unwrap(), 0);
        assert!(model.caches().all(|c| c.is_empty()));
        assert_eq!(model.cache_info().total_bytes(), 0);
        let second = prompt(5, 101, 2);
        let after_reset = model.forward(row(&second), true).unwrap();
        let fresh = uncached::<f64>(&config, 23).logits(&second).unwrap();
        let diff = max_abs_diff(&fresh, after_reset.index_axis(Axis(0), 0));
        assert!(diff <= F64_REORDERED, "after reset the logits differ from a fresh model's by {diff:e}");
    }
}

/// Bug: stale cache reused between two `generate` calls.
#[test]
fn generate_starts_clean_for_every_prompt() {
    let config = tiny_mha_config();
    let opts = GenerateOptions { max_new_tokens: 10, ..Default::default() };
    let (a, b) = (prompt(7, 101, 3), prompt(4, 101, 4));
    for storage in STORAGES {
        let mut model = cached::<f32>(&config, 24, storage);
        model.generate(&a, &opts, true, |_| Ok(())).unwrap(); // leaves 16 positions cached
        let second = model.generate(&b, &opts, true, |_| Ok(())).unwrap();
        let mut fresh = cached::<f32>(&config, 24, storage);
        let expected = fresh.generate(&b, &opts, true, |_| Ok(())).unwrap();
        assert_eq!(second.new_ids, expected.new_ids);
        assert_eq!(model.current_pos().unwrap(), b.len() + 10 - 1, "the last token is never fed");
    }
}

/// Bug: running past the context (a panic on the position table or a buffer overrun).
/// Now: a clear error, and the cache is left exactly as it was.
#[test]
fn context_overflow_is_a_clear_error_and_changes_nothing() {
    let config = tiny_config(); // context 40
    for storage in STORAGES {
        let mut model = cached::<f32>(&config, 25, storage);
        model.forward(row(&prompt(38, 101, 5)), true).unwrap();
        let before = model.cache_info();
        let err = model.forward(row(&[1, 2, 3]), true).unwrap_err();
        assert!(matches!(err, Error::ContextOverflow { len: 41, context_length: 40 }), "{err}");
        assert_eq!(model.cache_info(), before);
        assert_eq!(model.current_pos().unwrap(), 38);
        // the two remaining positions still work
        model.forward(row(&[1, 2]), true).unwrap();
        assert!(model.forward(row(&[1]), true).is_err());
        // generate refuses up front
        let opts = GenerateOptions { max_new_tokens: 10, ..Default::default() };
        let err = model.generate(&prompt(35, 101, 6), &opts, true, |_| Ok(())).unwrap_err();
        assert!(matches!(err, Error::ContextOverflow { len: 45, context_length: 40 }), "{err}");
    }
}

/// Bug: the count of cached positions kept in two places that can disagree. `generate`
/// without the cache empties the caches (chapter 4's `start()`), and a position counter kept
/// beside them stayed where it was: the next cached `forward` then embedded its tokens at the
/// stale position against an empty cache and returned wrong logits, silently. Now the position
/// is the caches' length; the test also fails if the uncached `generate` leaves stale caches.
#[test]
fn generate_without_cache_then_forward_with_cache_gives_the_uncached_logits() {
    let config = tiny_config();
    let opts = GenerateOptions { max_new_tokens: 4, ..Default::default() };
    let seq = prompt(6, 101, 10);
    let expected = uncached::<f64>(&config, 26).logits(&seq).unwrap(); // [6, vocab]
    for storage in STORAGES {
        let mut model = cached::<f64>(&config, 26, storage);
        model.generate(&prompt(5, 101, 11), &opts, true, |_| Ok(())).unwrap(); // caches hold 8 positions
        model.generate(&prompt(5, 101, 11), &opts, false, |_| Ok(())).unwrap(); // empties them
        let got = model.forward(row(&seq), true).unwrap();
        let diff = max_abs_diff(&expected, got.index_axis(Axis(0), 0));
        assert!(diff <= F64_REORDERED, "{storage:?}: a cached forward after an uncached generate differs by {diff:e}");
    }
}
