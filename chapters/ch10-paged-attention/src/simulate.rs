//! How much KV memory holds real tokens: a simulated workload served three ways.
//!
//! A server must keep each request's keys and values somewhere while it generates. Before
//! paging, systems reserved one contiguous region per request, sized ahead of time, because the
//! final length is not known until the model emits end-of-text:
//!
//! - **contiguous, to the context length**: every request gets room for the model's whole
//!   context (the simplest choice, and the worst);
//! - **contiguous, to max tokens**: room for `prompt + max_new_tokens`, the client's cap; the
//!   output usually stops earlier, and the unused tail stays reserved until the request ends;
//! - **paged**: blocks of `block_size` tokens, taken one at a time as tokens arrive; the only
//!   waste is the unfilled end of each request's last block.
//!
//! The workload is drawn from a seeded generator ([`shared::Rng`]) with the distributions
//! [`Workload`] states; the paged strategy runs through the chapter's real block pool
//! ([`crate::block_pool`]), so its figures are measured, not computed.

use crate::{BlockPool, BlockTable, PoolError};
use shared::Rng;

// ANCHOR: workload
/// The simulated traffic. Lengths in tokens. The defaults follow the means the vLLM paper
/// (Kwon et al., "Efficient Memory Management for Large Language Model Serving with
/// PagedAttention") reports for its ShareGPT trace: about 161 prompt tokens and 338 output
/// tokens per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// How many requests.
    pub n_requests: usize,
    /// The model's context length: what "contiguous to the context length" reserves.
    pub context_length: usize,
    /// Prompt lengths are uniform in `1..=2 * mean_prompt - 1` (mean `mean_prompt`).
    pub mean_prompt: usize,
    /// Every request asks for at most this many new tokens.
    pub max_new_tokens: usize,
    /// The output would run for an exponentially distributed number of tokens with this mean
    /// (the model reaches end-of-text at a random moment), cut at `max_new_tokens`; at least 1.
    pub mean_output: f64,
    /// The generator's seed: the same seed draws the same requests on every machine.
    pub seed: u64,
}

impl Default for Workload {
    fn default() -> Self {
        Workload { n_requests: 1000, context_length: 2048, mean_prompt: 161, max_new_tokens: 1024, mean_output: 338.0, seed: 10 }
    }
}

/// One request: what it asked for, and how long its output turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub prompt_len: usize,
    pub max_new_tokens: usize,
    /// Tokens actually generated (end-of-text came first, or `max_new_tokens` was reached).
    pub output_len: usize,
}

impl Request {
    /// Tokens whose keys and values the request holds at its end.
    pub fn len(&self) -> usize {
        self.prompt_len + self.output_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Draw the workload's requests.
pub fn draw_requests(workload: &Workload) -> Vec<Request> {
    let mut rng = Rng::new(workload.seed);
    (0..workload.n_requests)
        .map(|_| {
            let prompt_len = 1 + rng.below(2 * workload.mean_prompt.max(1) - 1);
            // inverse CDF of the exponential distribution: -mean * ln(1 - u), u in [0, 1)
            let wanted = (-workload.mean_output * (1.0 - rng.unit()).ln()).ceil() as usize;
            let output_len = wanted.clamp(1, workload.max_new_tokens);
            Request { prompt_len, max_new_tokens: workload.max_new_tokens, output_len }
        })
        .collect()
}
// ANCHOR_END: workload

/// Why a workload cannot be simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    #[error("invalid workload: {0}")]
    Workload(String),
    #[error(transparent)]
    Pool(#[from] PoolError),
}

impl Workload {
    /// Refuse a workload whose requests could not all fit the context, or that is empty.
    pub fn validate(&self) -> Result<(), SimulateError> {
        let bad = |m: String| Err(SimulateError::Workload(m));
        if self.n_requests == 0 {
            return bad("no requests".into());
        }
        if self.mean_prompt == 0 || self.max_new_tokens == 0 || self.mean_output.is_nan() || self.mean_output <= 0.0 {
            return bad("the mean prompt, the max new tokens and the mean output must be positive".into());
        }
        let longest = 2 * self.mean_prompt - 1 + self.max_new_tokens;
        if longest > self.context_length {
            return bad(format!("a request can reach {longest} tokens, beyond the context of {}", self.context_length));
        }
        Ok(())
    }
}

/// The three ways to reserve KV memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One contiguous region of `context_length` tokens per request.
    ContiguousContext,
    /// One contiguous region of `prompt + max_new_tokens` tokens per request.
    ContiguousMaxTokens,
    /// Blocks of `block_size` tokens from a shared pool, taken as tokens arrive.
    Paged,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::ContiguousContext, Strategy::ContiguousMaxTokens, Strategy::Paged];

