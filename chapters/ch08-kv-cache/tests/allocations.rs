//! What the cache and one cached decode step allocate, counted by a global allocator.
//!
//! First the cache alone: the bytes a concatenating cache copies at every append are measured
//! (they are the new arrays it allocates), and the preallocated one is shown to allocate once
//! and then write into the same buffer. The demo's `bytes_copied` counter is checked against
//! these measurements.
//!
//! The preallocated cache reserves room for the whole context when the first token arrives;
//! after that a decode step must never copy or grow the cache. This test counts the heap
//! allocations (calls and bytes) of one step early in the sequence and of one step much later:
//! the number of calls must be the same, and the extra bytes may only be the attention scores
//! and the causal mask row, which have one entry per cached position
//! (`4 bytes x n_layers x (n_heads + 1)` per extra position).
//! The concatenating cache, which re-copies everything per step, is shown to fail that bound.
//!
//! Then the whole step: once the prompt is cached, a decode step through
//! [`KvModel::decode_into`] (the fast step, into the caller's logits) allocates nothing at all,
//! for GPT-2 and for a rotary family; through `forward_last` it allocates exactly one array, the
//! logits it returns.

mod common;

use ch06_llama_qwen::{Decoder, DecoderConfig, Family};
use ch08_kv_cache::{CacheStorage, KvCache, KvDecoder, KvGpt, KvModel, WithCaches};
use common::tiny_mha_config;
use ndarray::{s, Array4};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
/// One measurement at a time (tests run on several threads).
static SERIAL: Mutex<()> = Mutex::new(());

