//! The benchmark: how close does a model's decode and prefill come to the machine's limits?
//!
//! `cargo run --release -p bench` runs it (chapter 8's `bench` subcommand is an alias with the
//! same options and the same `--json`). The model is anything that implements [`Decoder`]:
//! greedy generation with and without its KV cache, and a prefill.
//!
//! In one run it measures
//!
//! 1. memory read bandwidth ([`bandwidth`]) and fp32 matrix-multiply speed ([`sgemm`]);
//! 2. cached greedy decode, tokens/s after prompts of several lengths (median of `--runs`);
//! 3. uncached decode, the same way but for a shorter generation;
//! 4. the prefill of a `--prefill-len` prompt: seconds and GFLOP/s ([`flops::prefill_flops`]);
//!
//! and compares: decode against the **roofline** `bandwidth / weight bytes per token` (at batch
//! 1 every token reads every weight once, so memory, not arithmetic, sets the pace), and
//! prefill against the sgemm peak (a prefill is matrix multiplies, limited by arithmetic).
//!
//! Decode tokens/s = `(new tokens - 1) / (total time - time to the first token)`: the rate of
//! the one-token steps, without the prompt's processing (which is what prefill measures).
//!
//! The machine may be shared, and its memory bandwidth changes from minute to minute. So the
//! bandwidth probe is read again right before every cached decode run, and the roofline uses
//! the **median** of all those passes: a median decode rate against a median bandwidth taken
//! in the same minutes. The best pass is reported too.
//!
//! Before any of that (and before the 1 GiB probe exists), one cached generation runs with the
//! peak resident memory reset: its peak is what decoding needs, against the weights plus the
//! KV cache ([`rss`]).

use crate::bandwidth::{Bandwidth, Probe};
use crate::cli::{parse_lengths, Lengths, Preset};
use crate::error::{MeasureError, MeasureResult};
use crate::machine::{self, Kernels};
use crate::output::say;
use crate::progress::Progress;
use crate::gemv_probe::{self, GemvProbe};
use crate::sgemm::{self, GemmResult};
use crate::{flops, rss, stats};
use clap::Args;
use serde::Serialize;
use crate::flops::ModelShape;
use std::time::{Duration, Instant};

/// A model the benchmark can measure: greedy generation with and without a KV cache, and a
/// prefill. The `bench` tool adapts chapter 8's cached models to this (`KvGpt`, `KvDecoder`).
pub trait Decoder {
    /// The model's shape (parameters, layers, context).
    fn shape(&self) -> &ModelShape;
    /// Generate exactly `new_tokens` tokens greedily after `prompt` (no stop at end-of-text),
    /// with or without the cache, from an empty cache.
    fn generate(&mut self, prompt: &[u32], new_tokens: usize, use_cache: bool) -> shared::Result<DecodeRun>;
    /// Empty the cache, then run one forward pass over `prompt` that fills it and computes
    /// the logits of the last position (what generation needs next).
    fn prefill(&mut self, prompt: &[u32]) -> shared::Result<()>;
    /// Bytes the KV cache has allocated now (keys and values, all layers).
    fn kv_cache_allocated_bytes(&self) -> u64;
}

/// The timing of one generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeRun {
    pub new_tokens: usize,
    /// Wall time of the whole generation, prompt included.
    pub total: Duration,
    /// Wall time until the first new token existed (the prompt's prefill plus one step).
    pub first_token: Duration,
}