    /// The name used in JSON and tables.
    pub fn key(self) -> &'static str {
        match self {
            Strategy::ContiguousContext => "contiguous_context",
            Strategy::ContiguousMaxTokens => "contiguous_max_tokens",
            Strategy::Paged => "paged",
        }
    }
}

/// One strategy's result on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyReport {
    pub strategy: Strategy,
    /// Tokens held at the end of every request, summed (the same for every strategy).
    pub tokens: usize,
    /// Token slots reserved for them, summed: what the memory holds room for.
    pub reserved: usize,
    /// How many requests, taken in order, fit the budget together at their final length.
    pub requests_fit: usize,
}

impl StrategyReport {
    /// The share of reserved KV memory that holds real tokens.
    pub fn utilization(&self) -> f64 {
        self.tokens as f64 / self.reserved as f64
    }
}

// ANCHOR: contiguous
/// A contiguous strategy: each request reserves `reserve(request)` token slots at admission and
/// keeps all of them until it ends.
fn contiguous(strategy: Strategy, requests: &[Request], reserve: impl Fn(&Request) -> usize, budget_tokens: usize) -> StrategyReport {
    let reservations: Vec<usize> = requests.iter().map(reserve).collect();
    // requests in order, until the next reservation would overflow the budget
    let mut used = 0;
    let requests_fit = reservations.iter().take_while(|&&n| {
        used += n;
        used <= budget_tokens
    });
    StrategyReport {
        strategy,
        tokens: requests.iter().map(Request::len).sum(),
        reserved: reservations.iter().sum(),
        requests_fit: requests_fit.count(),
    }
}
// ANCHOR_END: contiguous

// ANCHOR: paged
/// Serve `request` token by token through a block table: the table asks `pool` for a new block
/// whenever its last one is full. On `OutOfBlocks` the request's blocks go back to the pool.
fn grow_paged(pool: &mut BlockPool, request: &Request) -> Result<BlockTable, PoolError> {
    let mut table = BlockTable::new(pool.block_size())?;
    for _ in 0..request.len() {
        if let Err(e) = table.append(1, pool) {
            table.release(pool)?;
            return Err(e);
        }
    }
    Ok(table)
}

/// The paged strategy, run through a real [`BlockPool`]: the reserved slots are the blocks the
/// pool hands out, counted when every request has reached its final length.
fn paged(requests: &[Request], block_size: usize, context_length: usize, budget_tokens: usize) -> Result<StrategyReport, SimulateError> {
    // 1. every request at once, in a pool large enough for all of them at the context length
    let mut pool = BlockPool::new(requests.len() * context_length.div_ceil(block_size), block_size)?;
    let mut held = Vec::with_capacity(requests.len());
    for request in requests {
        held.push(grow_paged(&mut pool, request)?);
    }
    let reserved = pool.num_used() * block_size;
    for mut table in held {
        table.release(&mut pool)?;
    }
    // 2. a pool of the budget: admit requests in order until one cannot grow to its end
    let mut pool = BlockPool::new(budget_tokens / block_size, block_size)?;
    let mut requests_fit = 0;
    for request in requests {
        match grow_paged(&mut pool, request) {
            Ok(_) => requests_fit += 1,
            Err(PoolError::OutOfBlocks { .. }) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(StrategyReport { strategy: Strategy::Paged, tokens: requests.iter().map(Request::len).sum(), reserved, requests_fit })
}
// ANCHOR_END: paged

/// The whole study: draw the workload, serve it each way, with `budget_tokens` token slots of
/// KV memory for the "how many fit" count and blocks of `block_size` tokens for paging.
pub fn simulate(workload: &Workload, block_size: usize, budget_tokens: usize) -> Result<Vec<StrategyReport>, SimulateError> {
    workload.validate()?;
    let requests = draw_requests(workload);
    Ok(vec![
        contiguous(Strategy::ContiguousContext, &requests, |_| workload.context_length, budget_tokens),
        contiguous(Strategy::ContiguousMaxTokens, &requests, |r| r.prompt_len + r.max_new_tokens, budget_tokens),
        paged(&requests, block_size, workload.context_length, budget_tokens)?,
    ])
}
