//! The generation loop: run the model, pick a token, append it, repeat.

use crate::attention::Attention;
use crate::model::Gpt;
use crate::sampling::{sample, Sampling};
use ndarray::{Array1, ArrayView2, Axis};
use shared::{init, Error, Float, Result};
use std::time::{Duration, Instant};

// ANCHOR: next_token
/// Something that, given every token so far, returns the logits of the next one.
///
/// This chapter's [`Gpt`] does it the simple way: run the whole sequence through the model on
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

/// Uncached: every step recomputes the whole sequence (O(n^2) work for n tokens).
impl<F: Float, A: Attention<F>> NextToken<F> for Gpt<F, A> {
    fn next_logits(&mut self, tokens: &[u32]) -> Result<Array1<F>> {
        let ids = ArrayView2::from_shape((1, tokens.len()), tokens).expect("one row"); // [1, seq]
        let logits = self.forward_last(ids, 0, false)?; // [1, vocab]
        Ok(logits.index_axis_move(Axis(0), 0))
    }

    fn start(&mut self) -> Result<()> {
        self.reset_kv_cache();
        Ok(())
    }

    fn context_length(&self) -> usize {
        Gpt::context_length(self)
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

// ANCHOR: generate
/// Generate up to `max_new_tokens` after `prompt`, calling `on_token` with each new id as soon
/// as it exists (to stream text). Errors, before any work, on an empty prompt, on invalid
/// sampling parameters, and when prompt + new tokens would not fit the context.
pub fn generate<F: Float, M: NextToken<F>>(
    model: &mut M,
    prompt: &[u32],
    options: &GenerateOptions,
    mut on_token: impl FnMut(u32) -> Result<()>,
) -> Result<Generation> {
    options.sampling.validate()?;
    if prompt.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    let total_len = prompt.len() + options.max_new_tokens;
    if total_len > model.context_length() {
        return Err(Error::ContextOverflow {
            len: total_len,
            context_length: model.context_length(),
        });
    }
    let started = Instant::now();
    let mut time_to_first_token = Duration::ZERO;
    let mut rng = init::rng(options.seed);
    model.start()?;
    let mut tokens = prompt.to_vec();
    let mut stopped_at_eos = false;
    for step in 0..options.max_new_tokens {
        let logits = model.next_logits(&tokens)?; // [vocab_size]
        let next = sample(logits.view(), &options.sampling, &mut rng)?;
        if step == 0 {
            time_to_first_token = started.elapsed();
        }
        tokens.push(next);
        on_token(next)?;
        if Some(next) == options.eos_token_id {
            stopped_at_eos = true;
            break;
        }
    }
    Ok(Generation {
        prompt_ids: prompt.to_vec(),
        new_ids: tokens[prompt.len()..].to_vec(),
        stopped_at_eos,
        time_to_first_token,
        total_time: started.elapsed(),
    })
}
// ANCHOR_END: generate
