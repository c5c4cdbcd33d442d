//! The demo from start to finish: generate with and without the cache, check, time, count,
//! inspect, tabulate, plot; then print it for a human or as one JSON object.

use crate::demo::cli::DemoArgs;
use crate::demo::copies::{self, CopySummary};
use crate::demo::error::{DemoError, DemoResult};
use crate::demo::plots;
use crate::demo::setup::{self, LoadedModel, Prepared, Weights};
use crate::demo::stream::TextStream;
use crate::demo::timing::{self, TimingRow};
use ch04_gpt::{GenerateOptions, Generation, Sampling};
use ch08_kv_cache::memory::{self, short_bytes, Dtype, GPT, GQA, MOE, PYTHIA};
use ch08_kv_cache::{CacheInfo, KvDecoder, KvGpt, KvModel, WithCaches};
use measure::output::{say, say_now};
use measure::progress::Progress;
use serde::Serialize;
use std::time::Instant;

/// The JSON output of the demo (`--json`).
#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub model: String,
    pub random_weights: bool,
    pub prompt: String,
    pub prompt_ids: Vec<u32>,
    /// The new tokens, identical with and without the cache.
    pub generated_ids: Vec<u32>,
    /// Their text.
    pub text: String,
    pub identical: bool,
    pub cached_secs: f64,
    pub uncached_secs: f64,
    /// The model's context, in tokens: prompt + new tokens must fit in it.
    pub context_length: usize,
    /// The `--lengths` timed (those that fit the context after the prompt), and the skipped.
    pub lengths_measured: Vec<usize>,
    pub lengths_skipped: Vec<usize>,
    /// Runs of every timed length (the rows hold their medians).
    pub runs: usize,
    /// One row per measured length.
    pub timings: Vec<TimingRow>,
    pub bytes_copied: CopySummary,
    /// The cache after the generation of `generated_ids`.
    pub cache: CacheSummary,
    /// Bytes of pythia-70m's cache at 2048 tokens in fp32 (50,331,648).
    pub pythia_70m_2048_fp32_bytes: u64,
    pub plots: Vec<String>,
}

/// What the cache holds, in short.
#[derive(Debug, Serialize)]
pub struct CacheSummary {
    pub layers: usize,
    /// `[batch, n_kv_heads, seq, head_dim]` of each layer's keys (values alike).
    pub shape: [usize; 4],
    /// Bytes of the cached keys and values, all layers.
    pub bytes: usize,
    /// Bytes allocated (the preallocated cache reserves the whole context).
    pub allocated_bytes: usize,
}

/// Run the demo; everything printed goes to stdout, the progress bar to stderr.
pub fn run(args: &DemoArgs) -> DemoResult<()> {
    let sampling = Sampling { temperature: args.sampling.temperature, top_k: args.sampling.top_k, top_p: args.sampling.top_p };
    sampling.validate().map_err(|e| DemoError::Usage(e.to_string()))?;
    let prepared = setup::prepare(args)?; // fails fast, before any weights exist
    let human = !args.json;
    if human {
        print_header(&prepared)?;
    }
    let started = Instant::now();
    let model = prepared.load_model()?;
    if human {
        say(format!("(weights ready in {:.1} s)\n", started.elapsed().as_secs_f64()))?;
    }
    match model {
        LoadedModel::Gpt2(model) => run_with(args, &prepared, KvGpt::preallocated(model), sampling),
        LoadedModel::Rotary(model) => run_with(args, &prepared, KvDecoder::preallocated(model), sampling),
        LoadedModel::Moe(model) => run_with(args, &prepared, KvDecoder::preallocated(model), sampling),
    }
}

