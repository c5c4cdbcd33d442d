//! Exercise ch04-3: the generation loop.
//!
//! With `--features ex-ch04-3` this file replaces `src/generate/generation_loop.rs`.
//! Check it: `cargo run -p exercises -- check ch04-3`. Stuck: `cargo run -p exercises -- hint ch04-3`.
#![allow(unused_imports, unused_variables, unused_mut)] // nothing is used yet: delete this line when done

use super::{GenerateOptions, Generation, NextToken};
use crate::sampling::sample;
use shared::{init, Error, Float, Result};
use std::time::{Duration, Instant};

/// Generate up to `options.max_new_tokens` after `prompt`, calling `on_token` with each new id.
pub fn generate<F: Float, M: NextToken<F>>(
    model: &mut M,
    prompt: &[u32],
    options: &GenerateOptions,
    mut on_token: impl FnMut(u32) -> Result<()>,
) -> Result<Generation> {
    // TODO:
    // 1. Refuse bad requests before any work: invalid sampling (options.sampling.validate()),
    //    an empty prompt (Error::EmptyPrompt), prompt + max_new_tokens longer than
    //    model.context_length() (Error::ContextOverflow { len, context_length }).
    // 2. model.start()?, a random generator init::rng(options.seed), tokens = the prompt.
    // 3. Repeat max_new_tokens times: logits = model.next_logits(&tokens)?; pick the next id
    //    with sample(logits.view(), &options.sampling, &mut rng)?; push it; on_token(id)?;
    //    stop early after options.eos_token_id.
    // 4. Return a Generation: prompt_ids, new_ids (the ids after the prompt), stopped_at_eos,
    //    and the times (Instant::now() at the start; time to the first new token; total).
    todo!("ch04-3: the loop: next_logits, sample, push, on_token, stop at EOS")
}
