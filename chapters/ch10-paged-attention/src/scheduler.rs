//! Continuous batching in a fixed block budget: admit, grow, preempt, finish.
//!
//! Chapter 9's static batch starts its rows together and holds every row's memory until the
//! longest row ends. Here every step is a fresh batch: a sequence that reached end-of-text
//! leaves at once and gives its blocks back, a waiting request takes its place in the next
//! step (its prompt is processed in the same forward pass as the others' single new tokens),
//! and each sequence takes one more block only when its last one is full.
//!
//! When a step needs more blocks than are free, the newest running sequence is **preempted**
//! (as vLLM does): either its blocks are **swapped** out to a slower tier and back in later
//! ([`crate::offload`]), or they are simply freed and its tokens **recomputed** (its prompt
//! and the tokens it generated so far are prefilled again when it is readmitted).

use crate::offload::{swap_in, swap_out, Swapped};
use crate::{PagedError, PagedFamily, PagedModel, SeqId};
use ch04_gpt::{sample, Sampling};
use ndarray_rand::rand::rngs::StdRng;
use shared::Float;
use std::collections::VecDeque;

/// Everything the scheduler refuses or fails at.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Paged(#[from] PagedError),
    #[error(transparent)]
    Model(#[from] shared::Error),
    #[error("request {id} needs up to {needed} blocks, more than the whole pool of {total}")]
    TooLong { id: SeqId, needed: usize, total: usize },
    #[error("request {id} has an empty prompt")]
    EmptyPrompt { id: SeqId },
    #[error("request id {0} is used twice")]
    DuplicateId(SeqId),
}

/// How to make room when the pool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preemption {
    /// Free the sequence's blocks; prefill its prompt and generated tokens again later.
    Recompute,
    /// Copy the sequence's blocks to the slower tier, free them, and copy them back later.
    Swap,
}

/// One request of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: SeqId,
    pub prompt: Vec<u32>,
    pub max_new_tokens: usize,
}

/// A request the scheduler has finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub id: SeqId,
    pub new_ids: Vec<u32>,
    pub stopped_at_eos: bool,
}

/// How sequences are generated and preempted.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub sampling: Sampling,
    /// Every sequence samples from its own stream seeded with this (as in chapter 9).
    pub seed: u64,
    pub eos_token_id: Option<u32>,
    /// At most this many sequences in one step.
    pub max_batch: usize,
    pub preemption: Preemption,
}

/// What the scheduler did, counted as it went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchedulerStats {
    pub steps: usize,
    pub generated_tokens: usize,
    /// Tokens fed through the model: prompts, new tokens, and recomputed ones.
    pub forwarded_tokens: usize,
    /// The most blocks in use after any step's growth.
    pub peak_blocks: usize,
    /// The most sequences in one step.
    pub peak_batch: usize,
    pub preemptions: usize,
    /// Tokens whose keys and values were computed a second time after a recompute preemption.
    pub recomputed_tokens: usize,
    /// Bytes copied to and from the slower tier.
    pub bytes_swapped_out: usize,
    pub bytes_swapped_in: usize,
}

/// A sequence between admission and its end. Its block table lives in the model, under `id`,
/// while it runs.
struct Sequence<F> {
    id: SeqId,
    /// Prompt, then every generated token.
    tokens: Vec<u32>,
    prompt_len: usize,
    max_new_tokens: usize,
    /// Tokens whose keys and values are in the pool (0 while waiting).
    cached: usize,
    rng: StdRng,
    /// Where its keys and values are while it waits after a swap preemption.
    swapped: Option<Swapped<F>>,
    /// Tokens it had cached when it was last preempted by recompute (computed again on readmission).
    dropped: usize,
}

impl<F> Sequence<F> {
    /// Tokens not yet in the cache: the whole prompt at admission, one token while decoding,
    /// everything after a recompute preemption.
    fn pending(&self) -> &[u32] {
        &self.tokens[self.cached..]
    }
}

/// Serves requests through a [`PagedModel`] whose pool is the budget: `waiting` in arrival
/// order (preempted sequences go back to its front), `running` in admission order.
pub struct Scheduler<F> {
    options: SchedulerOptions,
    waiting: VecDeque<Sequence<F>>,
    running: Vec<Sequence<F>>,
    finished: Vec<Finished>,
    stats: SchedulerStats,
}

impl<F: Float> Scheduler<F> {
    pub fn new(options: SchedulerOptions) -> Result<Self, SchedulerError> {
        options.sampling.validate()?;
        if options.max_batch == 0 {
            return Err(shared::Error::InvalidArgument("max_batch must be at least 1".into()).into());
        }
        Ok(Scheduler { options, waiting: VecDeque::new(), running: Vec::new(), finished: Vec::new(), stats: SchedulerStats::default() })
    }

    /// Queue a request for `model`. One that could not fit the whole pool even alone is refused.
    pub fn submit<M: PagedFamily<Float = F>>(&mut self, model: &PagedModel<M>, request: Request) -> Result<(), SchedulerError> {
        let id = request.id;
        if request.prompt.is_empty() {
            return Err(SchedulerError::EmptyPrompt { id });
        }
        if self.waiting.iter().chain(&self.running).any(|s| s.id == id) || model.table(id).is_some() {
            return Err(SchedulerError::DuplicateId(id));
        }
        let pool = model.pool();
        let needed = pool.blocks_for(request.prompt.len() + request.max_new_tokens);
        if needed > pool.num_blocks() {
            return Err(SchedulerError::TooLong { id, needed, total: pool.num_blocks() });
        }
        self.waiting.push_back(Sequence {
            id,
            prompt_len: request.prompt.len(),
            tokens: request.prompt,
            max_new_tokens: request.max_new_tokens,
            cached: 0,
            rng: shared::init::rng(self.options.seed),
            swapped: None,
            dropped: 0,
        });
        Ok(())
    }

