//! # Chapter 10: paged attention
//!
//! Chapter 8 keeps each sequence's keys and values in one contiguous array, sized ahead of time.
//! Here they live in fixed-size **blocks** from a shared pool, found through a per-sequence
//! **block table**, as in vLLM: memory is taken a block at a time, shared between sequences by
//! reference count, copied on write, and moved out to a slower tier when the pool is full.