/// The demo on one model family, its weights ready.
fn run_with<M: WithCaches<Float = f32> + Send>(
    args: &DemoArgs,
    prepared: &Prepared,
    mut kv: KvModel<M>,
    sampling: Sampling,
) -> DemoResult<()> {
    let human = !args.json;
    let prompt = prepared.prompt_ids.clone();
    let options = GenerateOptions {
        max_new_tokens: args.prompt.max_new_tokens,
        sampling,
        seed: args.model.seed,
        eos_token_id: prepared.eos_token_id(),
    };

    // 1. the same text with and without the cache
    if human {
        say(format!("Prompt: {:?} = {} tokens {:?}", args.prompt.prompt, prompt.len(), prompt))?;
        say(format!("\nWith the KV cache ({} new tokens at most, streamed):", args.prompt.max_new_tokens))?;
        say_now(&args.prompt.prompt)?;
    }
    let (cached, text) = generate_streamed(&mut kv, prepared, &prompt, &options, human)?;
    let cache_info = kv.cache_info(); // before the uncached run resets the caches
    if human {
        say("\n\nWithout the cache (the same generation, recomputing the whole sequence every step)...")?;
    }
    let uncached = kv.generate(&prompt, &options, false, |_| Ok(()))?;
    check_identical(&cached, &uncached)?;
    if human {
        say(format!(
            "OK: the {} new tokens are identical with and without the cache ({:.2} s with, {:.2} s without).\n",
            cached.new_ids.len(),
            cached.total_time.as_secs_f64(),
            uncached.total_time.as_secs_f64()
        ))?;
    }

    // 2. timing, 3. bytes copied
    let lengths = &prepared.lengths;
    let longest = lengths.iter().copied().max().unwrap_or(1);
    if human {
        say(format!(
            "Timing {} generation lengths ({}) without and with the cache, {} runs each, then counting bytes copied for {longest} tokens...",
            lengths.len(),
            list(lengths),
            args.runs
        ))?;
        if !prepared.skipped.is_empty() {
            say(format!(
                "Skipped {} (the {}-token prompt + that many new tokens does not fit the context of {} tokens).",
                list(&prepared.skipped),
                prompt.len(),
                prepared.config.context_length()
            ))?;
        }
    }
    let total_tokens = 2 * args.runs * lengths.iter().sum::<usize>() + 2 * longest;
    let bar = Progress::new(total_tokens as u64, "tokens", args.json);
    let rows = timing::time_lengths(&mut kv, &prompt, lengths, args.runs, &options, &bar)?;
    let (_kv, counts) = copies::compare(kv, &prompt, longest, &bar)?;
    bar.finish();

    // 5. plots
    let plot_paths = plots::write_all(&args.out_dir(), &rows, &counts)?;

    let pythia_bytes = PYTHIA[0].bytes(2048, Dtype::F32) as u64;
    if human {
        say(format!("\n{}", timing::table(&rows, prompt.len())))?;
        say(copies::table(&counts, prompt.len()))?;
        say(format!(
            "Inside the cache after the generation above, with the cache (the prompt and every new \
             token but the last, which was never fed back):\n{}",
            cache_table(&cache_info).trim_end()
        ))?;
        say(memory_tables(pythia_bytes))?;
        say(format!("Plots written to {}:", args.out_dir().display()))?;
        for p in &plot_paths {
            say(format!("  {}", p.display()))?;
        }
        return Ok(());
    }
    let first = cache_info.layers.first();
    let report = DemoReport {
        model: prepared.description(),
        random_weights: matches!(prepared.weights, Weights::Random { .. }),
        prompt: args.prompt.prompt.clone(),
        prompt_ids: prompt.clone(),
        generated_ids: cached.new_ids.clone(),
        text,
        identical: true, // check_identical returned Ok
        cached_secs: cached.total_time.as_secs_f64(),
        uncached_secs: uncached.total_time.as_secs_f64(),
        context_length: prepared.config.context_length(),
        lengths_measured: prepared.lengths.clone(),
        lengths_skipped: prepared.skipped.clone(),
        runs: args.runs,
        timings: rows,
        bytes_copied: copies::summary(&counts),
        cache: CacheSummary {
            layers: cache_info.n_layers(),
            shape: first.map_or([0; 4], |l| l.k_shape),
            bytes: cache_info.total_bytes(),
            allocated_bytes: cache_info.total_allocated_bytes(),
        },
        pythia_70m_2048_fp32_bytes: pythia_bytes,
        plots: plot_paths.iter().map(|p| p.display().to_string()).collect(),
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| DemoError::Usage(e.to_string()))?;
    Ok(say(json)?)
}