/// The benchmark's options (`bench --help`).
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Model shape (random weights): `124m` is GPT-2 small (12 layers, 768 wide), `small`
    /// is 4 layers, 256 wide, with GPT-2's vocabulary; `smollm2-135m` is SmolLM2-135M's Llama
    /// shape (30 layers, 576 wide, 9 query heads over 3 key/value heads, tied embeddings).
    #[arg(long, value_enum, default_value_t = Preset::Gpt2_124m, conflicts_with = "model")]
    pub config: Preset,

    /// Prompt lengths, in tokens, after which decode speed is measured, comma separated.
    #[arg(long, value_name = "N,N,...", default_value = "8,512", value_parser = parse_lengths)]
    pub prompt_len: Lengths,

    /// Tokens generated WITH the cache after each prompt (decode speed = tokens/s after the
    /// first token).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub new_tokens: usize,

    /// Tokens generated WITHOUT the cache after each prompt: fewer, because every step
    /// recomputes the whole sequence (the reported rate is for this shorter generation).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub uncached_new_tokens: usize,

    /// Prompt length, in tokens, of the prefill measurement (one forward pass over the prompt).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub prefill_len: usize,

    /// Repetitions of every decode and prefill measurement; the report gives the median.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub runs: usize,

    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,

    /// The matrix-multiply kernel of f32 prefill (`shared::matmul_t`): the one chosen for this
    /// CPU unless given, `matrixmultiply` (the plain path) or `gemm`, to compare the two.
    #[arg(long, value_enum, value_name = "KERNEL")]
    pub gemm: Option<shared::matmul::GemmKernel>,

    /// The SIMD tier of decode's dot products: unless given, the widest this CPU has (AVX2 on
    /// AMD Zen 4, which runs AVX-512 in 256-bit halves and streams f32 weights slower with it);
    /// `avx512`, `avx2` or `portable` uses that tier, or the widest below it the CPU has, to
    /// compare tiers side by side. The x86 tiers give the same bits; `portable` sums in
    /// another order.
    #[arg(long, value_parser = parse_simd_tier, value_name = "TIER")]
    pub simd: Option<shared::simd_tier::SimdTier>,

    /// Whether decode's dot products ask for weights 4 KiB ahead of the row they read
    /// (`shared::prefetch`): unless given, on for Intel CPUs (whose prefetchers stop at every
    /// 4 KiB) and off elsewhere; `on` or `off` forces it, to compare the two side by side.
    /// Results are the same bits either way.
    #[arg(long, value_enum, value_name = "ON|OFF")]
    pub prefetch: Option<Switch>,

    /// Whether weights (and the probes' buffers, so that the roofline is measured alike) ask
    /// Linux for 2 MiB transparent huge pages (`shared::huge_pages`): `on` (the default) or
    /// `off`, the 4 KiB pages of a program that does not ask, to compare the two.
    #[arg(long, value_enum, value_name = "ON|OFF", default_value_t = Switch::On)]
    pub huge_pages: Switch,

    /// --model: a Hugging Face folder to measure instead of random weights
    /// (`tools/bench-vs-pytorch.py` passes the weights it times PyTorch on); --seed: of the
    /// random weights and prompts. The same options, ranges and messages as every binary.
    #[command(flatten)]
    pub model: shared::cli::ModelArgs,

    /// How the weight matrices are held in memory: `f32`, or `bf16`/`f16`, 2 bytes a weight,
    /// widened to f32 inside the decode kernel. Random weights (`--config`) are f32 unless
    /// given (bf16/f16: rounded to nearest); a `--model` folder runs as stored unless given
    /// (`f32` widens a 16-bit checkpoint).
    #[arg(long, value_enum, value_name = "DTYPE")]
    pub weights: Option<shared::cli::Weights>,

    /// Size of the buffer the bandwidth probe reads, in MiB (bigger than every cache).
    #[arg(long, value_name = "MIB", default_value_t = 1024, hide = true)]
    pub bandwidth_mib: usize,
}

/// `--huge-pages`'s value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// `--simd`'s value: `avx512`, `avx2` or `portable`.
fn parse_simd_tier(name: &str) -> Result<shared::simd_tier::SimdTier, String> {
    shared::simd_tier::SimdTier::from_name(name).ok_or_else(|| format!("unknown SIMD tier `{name}`: avx512, avx2 or portable"))
}

impl BenchArgs {
    /// Apply `--gemm`, `--simd`, `--prefetch` and `--huge-pages` to everything this process does later: call
    /// it before the model's weights are made.
    pub fn choose_kernels(&self) {
        shared::huge_pages::set_huge_pages(self.huge_pages == Switch::On);
        if let Some(kernel) = self.gemm {
            shared::matmul::set_f32_gemm_kernel(kernel);
        }
        if let Some(tier) = self.simd {
            shared::simd_tier::use_simd_tier(tier);
        }
        if let Some(prefetch) = self.prefetch {
            shared::prefetch::use_prefetch(prefetch == Switch::On);
        }
    }

    /// What the report's `config` names: the model folder, or the preset.
    pub fn model_label(&self) -> String {
        match &self.model.model {
            Some(dir) => dir.display().to_string(),
            None => self.config.name().to_string(),
        }
    }
}

