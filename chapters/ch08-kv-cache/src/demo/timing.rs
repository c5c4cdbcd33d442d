//! The experiment of seed 000: generate N tokens without the cache and with it, for several N.
//!
//! Without the cache, step `i` runs the model over all `prompt + i` tokens: the work of a
//! whole generation grows like N^2. With it, each step feeds one token: the work grows like N
//! (plus attention over the cache, which is small next to the weights for short contexts).
//! So the speedup itself grows with N.

use crate::demo::error::DemoResult;
use crate::kv_gpt::KvGpt;
use ch04_gpt::GenerateOptions;
use indicatif::ProgressBar;
use serde::Serialize;

/// One length of the timing table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingRow {
    /// Tokens generated after the prompt.
    pub new_tokens: usize,
    /// Wall time of the whole generation without the cache, seconds.
    #[serde(rename = "uncached_s")]
    pub uncached_secs: f64,
    /// Wall time of the whole generation with the cache (prompt included), seconds.
    #[serde(rename = "cached_s")]
    pub cached_secs: f64,
    pub speedup: f64,
    pub uncached_tokens_per_s: f64,
    pub cached_tokens_per_s: f64,
    /// Did both generate the same tokens? (They must: the cache only skips recomputation.)
    pub same_tokens: bool,
}

impl TimingRow {
    pub fn new(new_tokens: usize, uncached_secs: f64, cached_secs: f64, same_tokens: bool) -> Self {
        TimingRow {
            new_tokens,
            uncached_secs,
            cached_secs,
            speedup: uncached_secs / cached_secs,
            uncached_tokens_per_s: new_tokens as f64 / uncached_secs,
            cached_tokens_per_s: new_tokens as f64 / cached_secs,
            same_tokens,
        }
    }
}

/// Time a generation of every length in `lengths`, first without then with the cache.
///
/// `options.max_new_tokens` is replaced by each length and `eos_token_id` is ignored, so every
/// run generates exactly the tokens asked for. `progress` advances by one per generated token.
pub fn time_lengths(
    model: &mut KvGpt<f32>,
    prompt: &[u32],
    lengths: &[usize],
    options: &GenerateOptions,
    progress: &ProgressBar,
) -> DemoResult<Vec<TimingRow>> {
    let mut rows = Vec::with_capacity(lengths.len());
    for &n in lengths {
        let opts = GenerateOptions { max_new_tokens: n, eos_token_id: None, ..options.clone() };
        let tick = |_| {
            progress.inc(1);
            Ok(())
        };
        progress.set_message(format!("{n} tokens without the cache"));
        let uncached = model.generate(prompt, &opts, false, tick)?;
        progress.set_message(format!("{n} tokens with the cache"));
        let cached = model.generate(prompt, &opts, true, tick)?;
        rows.push(TimingRow::new(
            n,
            uncached.total_time.as_secs_f64(),
            cached.total_time.as_secs_f64(),
            uncached.new_ids == cached.new_ids,
        ));
    }
    Ok(rows)
}

/// The table: one row per length, units in the header.
pub fn table(rows: &[TimingRow], prompt_len: usize) -> String {
    let mut out = format!(
        "Generation time after a {prompt_len}-token prompt (wall time of the whole generation, prompt included)\n"
    );
    out += &format!(
        "{:>10} {:>14} {:>12} {:>9} {:>18} {:>16} {:>6}\n",
        "new tokens", "no cache (s)", "cache (s)", "speedup", "no cache (tok/s)", "cache (tok/s)", "same"
    );
    for r in rows {
        out += &format!(
            "{:>10} {:>14.3} {:>12.3} {:>8.1}x {:>18.1} {:>16.1} {:>6}\n",
            r.new_tokens,
            r.uncached_secs,
            r.cached_secs,
            r.speedup,
            r.uncached_tokens_per_s,
            r.cached_tokens_per_s,
            if r.same_tokens { "yes" } else { "NO" }
        );
    }
    out
}
