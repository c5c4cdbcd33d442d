//! The generation loop: run the model, pick a token, append it, repeat.

use crate::causal_lm::CausalLm;
use crate::sampling::Sampling;
use ndarray::{Array1, ArrayView2, Axis};
use shared::{Float, Result};
use std::time::Duration;

// Exercise ch04-3 (the generation loop): `--features ex-ch04-3` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch04-3", path = "../exercises/ch04_3_generation_loop.rs")]
mod generation_loop;
pub use generation_loop::generate;

// ANCHOR: next_token
/// Something that, given every token so far, returns the logits of the next one.
///
/// This chapter's [`Gpt`](crate::Gpt) does it the simple way: run the whole sequence through the model on
/// every call. Chapter 8 implements the same trait with a KV cache, feeding only the tokens
/// it has not seen yet, and reuses [`generate`] unchanged.
pub trait NextToken<F: Float> {
    /// tokens: the prompt and everything generated so far -> logits `[vocab_size]`.
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<F>>;

    /// Called once before a new prompt: drop any state left from the last one.
    fn start(&mut self) -> Result<()> {
        Ok(())
    }

    /// Longest sequence the model can see.
    fn context_length(&self) -> usize;
}

/// Uncached: every step recomputes the whole sequence (O(n^2) work for n tokens), for any
/// [`CausalLm`]: this chapter's GPT-2 and chapter 6's families.
impl<M: CausalLm> NextToken<M::Float> for M {
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<M::Float>> {
        let ids = ArrayView2::from_shape((1, tokens.len()), tokens).expect("one row"); // [1, seq]
        let logits = self.forward_last(ids, 0, false)?; // [1, vocab]
        Ok(logits.index_axis_move(Axis(0), 0))
    }

    fn start(&mut self) -> Result<()> {
        self.reset_kv_cache();
        Ok(())
    }

    fn context_length(&self) -> usize {
        CausalLm::context_length(self)
    }
}
// ANCHOR_END: next_token

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    pub sampling: Sampling,
    /// Seed of the sampling random numbers: same seed, same tokens.
    pub seed: u64,
    /// Stop after this token (GPT-2's `<|endoftext|>`); `None` always generates `max_new_tokens`.
    pub eos_token_id: Option<u32>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 20,
            sampling: Sampling::GREEDY,
            seed: 42,
            eos_token_id: None,
        }
    }
}

/// What came out, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub prompt_ids: Vec<u32>,
    pub new_ids: Vec<u32>,
    pub stopped_at_eos: bool,
    /// From the start to the first new token (includes processing the prompt).
    pub time_to_first_token: Duration,
    pub total_time: Duration,
}

impl Generation {
    /// New tokens per second over the whole call.
    pub fn tokens_per_second(&self) -> f64 {
        self.new_ids.len() as f64 / self.total_time.as_secs_f64().max(1e-12)
    }
}