/// Which model, and a plain warning when its weights are random.
fn print_header(prepared: &Prepared) -> DemoResult<()> {
    say(format!("Model: {}", prepared.description()))?;
    if matches!(prepared.weights, Weights::Random { .. }) {
        say(
            "NOTE: these weights are RANDOM (untrained), so the generated text is gibberish. The\n\
             shapes, the cache, the timings and the memory figures are those of the real model.\n\
             For real text, run without --config (the project's trained default model), or\n\
             download the Hugging Face `gpt2` folder (config.json,\n\
             model.safetensors, tokenizer.json), for example with\n\
             \x20   huggingface-cli download gpt2 config.json model.safetensors tokenizer.json --local-dir gpt2\n\
             and run again with `--model gpt2`.",
        )?;
    }
    say(format!(
        "Tokenizer: {} ids{}",
        prepared.tokenizer.vocab_size(),
        match &prepared.weights {
            Weights::Random { .. } => " (chapter 1's shipped tokenizer)",
            Weights::Pretrained { .. } => " (tokenizer.json of the model folder)",
        }
    ))?;
    Ok(())
}

/// Generate with the cache, printing each piece of text as soon as its token exists.
fn generate_streamed<M: WithCaches<Float = f32> + Send>(
    kv: &mut KvModel<M>,
    prepared: &Prepared,
    prompt: &[u32],
    options: &GenerateOptions,
    echo: bool,
) -> DemoResult<(Generation, String)> {
    let mut stream = TextStream::new(&prepared.tokenizer, echo);
    let mut stream_error = None;
    let generation = kv.generate(prompt, options, true, |id| {
        // `generate` wants a shared::Error: keep ours aside and stop with a placeholder
        stream.push(id).map_err(|e| {
            stream_error = Some(e);
            shared::Error::InvalidArgument("output stopped".into())
        })
    });
    if let Some(e) = stream_error {
        return Err(e);
    }
    let generation = generation?;
    Ok((generation, stream.finish()?))
}

/// The proof of the chapter: the cache must not change a single token.
pub fn check_identical(cached: &Generation, uncached: &Generation) -> DemoResult<()> {
    let (c, u) = (&cached.new_ids, &uncached.new_ids);
    if let Some(position) = (0..c.len().max(u.len())).find(|&i| c.get(i) != u.get(i)) {
        return Err(DemoError::Mismatch {
            position,
            cached_id: c.get(position).copied().unwrap_or(u32::MAX),
            uncached_id: u.get(position).copied().unwrap_or(u32::MAX),
        });
    }
    Ok(())
}

/// `10, 20 and 50`.
fn list(ns: &[usize]) -> String {
    let words: Vec<String> = ns.iter().map(|n| n.to_string()).collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// What the cache holds, layer by layer, in KiB/MiB like the other tables.
fn cache_table(info: &CacheInfo) -> String {
    let mut out = format!(
        "KV cache: {} layers, {} positions, {} ({} of keys and values; {} allocated)\n",
        info.n_layers(),
        info.current_pos,
        info.dtype,
        short_bytes(info.total_bytes() as u128),
        short_bytes(info.total_allocated_bytes() as u128)
    );
    out += &format!("  {:>5}  {:<36} {:<22} {:>11}\n", "layer", "K [batch, n_kv_heads, seq, head_dim]", "V", "bytes");
    for (i, l) in info.layers.iter().enumerate() {
        out += &format!(
            "  {i:>5}  {:<36} {:<22} {:>11}\n",
            format!("{:?}", l.k_shape),
            format!("{:?}", l.v_shape),
            short_bytes(l.bytes as u128)
        );
    }
    out
}

/// The cache of published models at their whole context.
fn memory_tables(pythia_bytes: u64) -> String {
    let p = &PYTHIA[0];
    format!(
        "\nKV cache size of published models, batch 1, whole context \
         (bytes = 2 x layers x batch x kv_heads x seq x head_dim x bytes per element)\n\n{}\n{}\n{}\n{}\n\
         {} at 2048 tokens in fp32: 2 x {} layers x {} heads x 2048 x {} x 4 bytes = {}\n",
        memory::table("GPT", &GPT),
        memory::table("Pythia", &PYTHIA),
        memory::table("Grouped-query attention (fewer KV heads, smaller cache)", &GQA),
        memory::table("Mixture of experts (the cache depends on attention alone, not on the experts)", &MOE),
        p.name,
        p.n_layers,
        p.n_kv_heads,
        p.head_dim,
        memory::format_bytes(pythia_bytes as u128)
    )
}