/// Bandwidth passes over the buffer at the start, and again before every cached decode run;
/// sgemm repetitions per shape.
const BANDWIDTH_PASSES: usize = 7;
const BANDWIDTH_PASSES_PER_RUN: usize = 2;
/// Below this, the probe's buffer may fit in a large CPU cache (hundreds of MiB of L3 exist).
const SMALLEST_DRAM_BUFFER: usize = 512 << 20;
const SGEMM_REPEATS: usize = 8;

/// Decode speed after one prompt length.
#[derive(Debug, Clone, Serialize)]
pub struct DecodeRow {
    pub prompt_len: usize,
    pub cached_new_tokens: usize,
    /// Median over the runs, and every run.
    pub cached_tokens_per_s: f64,
    pub cached_tokens_per_s_runs: Vec<f64>,
    /// Median time to the first token (the prompt's prefill plus one step), seconds.
    pub cached_first_token_secs: f64,
    pub uncached_new_tokens: usize,
    pub uncached_tokens_per_s: f64,
    pub uncached_tokens_per_s_runs: Vec<f64>,
    /// Bandwidth / (weight bytes + KV cache bytes at the mean sequence length of the run).
    pub roofline_with_cache_tokens_per_s: f64,
    /// `cached_tokens_per_s / roofline_tokens_per_s` (weights only).
    pub cached_vs_roofline: f64,
    pub cached_vs_uncached: f64,
}

/// The prefill measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Prefill {
    pub tokens: usize,
    pub flops: f64,
    pub median_secs: f64,
    pub secs_runs: Vec<f64>,
    /// `flops / median_secs / 1e9`.
    pub gflops: f64,
    pub best_gflops: f64,
}

/// Everything `bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub config: String,
    pub n_layers: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub context_length: usize,
    pub vocab_size: usize,
    pub n_params: usize,
    pub threads: usize,
    /// The CPU model name (`/proc/cpuinfo`), so figures never travel without their machine.
    pub cpu: String,
    /// The kernels chosen at run time for this CPU.
    pub kernels: Kernels,
    /// How the weight matrices are held in memory (`f32`, `bf16`, `f16`).
    pub weights: &'static str,
    /// Whether weights and probes asked for 2 MiB pages (`--huge-pages`), and how much of the
    /// process the kernel had put on them once the model was made (`AnonHugePages`).
    pub huge_pages: HugePages,
    pub runs: usize,
    /// Median pass of the bandwidth probe, GB/s (10^9 bytes/s): the roofline's bandwidth.
    pub bandwidth_gbps: f64,
    /// Best pass, GB/s.
    pub bandwidth_best_gbps: f64,
    pub bandwidth: Bandwidth,
    pub sgemm: Vec<GemmResult>,
    /// Best GFLOP/s over the sgemm shapes.
    pub sgemm_peak_gflops: f64,
    /// `4 x params_read_per_token` ([`ModelShape`]): bytes of fp32 weights each decoded token
    /// reads (every block, the final norm, the LM head; a tied head once).
    pub weight_bytes_per_token: f64,
    /// `bandwidth_gbps x 1e9 / weight_bytes_per_token` (median bandwidth).
    pub roofline_tokens_per_s: f64,
    /// The same with the best bandwidth pass.
    pub roofline_best_tokens_per_s: f64,
    /// Median cached decode rate after the first (shortest) prompt length.
    pub cached_tokens_per_s: f64,
    /// Median uncached decode rate after the first prompt length (shorter generation).
    pub uncached_tokens_per_s: f64,
    pub cached_vs_roofline: f64,
    /// `cached_tokens_per_s / roofline_best_tokens_per_s`.
    pub cached_vs_roofline_best: f64,
    pub decode: Vec<DecodeRow>,
    /// Decode's f32 matrix x vector alone beside a plain read, on all threads and on one
    /// ([`gemv_probe`]): where a step's time goes.
    pub gemv_probe: GemvProbe,
    pub memory: Memory,
    pub prefill: Prefill,
    pub prefill_gflops: f64,
    pub prefill_vs_sgemm_peak: f64,
    pub formulas: Formulas,
}