thread_local! {
    /// Set on the thread that measures: only it and rayon's workers (which run the parallel
    /// parts of a decode step) are counted, never the test harness's own threads.
    static MEASURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether an allocation on this thread belongs to the measurement.
fn counted() -> bool {
    COUNTING.load(Ordering::Relaxed)
        && (MEASURING.with(|m| m.get()) || rayon::current_thread_index().is_some())
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            CALLS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            CALLS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes allocated while `f` runs.
fn bytes_allocated_by<T>(f: impl FnOnce() -> T) -> (u64, T) {
    BYTES.store(0, Ordering::SeqCst);
    MEASURING.with(|m| m.set(true));
    COUNTING.store(true, Ordering::SeqCst);
    let out = f();
    COUNTING.store(false, Ordering::SeqCst);
    MEASURING.with(|m| m.set(false));
    (BYTES.load(Ordering::SeqCst), out)
}

/// Keys (tag 0) or values (tag 1) of positions `first..first + t`, `[1, 2, t, 3]`, each entry
/// a different number.
fn entries(first: usize, t: usize, tag: usize) -> Array4<f32> {
    Array4::from_shape_fn((1, 2, t, 3), |(_, h, p, d)| (1000 * tag + 100 * (first + p) + 10 * h + d) as f32)
}

/// Bytes of one position of keys, or of values: 2 KV heads x 3 dims x 4 bytes.
const POSITION_BYTES: u64 = 2 * 3 * 4;

#[test]
fn concat_allocates_and_fills_a_whole_new_cache_at_every_append() {
    let _one = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut cache = KvCache::<f32>::new(CacheStorage::Concat);
    let (mut len, mut last_buffer) = (0, None);
    for t in [4, 1, 1, 3, 1] {
        let (k, v) = (entries(len, t, 0), entries(len, t, 1));
        let copied_before = cache.bytes_copied();
        let (bytes, appended) = bytes_allocated_by(|| cache.append(k.view(), v.view()));
        appended.unwrap();
        len += t;
        // one new array for the keys and one for the values, each with all `len` positions
        assert_eq!(bytes, 2 * len as u64 * POSITION_BYTES, "appending {t} to {} positions", len - t);
        let buffer = cache.keys().as_ptr();
        assert_ne!(Some(buffer), last_buffer, "concatenation should move the keys to a new buffer");
        last_buffer = Some(buffer);
        assert_eq!(cache.bytes_copied() - copied_before, bytes, "bytes_copied should be the bytes measured");
    }
    assert!(cache.keys() == entries(0, len, 0) && cache.values() == entries(0, len, 1));
}

#[test]
fn preallocated_allocates_once_then_writes_in_the_same_buffer() {
    let _one = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let capacity = 12;
    let mut cache = KvCache::<f32>::new(CacheStorage::Preallocated { capacity });
    let (k, v) = (entries(0, 4, 0), entries(0, 4, 1));
    let (bytes, appended) = bytes_allocated_by(|| cache.append(k.view(), v.view()));
    appended.unwrap();
    assert_eq!(bytes, 2 * capacity as u64 * POSITION_BYTES, "the first append allocates room for the capacity");
    let buffer = cache.keys().as_ptr();
    let mut len = 4;
    for t in [1, 1, 3, 1, 2] {
        let (k, v) = (entries(len, t, 0), entries(len, t, 1));
        let copied_before = cache.bytes_copied();
        let (bytes, appended) = bytes_allocated_by(|| cache.append(k.view(), v.view()));
        appended.unwrap();
        assert_eq!(bytes, 0, "appending {t} positions to {len} should allocate nothing");
        assert_eq!(cache.keys().as_ptr(), buffer, "the keys should stay in the buffer allocated first");
        // the new entries are in the buffer, at the write pointer
        assert!(cache.keys().slice(s![.., .., len..len + t, ..]) == k);
        assert!(cache.values().slice(s![.., .., len..len + t, ..]) == v);
        // and bytes_copied counts just them (the size of the arrays handed in)
        assert_eq!(cache.bytes_copied() - copied_before, ((k.len() + v.len()) * 4) as u64);
        len += t;
    }
    assert!(cache.keys() == entries(0, len, 0) && cache.values() == entries(0, len, 1));
}

/// (allocation calls, bytes) of one cached decode step of `token`.
fn count_step(model: &mut KvGpt<f32>, token: u32) -> (u64, u64) {
    let ids = [token];
    let ids = common::row(&ids);
    CALLS.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    MEASURING.with(|m| m.set(true));
    COUNTING.store(true, Ordering::SeqCst);
    let logits = model.forward_last(ids, true);
    COUNTING.store(false, Ordering::SeqCst);
    MEASURING.with(|m| m.set(false));
    logits.expect("decode step");
    (CALLS.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst))
}

/// Steps at positions `early` and `late` (cache lengths), after a 4-token prompt.
fn measure(storage: CacheStorage, early: usize, late: usize) -> ((u64, u64), (u64, u64)) {
    let config = tiny_mha_config();
    let mut model = KvGpt::new(common::uncached::<f32>(&config, 3), storage);
    model.forward_last(common::row(&[1, 2, 3, 4]), true).unwrap();
    let mut at_early = None;
    let mut at_late = None;
    while model.current_pos().unwrap() < late + 1 {
        let pos = model.current_pos().unwrap();
        let counted = count_step(&mut model, (pos % 50) as u32);
        if pos == early {
            at_early = Some(counted);
        }
        if pos == late {
            at_late = Some(counted);
        }
    }
    (at_early.unwrap(), at_late.unwrap())
}

#[test]
fn a_decode_step_allocates_the_same_early_and_late() {
    let _one = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = tiny_mha_config(); // 2 layers, 4 heads, context 40
    let (early, late) = (6, 36);
    let ((calls_early, bytes_early), (calls_late, bytes_late)) =
        measure(CacheStorage::Preallocated { capacity: config.context_length }, early, late);
    assert_eq!(
        calls_early, calls_late,
        "a cached decode step should make the same number of allocations at position {early} and {late}"
    );
    let scores_growth = (4 * config.n_layers * (config.n_heads + 1) * (late - early)) as u64;
    assert!(
        bytes_late <= bytes_early + scores_growth,
        "a decode step at position {late} allocated {bytes_late} bytes, at {early} {bytes_early}: more than the \
         growth of the attention scores and mask ({scores_growth} bytes), so something copies the cache"
    );
    println!(
        "preallocated cache: {calls_early} allocations per decode step; {bytes_early} bytes at position {early}, \
         {bytes_late} at {late}"
    );
}

#[test]
fn the_concatenating_cache_fails_the_same_bound() {
    // The bound above is able to fail: concatenation copies the whole cache at every step.
    let _one = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = tiny_mha_config();
    let (early, late) = (6, 36);
    let ((_, bytes_early), (_, bytes_late)) = measure(CacheStorage::Concat, early, late);
    let scores_growth = (4 * config.n_layers * (config.n_heads + 1) * (late - early)) as u64;
    // keys and values: 2 x n_layers x n_heads x head_dim x 4 bytes more per position
    let cache_growth = (2 * config.n_layers * config.d_model * 4 * (late - early)) as u64;
    assert!(
        bytes_late >= bytes_early + scores_growth + cache_growth,
        "concatenation should allocate the growing cache: {bytes_early} -> {bytes_late} bytes"
    );
}

/// Allocation calls of one [`KvModel::decode_into`] step at each cache length of `at`, after a
/// 4-token prompt, and of one `forward_last` step just after. Measured on a rayon worker, where
/// generation runs every step (`KvModel::generate`); the logits buffer is the caller's.
fn decode_allocations<M: WithCaches + Send>(model: &mut KvModel<M>, at: [usize; 2]) -> ([u64; 2], u64) {
    let vocab = vocab_of(model);
    let mut logits = vec![<M::Float as shared::Float>::cast(0.0); vocab];
    shared::on_worker_thread(|| {
        model.forward_last(common::row(&[1, 2, 3, 4]), true).unwrap();
        let mut counted = [u64::MAX; 2];
        let calls_of = |f: &mut dyn FnMut()| {
            CALLS.store(0, Ordering::SeqCst);
            MEASURING.with(|m| m.set(true));
            COUNTING.store(true, Ordering::SeqCst);
            f();
            COUNTING.store(false, Ordering::SeqCst);
            MEASURING.with(|m| m.set(false));
            CALLS.load(Ordering::SeqCst)
        };
        while model.current_pos().unwrap() <= at[1] {
            let pos = model.current_pos().unwrap();
            let token = (pos % 50) as u32;
            let calls = calls_of(&mut || model.decode_into(token, &mut logits).expect("decode step"));
            if let Some(i) = at.iter().position(|&p| p == pos) {
                counted[i] = calls;
            }
        }
        let returned = calls_of(&mut || {
            model.forward_last(common::row(&[5]), true).expect("decode step");
        });
        (counted, returned)
    })
}

fn vocab_of<M: WithCaches>(model: &KvModel<M>) -> usize {
    ch04_gpt::CausalLm::vocab_size(model.model())
}

#[test]
fn a_decode_step_allocates_nothing_once_the_prompt_is_cached() {
    let _one = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let at = [6, 36];
    let gpt2 = tiny_mha_config(); // 2 layers, 4 heads, context 40
    let mut model = KvGpt::<f32>::preallocated(common::uncached(&gpt2, 3));
    let (steps, returned) = decode_allocations(&mut model, at);
    assert_eq!(steps, [0, 0], "GPT-2: allocations of a decode step at positions {at:?}");
    assert_eq!(returned, 1, "GPT-2: forward_last allocates the logits it returns, and nothing else");
    let llama = DecoderConfig { context_length: 40, ..DecoderConfig::tiny(Family::Llama, 61, 32, 2, 4, 2) };
    let mut model = KvDecoder::<f32>::preallocated(Decoder::<f32>::random(&llama, 3).unwrap());
    let (steps, returned) = decode_allocations(&mut model, at);
    assert_eq!(steps, [0, 0], "Llama (GQA): allocations of a decode step at positions {at:?}");
    assert_eq!(returned, 1, "Llama: forward_last allocates the logits it returns, and nothing else");
}

#[test]
fn the_plain_path_allocates_per_step_so_the_count_can_fail() {
    let _one = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut model = KvGpt::<f32>::preallocated(common::uncached(&tiny_mha_config(), 3));
    model.set_fast_decode(false);
    let (steps, _) = decode_allocations(&mut model, [6, 36]);
    assert!(steps.iter().all(|&calls| calls > 10), "chapter 4's layers return new arrays: {steps:?} allocations");
}
