//! Exercise ch11-2: which saved context to load for a prompt.
//!
//! A folder holds caches of several contexts. For a prompt, the best one is the longest that
//! the prompt starts with (by token ids), leaving at least one token to compute.
//!
//! With `--features ex-ch11-2` this file replaces `src/longest_prefix.rs`.
//! Check it: `cargo run -p exercises -- check ch11-2`. Stuck: `cargo run -p exercises -- hint ch11-2`.
#![allow(unused_variables)] // nothing is used yet: delete this line when done

/// The index in `saved` of the longest token-id sequence that is a strict prefix of `prompt`
/// (at least one prompt token must remain to compute), or `None` when none is. Ties go to the
/// first.
pub fn longest_prefix(prompt: &[u32], saved: &[Vec<u32>]) -> Option<usize> {
    // TODO: walk `saved`, keep the index of the longest sequence the prompt starts with.
    todo!("ch11-2: the longest saved strict prefix of the prompt")
}
