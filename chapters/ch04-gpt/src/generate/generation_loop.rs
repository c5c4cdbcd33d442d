//! The generation loop (the reference solution of exercise ch04-3).

use super::{GenerateOptions, Generation, NextToken};
use crate::sampling::sample;
use shared::{init, Error, Float, Result};
use std::time::{Duration, Instant};

// ANCHOR: generate
// ANCHOR: generate_signature
/// Generate up to `max_new_tokens` after `prompt`, calling `on_token` with each new id as soon
/// as it exists (to stream text). Errors, before any work, on an empty prompt, on invalid
/// sampling parameters, and when prompt + new tokens would not fit the context.
pub fn generate<F: Float, M: NextToken<F>>(
    model: &mut M,
    prompt: &[u32],
    options: &GenerateOptions,
    mut on_token: impl FnMut(u32) -> Result<()>,
) -> Result<Generation> {
    // ANCHOR_END: generate_signature
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
