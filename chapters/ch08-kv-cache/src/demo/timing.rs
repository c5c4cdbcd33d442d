//! The classic experiment: generate N tokens without the cache and with it, for several N.
//!
//! Without the cache, step `i` runs the model over all `prompt + i` tokens: the work of a
//! whole generation grows like N^2. With it, each step feeds one token: the work grows like N
//! (plus attention over the cache, which is small next to the weights for short contexts).
//! So the speedup itself grows with N. Each length runs several times and the table shows the
//! median, so one noisy run cannot hide the growth.

use crate::demo::error::DemoResult;
use ch04_gpt::GenerateOptions;
use ch08_kv_cache::{KvModel, WithCaches};
use measure::progress::Progress;
use measure::stats;
use serde::Serialize;

/// One length of the timing table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingRow {
    /// Tokens generated after the prompt.
    pub new_tokens: usize,
    /// Wall time of the whole generation without the cache, seconds (median of the runs).
    #[serde(rename = "uncached_s")]
    pub uncached_secs: f64,
    /// Wall time of the whole generation with the cache (prompt included), seconds (median).
    #[serde(rename = "cached_s")]
    pub cached_secs: f64,
    /// Every run, seconds.
    pub uncached_s_runs: Vec<f64>,
    pub cached_s_runs: Vec<f64>,
    pub speedup: f64,
    pub uncached_tokens_per_s: f64,
    pub cached_tokens_per_s: f64,
    /// Did both generate the same tokens? (They must: the cache only skips recomputation.)
    pub same_tokens: bool,
}

impl TimingRow {
    /// The row of one length from the seconds of every run (medians).
    pub fn new(new_tokens: usize, uncached_s_runs: Vec<f64>, cached_s_runs: Vec<f64>, same_tokens: bool) -> Self {
        let (uncached_secs, cached_secs) = (stats::median(&uncached_s_runs), stats::median(&cached_s_runs));
        TimingRow {
            new_tokens,
            uncached_secs,
            cached_secs,
            uncached_s_runs,
            cached_s_runs,
            speedup: uncached_secs / cached_secs,
            uncached_tokens_per_s: new_tokens as f64 / uncached_secs,
            cached_tokens_per_s: new_tokens as f64 / cached_secs,
            same_tokens,
        }
    }
}

/// Time a generation of every length in `lengths` `runs` times, each run first without then
/// with the cache.
///
/// `options.max_new_tokens` is replaced by each length and `eos_token_id` is ignored, so every
/// run generates exactly the tokens asked for. `progress` advances by one per generated token
/// and gets a line per length.
pub fn time_lengths<M: WithCaches<Float = f32> + Send>(
    model: &mut KvModel<M>,
    prompt: &[u32],
    lengths: &[usize],
    runs: usize,
    options: &GenerateOptions,
    progress: &Progress,
) -> DemoResult<Vec<TimingRow>> {
    let mut rows = Vec::with_capacity(lengths.len());
    for &n in lengths {
        let opts = GenerateOptions { max_new_tokens: n, eos_token_id: None, ..options.clone() };
        let tick = |_| {
            progress.inc(1);
            Ok(())
        };
        let (mut uncached_s, mut cached_s, mut same) = (Vec::new(), Vec::new(), true);
        for run in 1..=runs {
            progress.stage(format!("{n} tokens without the cache, run {run} of {runs}"));
            let uncached = model.generate(prompt, &opts, false, tick)?;
            progress.stage(format!("{n} tokens with the cache, run {run} of {runs}"));
            let cached = model.generate(prompt, &opts, true, tick)?;
            uncached_s.push(uncached.total_time.as_secs_f64());
            cached_s.push(cached.total_time.as_secs_f64());
            same &= uncached.new_ids == cached.new_ids;
        }
        let row = TimingRow::new(n, uncached_s, cached_s, same);
        progress.line(format!(
            "{n:>5} new tokens: {:.3} s without the cache, {:.3} s with it ({:.1}x, median of {runs})",
            row.uncached_secs, row.cached_secs, row.speedup
        ));
        rows.push(row);
    }
    Ok(rows)
}

/// The table: one row per length, units in the header.
pub fn table(rows: &[TimingRow], prompt_len: usize) -> String {
    let runs = rows.first().map_or(0, |r| r.cached_s_runs.len());
    let mut out = format!(
        "Generation time after a {prompt_len}-token prompt (wall time of the whole generation, prompt included; median of {runs} runs)\n"
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