    /// True when every request has finished.
    pub fn is_done(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }

    pub fn stats(&self) -> &SchedulerStats {
        &self.stats
    }

    /// Sequences in the next step, and waiting ones.
    pub fn counts(&self) -> (usize, usize) {
        (self.running.len(), self.waiting.len())
    }

    /// Run steps until every request has finished: the finished requests in order of id.
    pub fn run<M: PagedFamily<Float = F>>(&mut self, model: &mut PagedModel<M>) -> Result<Vec<Finished>, SchedulerError> {
        while !self.is_done() {
            self.step(model)?;
        }
        let mut done = std::mem::take(&mut self.finished);
        done.sort_by_key(|f| f.id);
        Ok(done)
    }

    // ANCHOR: step
    /// One step: make room for the running sequences' new tokens (preempting the newest while
    /// blocks are short), admit waiting ones into what is left, run one forward pass over all of
    /// them, and finish those that reached end-of-text or their `max_new_tokens`.
    pub fn step<M: PagedFamily<Float = F>>(&mut self, model: &mut PagedModel<M>) -> Result<(), SchedulerError> {
        let granted = self.grow(model)?;
        self.admit(model, granted)?;
        if self.running.is_empty() {
            return Ok(());
        }
        let inputs: Vec<(SeqId, &[u32])> = self.running.iter().map(|s| (s.id, s.pending())).collect();
        self.stats.forwarded_tokens += inputs.iter().map(|(_, ids)| ids.len()).sum::<usize>();
        let logits = model.step(&inputs)?; // one [vocab] row per running sequence
        self.stats.steps += 1;
        self.stats.peak_blocks = self.stats.peak_blocks.max(model.pool().num_used());
        self.stats.peak_batch = self.stats.peak_batch.max(self.running.len());
        let mut still_running = Vec::with_capacity(self.running.len());
        for (mut seq, row) in std::mem::take(&mut self.running).into_iter().zip(logits) {
            seq.cached = seq.tokens.len();
            let id = sample(row.view(), &self.options.sampling, &mut seq.rng)?;
            seq.tokens.push(id);
            self.stats.generated_tokens += 1;
            let at_eos = Some(id) == self.options.eos_token_id;
            if at_eos || seq.tokens.len() - seq.prompt_len == seq.max_new_tokens {
                model.release(seq.id)?;
                self.finished.push(Finished { id: seq.id, new_ids: seq.tokens[seq.prompt_len..].to_vec(), stopped_at_eos: at_eos });
            } else {
                still_running.push(seq);
            }
        }
        self.running = still_running;
        Ok(())
    }
    // ANCHOR_END: step

    // ANCHOR: grow
    /// Grant every running sequence the blocks its pending tokens need, oldest first; while the
    /// pool is short, preempt the newest running sequence (possibly the one that asked).
    /// Returns the blocks granted (the step will take them).
    fn grow<M: PagedFamily<Float = F>>(&mut self, model: &mut PagedModel<M>) -> Result<usize, SchedulerError> {
        let (mut i, mut granted) = (0, 0);
        while i < self.running.len() {
            let seq = &self.running[i];
            let needed = model.blocks_needed(&[(seq.id, seq.pending().len())])?;
            if granted + needed <= model.pool().num_free() {
                granted += needed;
                i += 1;
            } else if let Some(newest) = self.running.pop() {
                self.preempt(newest, model)?;
            }
        }
        Ok(granted)
    }
    // ANCHOR_END: grow

    /// Move waiting sequences to running, in order, while their blocks are free beyond the
    /// `granted` ones: a swapped sequence is copied back in; a new or recomputed one will
    /// prefill every token it has.
    fn admit<M: PagedFamily<Float = F>>(&mut self, model: &mut PagedModel<M>, mut granted: usize) -> Result<(), SchedulerError> {
        while self.running.len() < self.options.max_batch {
            let Some(next) = self.waiting.front() else { break };
            let needed = model.pool().blocks_for(next.tokens.len());
            if granted + needed > model.pool().num_free() {
                break; // first come, first served: nobody overtakes the head of the queue
            }
            let Some(mut seq) = self.waiting.pop_front() else { break };
            match seq.swapped.take() {
                Some(swapped) => {
                    self.stats.bytes_swapped_in += swapped.bytes();
                    seq.cached = swapped.len();
                    swap_in(model, seq.id, swapped)?;
                    // the blocks it took back are used now; what it grows by is granted
                    granted += needed - model.table(seq.id).map_or(0, |t| t.blocks().len());
                }
                None => {
                    model.add_sequence(seq.id)?;
                    self.stats.recomputed_tokens += std::mem::take(&mut seq.dropped);
                    granted += needed;
                }
            }
            self.running.push(seq);
        }
        Ok(())
    }

    // ANCHOR: preempt
    /// Take `seq`'s blocks back and queue it at the front of `waiting`.
    fn preempt<M: PagedFamily<Float = F>>(&mut self, mut seq: Sequence<F>, model: &mut PagedModel<M>) -> Result<(), SchedulerError> {
        self.stats.preemptions += 1;
        match self.options.preemption {
            Preemption::Recompute => {
                seq.dropped = seq.cached;
                model.release(seq.id)?;
            }
            Preemption::Swap => {
                let swapped = swap_out(model, seq.id)?;
                self.stats.bytes_swapped_out += swapped.bytes();
                seq.swapped = Some(swapped);
            }
        }
        seq.cached = 0;
        self.waiting.push_front(seq);
        Ok(())
    }
    // ANCHOR_END: preempt
}