/// `--huge-pages` and what the kernel granted (`shared::huge_pages`).
#[derive(Debug, Clone, Serialize)]
pub struct HugePages {
    /// `--huge-pages on`.
    pub asked: bool,
    /// Bytes of the process on transparent huge pages right after the model was made
    /// (`/proc/self/smaps_rollup`; `None` where there is no such file).
    pub bytes_after_load: Option<u64>,
}

/// Resident memory of a cached generation against what it must hold.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// `4 x` the parameters the model stores (the tied LM head once).
    pub weights_bytes: u64,
    /// Keys and values allocated by the preallocated caches (room for the whole context).
    pub kv_cache_bytes: u64,
    /// Peak resident size of the process while the model was built or loaded.
    pub peak_rss_build_bytes: Option<u64>,
    /// Peak resident size during one cached generation (peak reset after the build).
    pub peak_rss_decode_bytes: Option<u64>,
    /// `peak_rss_decode_bytes / (weights_bytes + kv_cache_bytes)`.
    pub peak_rss_decode_vs_needed: Option<f64>,
    /// The generation it measured: prompt tokens and new tokens.
    pub prompt_len: usize,
    pub new_tokens: usize,
}

/// How the derived numbers are computed (also in the JSON, so it explains itself).
#[derive(Debug, Clone, Serialize)]
pub struct Formulas {
    pub decode_tokens_per_s: &'static str,
    pub roofline_tokens_per_s: &'static str,
    pub prefill_flops: &'static str,
}

const FORMULAS: Formulas = Formulas {
    decode_tokens_per_s: "(new_tokens - 1) / (total_secs - first_token_secs), median of runs",
    roofline_tokens_per_s: "median bandwidth bytes/s / (4 x params read per token: every block, the final norm, the LM head (a tied head once), one embedding row, GPT-2's position table); the bandwidth passes are taken at the start and before every cached run",
    prefill_flops: "2 x non-embedding params x T + n_layers x 4 x T^2 x n_heads x head_dim + 2 x d_model x vocab",
};

/// Refuse settings that cannot be measured, before anything slow starts.
pub fn validate(args: &BenchArgs, config: &ModelShape) -> MeasureResult<()> {
    let bad = |m: String| Err(MeasureError::Usage(m));
    if args.runs == 0 {
        return bad("--runs must be at least 1".into());
    }
    if args.bandwidth_mib == 0 {
        return bad("--bandwidth-mib must be at least 1 (and bigger than the CPU caches to measure memory)".into());
    }
    if args.new_tokens < 2 || args.uncached_new_tokens < 2 {
        return bad("--new-tokens and --uncached-new-tokens must be at least 2 (the rate is measured after the first token)".into());
    }
    let longest = args.prompt_len.0.iter().max().copied().unwrap_or(0) + args.new_tokens.max(args.uncached_new_tokens);
    if longest > config.context_length {
        return bad(format!(
            "the longest prompt + new tokens = {longest} tokens does not fit the context of {} tokens",
            config.context_length
        ));
    }
    if args.prefill_len == 0 || args.prefill_len > config.context_length {
        return bad(format!("--prefill-len must be between 1 and the context, {}", config.context_length));
    }
    Ok(())
}

/// A fixed pseudo-random prompt (the weights are random too: only the count matters).
fn prompt(len: usize, vocab: usize, seed: u64) -> Vec<u32> {
    (0..len).map(|i| ((i as u64 * 7919 + seed * 104_729 + 13) % vocab as u64) as u32).collect()
}

/// New tokens per second after the first (see the module documentation).
pub fn decode_tokens_per_s(g: &DecodeRun) -> f64 {
    let n = g.new_tokens;
    let secs = g.total.saturating_sub(g.first_token).as_secs_f64();
    if n < 2 || secs <= 0.0 {
        return n as f64 / g.total.as_secs_f64().max(1e-12);
    }
    (n - 1) as f64 / secs
}

