//! Chapter 4's generation loop for a batch: every row its own stream, its own stop.

use crate::batched_model::{BatchFamily, BatchedModel, Positions};
use crate::left_pad::LeftPadded;
use ch04_gpt::{sample, GenerateOptions, Generation};
use ndarray::Array2;
use shared::{init, Error, Result};
use std::time::{Duration, Instant};

/// The pad token's id: any id the model knows would do, since the mask hides it.
pub const PAD_ID: u32 = 0;

// ANCHOR: generate_batch
/// Generate after each prompt of `prompts`, all rows in one batch: one [`Generation`] per prompt,
/// in order, each equal to what chapter 8 generates for that prompt alone with the same
/// `options` (same tokens; the same seed gives every row the same random stream, so a row's
/// samples do not depend on its neighbours). A row stops after `eos_token_id`; the others go on.
/// The timings are the batch's: every row shares them.
pub fn generate_batch<M: BatchFamily + Send>(model: &mut BatchedModel<M>, prompts: &[Vec<u32>], options: &GenerateOptions) -> Result<Vec<Generation>> {
    options.sampling.validate()?;
    let batch = LeftPadded::new(prompts, PAD_ID)?; // ids and mask [n_rows, longest prompt]
    let total_len = batch.ids.ncols() + options.max_new_tokens;
    if total_len > model.model().context_length() {
        return Err(Error::ContextOverflow { len: total_len, context_length: model.model().context_length() });
    }
    let started = Instant::now();
    let mut time_to_first_token = Duration::ZERO;
    let mut rngs: Vec<_> = prompts.iter().map(|_| init::rng(options.seed)).collect(); // one stream per row
    let mut new_ids: Vec<Vec<u32>> = vec![vec![]; prompts.len()];
    let mut done = vec![false; prompts.len()]; // stopped at end-of-text
    shared::on_worker_thread(|| -> Result<()> {
        model.reset();
        let mut logits = model.forward_last(batch.ids.view(), batch.mask.view(), Positions::FromMask)?; // [n_rows, vocab]
        for step in 0..options.max_new_tokens {
            let mut next = Array2::<u32>::zeros((prompts.len(), 1)); // [n_rows, 1]
            for (b, row) in logits.outer_iter().enumerate() {
                if done[b] {
                    next[[b, 0]] = PAD_ID; // a finished row rides along; nothing reads it
                    continue;
                }
                let id = sample(row, &options.sampling, &mut rngs[b])?;
                new_ids[b].push(id);
                done[b] = Some(id) == options.eos_token_id;
                next[[b, 0]] = id;
            }
            if step == 0 {
                time_to_first_token = started.elapsed();
            }
            if step + 1 == options.max_new_tokens || done.iter().all(|&d| d) {
                break;
            }
            let real = Array2::from_elem((prompts.len(), 1), true); // every new token is real
            logits = model.forward_last(next.view(), real.view(), Positions::FromMask)?;
        }
        Ok(())
    })?;
    let total_time = started.elapsed();
    Ok(prompts
        .iter()
        .zip(new_ids)
        .zip(done)
        .map(|((prompt, new_ids), stopped_at_eos)| Generation { prompt_ids: prompt.clone(), new_ids, stopped_at_eos, time_to_first_token, total_time })
        .collect())
}
// ANCHOR_END: generate_batch
