//! What one cached decode step allocates, counted by a global allocator.
//!
//! The preallocated cache reserves room for the whole context when the first token arrives;
//! after that a decode step must never copy or grow the cache. This test counts the heap
//! allocations (calls and bytes) of one step early in the sequence and of one step much later:
//! the number of calls must be the same, and the extra bytes may only be the attention scores
//! and the causal mask row, which have one entry per cached position
//! (`4 bytes x n_layers x (n_heads + 1)` per extra position).
//! The concatenating cache, which re-copies everything per step, is shown to fail that bound.
//! (The step still allocates its activations, a fixed count per token; see the performance
//! chapter.)

mod common;

use ch08_kv_cache::{CacheStorage, KvGpt};
use common::tiny_mha_config;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
/// One measurement at a time (tests run on several threads).
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            CALLS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            CALLS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// (allocation calls, bytes) of one cached decode step of `token`.
fn count_step(model: &mut KvGpt<f32>, token: u32) -> (u64, u64) {
    let ids = [token];
    let ids = common::row(&ids);
    CALLS.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let logits = model.forward_last(ids, true);
    COUNTING.store(false, Ordering::SeqCst);
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
    while model.current_pos < late + 1 {
        let pos = model.current_pos;
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