/// Run the benchmark on `model` and print the table (or JSON). `name` says in the header
/// which model this is (`gpt2-124m, random weights`, a folder).
pub fn run(args: &BenchArgs, model: &mut dyn Decoder, name: &str, weights: shared::cli::Weights) -> MeasureResult<()> {
    let config = model.shape().clone();
    validate(args, &config)?;
    args.choose_kernels(); // before anything is timed
    let huge_pages = HugePages { asked: args.huge_pages == Switch::On, bytes_after_load: shared::huge_pages::anon_huge_page_bytes() };
    let human = !args.json;
    if human {
        say(format!(
            "Benchmark of {} ({} layers, d_model {}, {:.1}M parameters) on {} threads\n",
            name,
            config.n_layers,
            config.d_model,
            config.n_params as f64 / 1e6,
            rayon::current_num_threads()
        ))?;
        say(format!(
            "Measuring peak memory, memory bandwidth ({} MiB buffer, again before every cached run), sgemm, decode and prefill...",
            args.bandwidth_mib
        ))?;
    }
    let kv = model;
    let steps = (args.runs * (2 * args.prompt_len.0.len() + 1) + 1) as u64;
    let bar = Progress::new(steps, "runs", args.json);
    let memory = measure_memory(kv, &config, args, &bar, weights.bytes())?;

    bar.stage("memory bandwidth and sgemm");
    let mut probe = Probe::new(args.bandwidth_mib * 1024 * 1024);
    probe.read(BANDWIDTH_PASSES);
    let gemms: Vec<GemmResult> = sgemm::SHAPES.iter().map(|&s| sgemm::measure(s, SGEMM_REPEATS)).collect();
    let sgemm_peak_gflops = stats::max(&gemms.iter().map(|g| g.best_gflops).collect::<Vec<_>>());
    let weight_bytes = flops::weight_bytes_per_token_at(&config, weights.bytes());

    let decode = args
        .prompt_len
        .0
        .iter()
        .map(|&len| measure_decode(kv, &config, args, len, &mut probe, &bar))
        .collect::<MeasureResult<Vec<_>>>()?;
    let bw = probe.summary();
    drop(probe); // free the probe's buffer before the next
    bar.stage("decode's matrix x vector alone");
    let probe_bytes = (weight_bytes as usize).clamp(4 << 20, 1 << 30);
    let gemv_probe = gemv_probe::measure(probe_bytes, config.d_model, args.runs)?;
    let roofline = bw.median_gbps * 1e9 / weight_bytes;
    let roofline_best = bw.best_gbps * 1e9 / weight_bytes;
    let decode: Vec<DecodeRow> = decode.into_iter().map(|d| d.with_roofline(&config, bw.median_gbps, roofline, weight_bytes)).collect();
    let prefill = measure_prefill(kv, &config, args, &bar)?;
    bar.finish();

    let report = BenchReport {
        config: args.model_label(),
        n_layers: config.n_layers,
        d_model: config.d_model,
        n_heads: config.n_heads,
        context_length: config.context_length,
        vocab_size: config.vocab_size,
        n_params: config.n_params,
        threads: rayon::current_num_threads(),
        cpu: machine::cpu_model(),
        kernels: machine::kernels(),
        weights: weights.name(),
        huge_pages,
        runs: args.runs,
        bandwidth_gbps: bw.median_gbps,
        bandwidth_best_gbps: bw.best_gbps,
        bandwidth: bw,
        sgemm_peak_gflops,
        sgemm: gemms,
        weight_bytes_per_token: weight_bytes,
        roofline_tokens_per_s: roofline,
        roofline_best_tokens_per_s: roofline_best,
        cached_tokens_per_s: decode[0].cached_tokens_per_s,
        uncached_tokens_per_s: decode[0].uncached_tokens_per_s,
        cached_vs_roofline: decode[0].cached_tokens_per_s / roofline,
        cached_vs_roofline_best: decode[0].cached_tokens_per_s / roofline_best,
        prefill_gflops: prefill.gflops,
        prefill_vs_sgemm_peak: prefill.gflops / sgemm_peak_gflops,
        decode,
        gemv_probe,
        memory,
        prefill,
        formulas: FORMULAS,
    };
    if human {
        say(table(&report))
    } else {
        let json = serde_json::to_string_pretty(&report).map_err(|e| MeasureError::Usage(e.to_string()))?;
        say(json)
    }
}

