//! The tests of chapter 8's exercises, one group per exercise (`ch08_K_...`).
//!
//! `cargo run -p exercises -- check ch08` runs each group against the learner's stub
//! (`--features ex-ch08-K`); a plain `cargo test` runs them against the reference code. Every
//! expected value comes from somewhere independent of the code under test: hand-made numbers,
//! chapter 3's uncached attention, or chapter 4's uncached model.

use ch03_attention::MultiHeadAttention;
use ch04_gpt::{generate, Attention, GenerateOptions, Gpt, NextToken};
use ch08_kv_cache::{CacheStorage, CachedAttention, KvCache, KvGpt};
use ndarray::{concatenate, s, Array, Array3, Array4, ArrayView2, Axis};
use shared::tolerance::F64_REORDERED;
use shared::{init, Error, GptConfig};

/// A tiny GPT-2 with grouped-query attention: 4 query heads share 2 KV heads.
fn tiny_config() -> GptConfig {
    let mut c = GptConfig::gpt2_like(61, 16, 16, 2, 4);
    c.n_kv_heads = 2;
    c
}

fn row(ids: &[u32]) -> ArrayView2<'_, u32> {
    ArrayView2::from_shape((1, ids.len()), ids).unwrap()
}

fn max_abs_diff<D: ndarray::Dimension>(a: &Array<f64, D>, b: &Array<f64, D>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Keys (or values, with `tag` 1) of `t` positions starting at `first`, each entry encoding
/// where it belongs: `1000 * tag + 100 * position + 10 * head + dim`.
fn coded(first: usize, t: usize, tag: usize) -> Array4<f64> {
    Array4::from_shape_fn((1, 2, t, 3), |(_, h, p, d)| (1000 * tag + 100 * (first + p) + 10 * h + d) as f64)
}

// ---------------------------------------------------------------- ch08-1: append at the pointer

fn preallocated(capacity: usize) -> KvCache<f64> {
    KvCache::new(CacheStorage::Preallocated { capacity })
}

// ANCHOR: ch08_1_append_writes_at_the_pointer
#[test]
fn ch08_1_append_writes_at_the_pointer() {
    let mut cache = preallocated(8);
    cache.append(coded(0, 2, 0).view(), coded(0, 2, 1).view()).unwrap();
    cache.append(coded(2, 3, 0).view(), coded(2, 3, 1).view()).unwrap();
    assert_eq!(cache.len(), 5, "exercise ch08-1: after appending 2 then 3 positions, len() should be 5");
    let (keys, values) = (cache.keys(), cache.values());
    assert_eq!(keys.dim(), (1, 2, 5, 3), "exercise ch08-1: keys() should show the 5 written positions");
    for ((_, h, p, d), &k) in keys.indexed_iter() {
        let expected = (100 * p + 10 * h + d) as f64;
        assert_eq!(
            k, expected,
            "exercise ch08-1: after appending positions 0-1 then 2-4, the key of position {p} (head {h}, \
             dim {d}) should be the one appended for position {p}; is the second chunk written at \
             the pointer (self.len), not at 0?"
        );
    }
    for ((_, h, p, d), &v) in values.indexed_iter() {
        let expected = (1000 + 100 * p + 10 * h + d) as f64;
        assert_eq!(v, expected, "exercise ch08-1: the value of position {p} (head {h}, dim {d}) is not the one appended (k and v swapped?)");
    }
}
// ANCHOR_END: ch08_1_append_writes_at_the_pointer

#[test]
fn ch08_1_the_buffers_are_allocated_once_with_room_for_capacity() {
    let mut cache = preallocated(8);
    cache.append(coded(0, 1, 0).view(), coded(0, 1, 1).view()).unwrap();
    let room = 2 * (2 * 8 * 3) * std::mem::size_of::<f64>(); // k and v, 2 heads x 8 positions x 3 dims
    assert_eq!(
        cache.allocated_bytes(),
        room,
        "exercise ch08-1: after the first append the buffers should hold all 8 positions of capacity \
         ([1, 2, 8, 3] each), allocated once"
    );
    let buffer_k = cache.keys().as_ptr();
    cache.append(coded(1, 2, 0).view(), coded(1, 2, 1).view()).unwrap();
    assert_eq!(cache.allocated_bytes(), room, "exercise ch08-1: a second append should not grow the buffers");
    assert_eq!(
        cache.keys().as_ptr(),
        buffer_k,
        "exercise ch08-1: a second append should write into the same buffer, not allocate a new one"
    );
}

#[test]
fn ch08_1_appending_past_capacity_is_an_error_that_changes_nothing() {
    let mut cache = preallocated(4);
    cache.append(coded(0, 3, 0).view(), coded(0, 3, 1).view()).unwrap();
    let result = cache.append(coded(3, 2, 0).view(), coded(3, 2, 1).view());
    assert!(
        matches!(result, Err(Error::ContextOverflow { len: 5, context_length: 4 })),
        "exercise ch08-1: appending 2 positions to 3 cached with capacity 4 should be \
         Err(ContextOverflow {{ len: 5, context_length: 4 }}), got {result:?}"
    );
    assert_eq!(cache.len(), 3, "exercise ch08-1: a refused append should leave len() at 3");
    assert!(cache.keys() == coded(0, 3, 0), "exercise ch08-1: a refused append should leave the cached keys as they were");
}

// ------------------------------------------------------- ch08-2: append, then attend over the cache

/// Chapter 3's attention layer and 7 tokens' worth of input for it.
fn attention_and_input() -> (MultiHeadAttention<f64>, Array3<f64>) {
    let config = tiny_config();
    let mut rng = init::rng(81);
    let attn = MultiHeadAttention::random(&config, &mut rng);
    let x = Array3::from_shape_fn((1, 7, config.d_model), |(_, t, i)| ((t * 7 + i * 3) % 11) as f64 / 11.0 - 0.5);
    (attn, x) // x: [1, 7, d_model]
}

// ANCHOR: ch08_2_chunks_attend_like_the_whole_sequence
#[test]
fn ch08_2_chunks_attend_like_the_whole_sequence() {
    let (attn, x) = attention_and_input();
    let whole = MultiHeadAttention::forward(&attn, x.view()).unwrap(); // chapter 3, uncached: [1, 7, d_model]
    let mut cached = CachedAttention::new(attn, CacheStorage::Concat);
    let mut pieces = vec![];
    for (start, end) in [(0, 3), (3, 4), (4, 7)] {
        pieces.push(Attention::forward(&mut cached, x.slice(s![.., start..end, ..]), true).unwrap());
    }
    let chunked = concatenate(Axis(1), &[pieces[0].view(), pieces[1].view(), pieces[2].view()]).unwrap();
    let diff = max_abs_diff(&chunked, &whole);
    assert!(
        diff <= F64_REORDERED,
        "exercise ch08-2: fed in chunks of 3, 1 and 3 tokens with the cache, the attention output \
         should equal chapter 3's over all 7 tokens at once, but differs by {diff:.1e}: does each \
         chunk attend over every cached key and value, not only its own?"
    );
}
// ANCHOR_END: ch08_2_chunks_attend_like_the_whole_sequence

#[test]
fn ch08_2_the_cache_keeps_the_keys_of_every_token_fed() {
    let (attn, x) = attention_and_input();
    let all = attn.project_qkv(x.view()).unwrap(); // chapter 3's projection of all 7 tokens
    let mut cached = CachedAttention::new(attn, CacheStorage::Concat);
    for (start, end) in [(0, 3), (3, 4), (4, 7)] {
        Attention::forward(&mut cached, x.slice(s![.., start..end, ..]), true).unwrap();
        assert_eq!(
            cached.cache().len(),
            end,
            "exercise ch08-2: after feeding tokens 0..{end} the cache should hold {end} positions"
        );
    }
    let diff = max_abs_diff(&cached.cache().keys().to_owned(), &all.k);
    assert!(diff <= F64_REORDERED, "exercise ch08-2: the cached keys should be the keys of the 7 tokens fed, in order (differ by {diff:.1e})");
    let diff = max_abs_diff(&cached.cache().values().to_owned(), &all.v);
    assert!(diff <= F64_REORDERED, "exercise ch08-2: the cached values should be the values of the 7 tokens fed, in order (differ by {diff:.1e})");
}

// ------------------------------------------- ch08-3: the position is the caches' length

fn models(seed: u64) -> (Gpt<f64>, KvGpt<f64>) {
    let uncached = Gpt::random(&tiny_config(), seed).unwrap();
    let cached = KvGpt::new(uncached.clone(), CacheStorage::Concat);
    (uncached, cached)
}

const SEQ: [u32; 7] = [5, 17, 42, 3, 60, 8, 29];

// ANCHOR: ch08_3_new_tokens_continue_from_current_pos
#[test]
fn ch08_3_current_pos_is_the_length_of_the_caches() {
    let (_, mut cached) = models(84);
    assert_eq!(cached.current_pos().ok(), Some(0), "exercise ch08-3: a new model's caches are empty: current_pos() should be Ok(0)");
    cached.forward(row(&SEQ[..4]), true).unwrap();
    assert_eq!(cached.current_pos().ok(), Some(4), "exercise ch08-3: after feeding 4 tokens with the cache, current_pos() should be Ok(4)");
    for (i, cache) in cached.caches().enumerate() {
        assert_eq!(cache.len(), 4, "exercise ch08-3: after feeding 4 tokens, layer {i}'s cache should hold 4 positions");
    }
    cached.forward_last(row(&SEQ[4..5]), true).unwrap();
    assert_eq!(cached.current_pos().ok(), Some(5), "exercise ch08-3: forward_last of 1 more token should bring current_pos() to 5");
    cached.forward(row(&SEQ), false).unwrap();
    assert_eq!(
        cached.current_pos().ok(),
        Some(5),
        "exercise ch08-3: a forward without the cache should neither read nor write the caches (current_pos() stays 5)"
    );
    let too_long = cached.forward(row(&[1; 12]), true);
    assert!(
        matches!(too_long, Err(Error::ContextOverflow { len: 17, context_length: 16 })),
        "exercise ch08-3: 12 more tokens after 5 cached do not fit a context of 16: expected \
         Err(ContextOverflow {{ len: 17, context_length: 16 }}) before touching the caches \
         (self.check_fits), got {:?}",
        too_long.map(|l| l.dim())
    );
    assert_eq!(cached.current_pos().ok(), Some(5), "exercise ch08-3: a refused chunk should leave the caches at 5 positions");
}

#[test]
fn ch08_3_new_tokens_get_the_positions_after_the_cached_ones() {
    let (mut uncached, mut cached) = models(83);
    let whole = uncached.logits(&SEQ).unwrap(); // [7, vocab], chapter 4 without a cache
    cached.forward(row(&SEQ[..4]), true).unwrap();
    let rest = cached.forward(row(&SEQ[4..]), true).unwrap().index_axis_move(Axis(0), 0); // [3, vocab]
    let diff = max_abs_diff(&rest, &whole.slice(s![4.., ..]).to_owned());
    assert!(
        diff <= F64_REORDERED,
        "exercise ch08-3: tokens 4..7 fed after 4 cached tokens should get the logits chapter 4's \
         uncached model gives them, but differ by {diff:.1e}: do they get positions 4, 5, 6 \
         (current_pos() onwards), and does forward pass use_cache to the model?"
    );
    let last = cached.forward_last(row(&[SEQ[0]]), true).unwrap().index_axis_move(Axis(0), 0); // [vocab]
    let mut eight = SEQ.to_vec();
    eight.push(SEQ[0]);
    let expected = uncached.logits(&eight).unwrap().index_axis_move(Axis(0), 7);
    let diff = max_abs_diff(&last, &expected);
    assert!(diff <= F64_REORDERED, "exercise ch08-3: forward_last of an 8th token should give the uncached logits of position 7, differs by {diff:.1e}");
}
// ANCHOR_END: ch08_3_new_tokens_continue_from_current_pos

#[test]
fn ch08_3_reset_empties_every_cache_so_positions_start_at_0() {
    let (mut uncached, mut cached) = models(85);
    cached.forward(row(&SEQ), true).unwrap();
    cached.reset_kv_cache();
    for (i, cache) in cached.caches().enumerate() {
        assert!(cache.is_empty(), "exercise ch08-3: after reset_kv_cache(), layer {i}'s cache should be empty");
    }
    assert_eq!(cached.current_pos().ok(), Some(0), "exercise ch08-3: after reset_kv_cache(), current_pos() should be Ok(0)");
    let second = [9, 1, 33];
    let logits = cached.forward(row(&second), true).unwrap().index_axis_move(Axis(0), 0);
    let diff = max_abs_diff(&logits, &uncached.logits(&second).unwrap());
    assert!(diff <= F64_REORDERED, "exercise ch08-3: a new prompt after reset_kv_cache() should get a fresh model's logits, differs by {diff:.1e}");
}

#[test]
fn ch08_3_no_stale_position_after_an_uncached_generation() {
    // generate without the cache empties the caches (chapter 4's start()): the position of the
    // next cached token must follow them back to 0
    let (mut uncached, mut cached) = models(90);
    let options = GenerateOptions { max_new_tokens: 3, ..Default::default() };
    cached.generate(&SEQ[..4], &options, true, |_| Ok(())).unwrap();
    cached.generate(&SEQ[..4], &options, false, |_| Ok(())).unwrap();
    let logits = cached.forward(row(&SEQ[..3]), true).unwrap().index_axis_move(Axis(0), 0);
    let diff = max_abs_diff(&logits, &uncached.logits(&SEQ[..3]).unwrap());
    assert!(
        diff <= F64_REORDERED,
        "exercise ch08-3: after a generation without the cache, a cached forward should start at \
         position 0 like a fresh model, but its logits differ by {diff:.1e}: is the position read \
         from the caches?"
    );
}

// ------------------------------------------------------- ch08-4: feed only the tokens not cached

// ANCHOR: ch08_4_only_the_new_tokens_are_fed
#[test]
fn ch08_4_only_the_new_tokens_are_fed() {
    let (mut uncached, mut cached) = models(86);
    let prompt = &SEQ[..5];
    let logits = cached.next_logits(prompt).unwrap();
    assert_eq!(cached.current_pos().ok(), Some(5), "exercise ch08-4: after next_logits(5-token prompt) the cache should hold 5 positions");
    let diff = max_abs_diff(&logits, &uncached.next_logits(prompt).unwrap());
    assert!(diff <= F64_REORDERED, "exercise ch08-4: the logits after the prompt should equal chapter 4's uncached ones, differ by {diff:.1e}");
    let logits = cached.next_logits(&SEQ[..6]).unwrap();
    assert_eq!(
        cached.current_pos().ok(),
        Some(6),
        "exercise ch08-4: the next step, with 6 tokens of which 5 are cached, should feed 1 token \
         (6 cached after it)"
    );
    let diff = max_abs_diff(&logits, &uncached.next_logits(&SEQ[..6]).unwrap());
    assert!(diff <= F64_REORDERED, "exercise ch08-4: the logits of the next step should equal chapter 4's uncached ones, differ by {diff:.1e}");
}
// ANCHOR_END: ch08_4_only_the_new_tokens_are_fed

#[test]
fn ch08_4_a_prompt_in_chunks_gives_the_same_logits() {
    let (mut uncached, mut cached) = models(87);
    cached.set_prefill_chunk(Some(2));
    let logits = cached.next_logits(&SEQ).unwrap();
    assert_eq!(cached.current_pos().ok(), Some(7), "exercise ch08-4: a 7-token prompt in chunks of 2 should leave 7 positions cached");
    let diff = max_abs_diff(&logits, &uncached.next_logits(&SEQ).unwrap());
    assert!(diff <= F64_REORDERED, "exercise ch08-4: a prompt fed in chunks of 2 should give the uncached logits of its last token, differs by {diff:.1e}");
}

#[test]
fn ch08_4_tokens_all_cached_already_are_an_error() {
    let (_, mut cached) = models(88);
    cached.next_logits(&SEQ[..3]).unwrap();
    let again = cached.next_logits(&SEQ[..3]);
    assert!(
        matches!(again, Err(Error::InvalidArgument(_))),
        "exercise ch08-4: next_logits with no new token (3 given, 3 cached) should be \
         Err(InvalidArgument), got {:?}",
        again.map(|l| l.len())
    );
}

#[test]
fn ch08_4_generate_with_the_cache_gives_the_uncached_tokens() {
    let (mut uncached, mut cached) = models(89);
    let options = GenerateOptions { max_new_tokens: 6, ..Default::default() };
    let expected = generate(&mut uncached, &SEQ[..3], &options, |_| Ok(())).unwrap().new_ids;
    let got = generate(&mut cached, &SEQ[..3], &options, |_| Ok(())).unwrap().new_ids;
    assert_eq!(got, expected, "exercise ch08-4: greedy generation with the cache should give chapter 4's uncached tokens");
}
