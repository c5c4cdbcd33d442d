//! Bytes written into the cache per generated token: concatenating vs preallocated storage.
//!
//! `torch.cat`-style storage ([`CacheStorage::Concat`]) builds a new array at every step and
//! copies the whole cache into it: step `i` copies `prompt + i` positions, O(n) bytes per
//! token, O(n^2) for a generation. [`CacheStorage::Preallocated`] allocates the context once
//! and writes only the new position: O(1) bytes per token.

use crate::demo::error::DemoResult;
use ch04_gpt::{sample, NextToken, Sampling};
use ch08_kv_cache::{CacheStorage, KvModel, WithCaches};
use measure::progress::Progress;
use serde::Serialize;
use ch08_kv_cache::memory::short_bytes;
use shared::init;

/// The bytes one storage strategy copied during one generation.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyCount {
    pub storage: CacheStorage,
    /// Bytes copied at each step: step 0 feeds the prompt, step `i` the `i`-th new token.
    pub per_step_bytes: Vec<u64>,
}

/// The short name of a storage strategy, for tables, plots and progress.
pub fn storage_name(storage: CacheStorage) -> &'static str {
    match storage {
        CacheStorage::Concat => "concat",
        CacheStorage::Preallocated { .. } => "preallocated",
    }
}

impl CopyCount {
    pub fn name(&self) -> &'static str {
        storage_name(self.storage)
    }

    /// Bytes copied over the whole generation (prompt included).
    pub fn total_bytes(&self) -> u64 {
        self.per_step_bytes.iter().sum()
    }

    /// Total divided by the number of generated tokens.
    pub fn bytes_per_token(&self) -> f64 {
        self.total_bytes() as f64 / self.per_step_bytes.len().max(1) as f64
    }
}

/// The figures of the JSON output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopySummary {
    pub new_tokens: usize,
    pub concat_total: u64,
    pub concat_per_token: f64,
    pub preallocated_total: u64,
    pub preallocated_per_token: f64,
    /// Bytes copied at each step (step 0 = the prompt), to see O(n) against O(1).
    pub concat_per_step: Vec<u64>,
    pub preallocated_per_step: Vec<u64>,
}

/// The same model with an empty cache of another storage (the weights are moved, not copied).
pub fn with_storage<M: WithCaches>(model: KvModel<M>, storage: CacheStorage) -> KvModel<M> {
    KvModel::new(model.into_model(), storage)
}

/// Greedy-generate `new_tokens` after `prompt` the way `generate` does (the prompt at step 0,
/// then one token per step) and record [`KvModel::bytes_copied`] after every step.
pub fn count_copies<M: WithCaches<Float = f32>>(
    model: &mut KvModel<M>,
    prompt: &[u32],
    new_tokens: usize,
    progress: &Progress,
) -> DemoResult<Vec<u64>> {
    model.start()?;
    let mut rng = init::rng(0); // greedy never draws from it
    let mut tokens = prompt.to_vec();
    let mut per_step = Vec::with_capacity(new_tokens);
    let mut before = model.bytes_copied();
    for _ in 0..new_tokens {
        let logits = model.next_logits(&tokens)?; // feeds only what the cache has not seen
        let after = model.bytes_copied();
        per_step.push(after - before);
        before = after;
        tokens.push(sample(logits.view(), &Sampling::GREEDY, &mut rng)?);
        progress.inc(1);
    }
    Ok(per_step)
}

/// Count both strategies on `model` (returned with its original preallocated cache).
pub fn compare<M: WithCaches<Float = f32>>(
    model: KvModel<M>,
    prompt: &[u32],
    new_tokens: usize,
    progress: &Progress,
) -> DemoResult<(KvModel<M>, [CopyCount; 2])> {
    let capacity = model.model().context_length();
    let mut counts = Vec::new();
    let mut model = model;
    for storage in [CacheStorage::Concat, CacheStorage::Preallocated { capacity }] {
        progress.stage(format!("bytes copied by the {} cache", storage_name(storage)));
        model = with_storage(model, storage);
        let per_step_bytes = count_copies(&mut model, prompt, new_tokens, progress)?;
        let count = CopyCount { storage, per_step_bytes };
        progress.line(format!(
            "bytes copied by the {} cache over {new_tokens} tokens: {}",
            count.name(),
            short_bytes(count.total_bytes() as u128)
        ));
        counts.push(count);
    }
    let [concat, preallocated]: [CopyCount; 2] = counts.try_into().expect("two strategies");
    Ok((model, [concat, preallocated]))
}

/// The JSON figures of a [`compare`].
pub fn summary(counts: &[CopyCount; 2]) -> CopySummary {
    let [concat, pre] = counts;
    CopySummary {
        new_tokens: concat.per_step_bytes.len(),
        concat_total: concat.total_bytes(),
        concat_per_token: concat.bytes_per_token(),
        preallocated_total: pre.total_bytes(),
        preallocated_per_token: pre.bytes_per_token(),
        concat_per_step: concat.per_step_bytes.clone(),
        preallocated_per_step: pre.per_step_bytes.clone(),
    }
}

/// The table: totals, the mean per token, and single steps early and late in the generation.
pub fn table(counts: &[CopyCount; 2], prompt_len: usize) -> String {
    let n = counts[0].per_step_bytes.len();
    let mut steps = vec![1, 2, n / 2, n]; // which single steps to show
    steps.retain(|&s| s >= 1 && s <= n);
    steps.sort_unstable();
    steps.dedup();
    let mut out = format!(
        "Bytes copied into the cache (all layers, K and V) while generating {n} tokens after a \
         {prompt_len}-token prompt\n"
    );
    out += &format!("{:<13} {:>12} {:>14}", "storage", "total", "per token");
    for &s in &steps {
        let label = if s == 1 { "token 1 (prompt)".to_string() } else { format!("token {s}") };
        out += &format!(" {label:>17}");
    }
    out.push('\n');
    for c in counts {
        out += &format!(
            "{:<13} {:>12} {:>14}",
            c.name(),
            short_bytes(c.total_bytes() as u128),
            short_bytes(c.bytes_per_token().round() as u128)
        );
        for &s in &steps {
            out += &format!(" {:>17}", short_bytes(c.per_step_bytes[s - 1] as u128));
        }
        out.push('\n');
    }
    let (concat, pre) = (&counts[0].per_step_bytes, &counts[1].per_step_bytes);
    if n >= 2 {
        out += &format!(
            "concat re-copies the whole cache at every step: {} at token 2, {} at token {n} (O(n) per token).\n\
             preallocated writes only the new position: {} at every step after the prompt (O(1) per token).\n",
            short_bytes(concat[1] as u128),
            short_bytes(concat[n - 1] as u128),
            short_bytes(pre[n - 1] as u128),
        );
    }
    out
}