/// Cached and uncached decode after a `prompt_len`-token prompt, `args.runs` times each, with
/// bandwidth passes right before every cached run. The roofline columns are filled in later
/// ([`DecodeRow::with_roofline`]), once every bandwidth pass is in.
fn measure_decode(
    kv: &mut dyn Decoder,
    config: &ModelShape,
    args: &BenchArgs,
    prompt_len: usize,
    probe: &mut Probe,
    bar: &Progress,
) -> MeasureResult<DecodeRow> {
    let ids = prompt(prompt_len, config.vocab_size, args.model.seed);
    let mut cached = Vec::new();
    let mut first_token = Vec::new();
    let mut uncached = Vec::new();
    for run in 1..=args.runs {
        bar.stage(format!("prompt {prompt_len}: cached run {run}"));
        probe.read(BANDWIDTH_PASSES_PER_RUN);
        let g = kv.generate(&ids, args.new_tokens, true)?;
        cached.push(decode_tokens_per_s(&g));
        first_token.push(g.first_token.as_secs_f64());
        bar.inc(1);
        bar.stage(format!("prompt {prompt_len}: uncached run {run}"));
        let g = kv.generate(&ids, args.uncached_new_tokens, false)?;
        uncached.push(decode_tokens_per_s(&g));
        bar.inc(1);
    }
    let (c, u) = (stats::median(&cached), stats::median(&uncached));
    bar.line(format!("prompt {prompt_len}: cached {c:.1} tok/s, uncached {u:.2} tok/s (medians of {} runs)", args.runs));
    Ok(DecodeRow {
        prompt_len,
        cached_new_tokens: args.new_tokens,
        cached_tokens_per_s: c,
        cached_tokens_per_s_runs: cached,
        cached_first_token_secs: stats::median(&first_token),
        uncached_new_tokens: args.uncached_new_tokens,
        uncached_tokens_per_s: u,
        uncached_tokens_per_s_runs: uncached,
        roofline_with_cache_tokens_per_s: f64::NAN,
        cached_vs_roofline: f64::NAN,
        cached_vs_uncached: c / u,
    })
}

impl DecodeRow {
    /// Fill in the roofline columns from the bandwidth (GB/s) and the weights-only roofline.
    fn with_roofline(mut self, config: &ModelShape, bandwidth_gbps: f64, roofline: f64, weight_bytes: f64) -> Self {
        let mean_seq = self.prompt_len + self.cached_new_tokens / 2;
        let bytes = weight_bytes + flops::kv_bytes_read(config, mean_seq);
        self.roofline_with_cache_tokens_per_s = bandwidth_gbps * 1e9 / bytes;
        self.cached_vs_roofline = self.cached_tokens_per_s / roofline;
        self
    }
}

/// One cached generation (the longest prompt, `args.new_tokens` new tokens) with the peak
/// resident size reset first: the memory decoding holds, against weights + KV cache.
fn measure_memory(kv: &mut dyn Decoder, config: &ModelShape, args: &BenchArgs, bar: &Progress, weight_bytes: usize) -> MeasureResult<Memory> {
    let prompt_len = args.prompt_len.0.iter().max().copied().unwrap_or(1);
    bar.stage(format!("peak memory of a cached generation after {prompt_len} tokens"));
    let peak_rss_build_bytes = rss::peak_bytes();
    let reset = rss::reset_peak();
    let ids = prompt(prompt_len, config.vocab_size, args.model.seed);
    kv.generate(&ids, args.new_tokens, true)?;
    let peak_rss_decode_bytes = if reset { rss::peak_bytes() } else { None };
    let weights_bytes = (weight_bytes * config.n_params) as u64;
    let kv_cache_bytes = kv.kv_cache_allocated_bytes();
    bar.inc(1);
    Ok(Memory {
        weights_bytes,
        kv_cache_bytes,
        peak_rss_build_bytes,
        peak_rss_decode_bytes,
        peak_rss_decode_vs_needed: peak_rss_decode_bytes.map(|p| p as f64 / (weights_bytes + kv_cache_bytes) as f64),
        prompt_len,
        new_tokens: args.new_tokens,
    })
}

/// One forward pass over a `prefill_len` prompt, filling the cache, `args.runs` times.
fn measure_prefill(kv: &mut dyn Decoder, config: &ModelShape, args: &BenchArgs, bar: &Progress) -> MeasureResult<Prefill> {
    let ids = prompt(args.prefill_len, config.vocab_size, args.model.seed + 1);
    let mut secs = Vec::new();
    for run in 1..=args.runs {
        bar.stage(format!("prefill {} tokens: run {run}", args.prefill_len));
        let start = Instant::now();
        kv.prefill(&ids)?;
        secs.push(start.elapsed().as_secs_f64());
        bar.inc(1);
    }
    let flops = flops::prefill_flops(config, args.prefill_len);
    let median_secs = stats::median(&secs);
    Ok(Prefill {
        tokens: args.prefill_len,
        flops,
        median_secs,
        gflops: flops / median_secs / 1e9,
        best_gflops: flops / stats::min(&secs) / 1e9,
        secs_runs: secs,
    })
}

/// The human-readable report.
pub fn table(r: &BenchReport) -> String {
    let mut out = String::new();
    let bw = &r.bandwidth;
    out += "Machine\n";
    out += &format!("  CPU                     {}\n", r.cpu);
    out += &format!("  kernels                 {} (weights {})\n", r.kernels, r.weights);
    out += &format!(
        "  2 MiB pages             {} (--huge-pages {}): the kernel holds {} of the process on them once the model is made ({:.1} MB of weights)\n",
        if r.huge_pages.asked { "asked for" } else { "not asked for" },
        if r.huge_pages.asked { "on" } else { "off" },
        r.huge_pages.bytes_after_load.map_or("an unknown amount".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6)),
        r.memory.weights_bytes as f64 / 1e6
    );
    out += &format!(
        "  memory read bandwidth   {:>8.1} GB/s median, {:.1} GB/s best ({} passes over {} MiB, {} threads)\n",
        bw.median_gbps,
        bw.best_gbps,
        bw.passes_gbps.len(),
        bw.buffer_bytes / (1024 * 1024),
        bw.threads
    );
    if bw.buffer_bytes < SMALLEST_DRAM_BUFFER {
        out += "  (a buffer this small may fit in the CPU caches: that is not a memory bandwidth)\n";
    }
    for g in &r.sgemm {
        let s = g.shape;
        let dims = format!("{}x{}x{}", s.m, s.k, s.n);
        out += &format!("  sgemm {dims:<17} {:>8.1} GFLOP/s best, {:.1} median\n", g.best_gflops, g.median_gflops);
    }
    out += &format!("  sgemm peak              {:>8.1} GFLOP/s\n\n", r.sgemm_peak_gflops);
    out += &format!(
        "Roofline of decode at batch 1: {:.1} GB/s (median) / {:.1} MB of {} weights per token = {:.1} tokens/s\n",
        r.bandwidth_gbps,
        r.weight_bytes_per_token / 1e6,
        r.weights,
        r.roofline_tokens_per_s
    );
    out += &format!(
        "  (with the best pass, {:.1} GB/s: {:.1} tokens/s; the bandwidth was read {} times, at the start and before every cached run)\n\n",
        r.bandwidth_best_gbps,
        r.roofline_best_tokens_per_s,
        bw.passes_gbps.len()
    );
    out += &memory_lines(&r.memory);
    out += &format!(
        "Decode (greedy; tokens/s after the first token, median of {} runs; uncached over a shorter generation)\n",
        r.runs
    );
    out += &format!(
        "{:>7} {:>11} {:>13} {:>13} {:>10} {:>15} {:>14} {:>11} {:>10}\n",
        "prompt", "cached tok", "cached tok/s", "first tok (s)", "uncached", "uncached tok/s", "roofline tok/s", "of roofline", "vs uncached"
    );
    for d in &r.decode {
        out += &format!(
            "{:>7} {:>11} {:>13.1} {:>13.3} {:>10} {:>15.2} {:>14.1} {:>10.0}% {:>9.1}x\n",
            d.prompt_len,
            d.cached_new_tokens,
            d.cached_tokens_per_s,
            d.cached_first_token_secs,
            d.uncached_new_tokens,
            d.uncached_tokens_per_s,
            d.roofline_with_cache_tokens_per_s,
            100.0 * d.cached_vs_roofline,
            d.cached_vs_uncached
        );
    }
    out += "  (roofline tok/s of a row also counts reading the KV cache at the run's mean length; \"of roofline\" is against the weights-only roofline)\n\n";
    out += &probe_lines(&r.gemv_probe, &r.decode, r.weight_bytes_per_token);
    let p = &r.prefill;
    out += &format!(
        "Prefill of {} tokens: {:.3} s median, {:.2} GFLOP -> {:.1} GFLOP/s = {:.0}% of the sgemm peak\n",
        p.tokens,
        p.median_secs,
        p.flops / 1e9,
        p.gflops,
        100.0 * r.prefill_vs_sgemm_peak
    );
    out += &format!("  (FLOPs = {})\n", r.formulas.prefill_flops);
    out += &format!(
        "\nSummary: cached decode {:.1} tok/s = {:.0}% of the {:.1} tok/s roofline ({:.0}% of the best-pass roofline); uncached {:.2} tok/s; prefill {:.0}% of sgemm peak\n",
        r.cached_tokens_per_s,
        100.0 * r.cached_vs_roofline,
        r.roofline_tokens_per_s,
        100.0 * r.cached_vs_roofline_best,
        r.uncached_tokens_per_s,
        100.0 * r.prefill_vs_sgemm_peak
    );
    out
}

/// The lines of [`GemvProbe`]: the read and gemv speeds, and the decode rows' bytes per second
/// against gemv's.
fn probe_lines(g: &GemvProbe, decode: &[DecodeRow], weight_bytes: f64) -> String {
    let mut out = format!(
        "Where a decode step's time goes: decode's f32 matrix x vector alone (shared::gemv over {:.1} MB of [{},{}] and [{},{}] matrices) beside a plain read of as many bytes, medians of interleaved passes\n",
        g.bytes as f64 / 1e6,
        4 * g.d_model,
        g.d_model,
        g.d_model,
        4 * g.d_model
    );
    out += &format!(
        "  plain read {:>6.1} GB/s on {} threads, {:.1} GB/s on 1 ({:.0}% of {}: what one core keeps in flight)\n",
        g.read_all_gbps,
        g.threads,
        g.read_one_gbps,
        100.0 * g.read_one_gbps / g.read_all_gbps,
        g.threads
    );
    out += &format!(
        "  gemv       {:>6.1} GB/s on {} threads ({:.0}% of the read), {:.1} GB/s on 1 ({:.0}% of the read on 1)\n",
        g.gemv_all_gbps,
        g.threads,
        100.0 * g.gemv_vs_read(),
        g.gemv_one_gbps,
        100.0 * g.gemv_one_gbps / g.read_one_gbps
    );
    for d in decode {
        let gbps = d.cached_tokens_per_s * weight_bytes / 1e9;
        out += &format!(
            "  cached decode after {} tokens: {:.1} tok/s x {:.1} MB = {:.1} GB/s of weights, {:.0}% of gemv alone (the rest: attention, norms, sampling, KV cache reads)\n",
            d.prompt_len,
            d.cached_tokens_per_s,
            weight_bytes / 1e6,
            gbps,
            100.0 * gbps / g.gemv_all_gbps
        );
    }
    out + "\n"
}

/// The memory lines of the report.
fn memory_lines(m: &Memory) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let needed = m.weights_bytes + m.kv_cache_bytes;
    let mut out = format!(
        "Memory of a cached generation ({} prompt + {} new tokens): weights {:.1} MB + KV cache {:.1} MB (room for the whole context) = {:.1} MB\n",
        m.prompt_len,
        m.new_tokens,
        mb(m.weights_bytes),
        mb(m.kv_cache_bytes),
        mb(needed)
    );
    match (m.peak_rss_decode_bytes, m.peak_rss_decode_vs_needed) {
        (Some(peak), Some(ratio)) => {
            out += &format!("  peak resident memory while decoding: {:.1} MB = {:.2}x that\n", mb(peak), ratio)
        }
        _ => out += "  peak resident memory: not available on this system (needs Linux's /proc/self/status)\n",
    }
    if let Some(build) = m.peak_rss_build_bytes {
        out += &format!("  peak resident memory while building/loading the model: {:.1} MB\n", mb(build));
    }
    out + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rate_leaves_out_the_first_token() {
        let run = DecodeRun { new_tokens: 11, total: Duration::from_secs(3), first_token: Duration::from_secs(1) };
        assert_eq!(decode_tokens_per_s(&run), 5.0); // 10 tokens in the last 2 s
        let one = DecodeRun { new_tokens: 1, total: Duration::from_millis(500), first_token: Duration::from_millis(500) };
        assert_eq!(decode_tokens_per_s(&one), 2.0);
    }
}
