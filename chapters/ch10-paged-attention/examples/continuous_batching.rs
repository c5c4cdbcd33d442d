//! `cargo run --release -p ch10-paged-attention --example continuous_batching [-- --model DIR]`:
//! one stream of story requests served three ways on the project's default model (a GPT-2
//! trained in chapter 5), greedy, each request with its own max new tokens and the model's
//! end-of-text:
//!
//! - static batches (chapter 9's `generate_batch`): eight requests padded into one batch, run
//!   until the longest of them ends, with a contiguous cache for every row;
//! - continuous batching (this chapter's scheduler) in a block budget: a finished sequence
//!   leaves at once and a waiting one takes its place in the next step;
//! - the same in half the budget, preempting by recompute and by swap.
//!
//! Prints medians of wall time over several runs, useful tokens per second, the KV memory each
//! needs, and what preemption moved. A measurement, not a test (the tests prove the tokens).

use ch01_tokenizer::Tokenizer;
use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch09_batching::{generate_batch, BatchedAttention, BatchedModel};
use ch10_paged_attention::scheduler::{Preemption, Request, Scheduler, SchedulerOptions, SchedulerStats};
use ch10_paged_attention::offload::{swap_in, swap_out, Swapped};
use ch10_paged_attention::PagedGpt;
use measure::machine::cpu_model;
use measure::stats::median;
use shared::Rng;
use std::time::Instant;

const RUNS: usize = 3;
const BATCH: usize = 8;
const BLOCK_SIZE: usize = 16;
const OPENINGS: [&str; 8] = [
    "Once upon a time",
    "Tom had a red ball",
    "Lily went to the park",
    "The little dog was sad",
    "One day, a girl named Sue",
    "Ben and his mom",
    "The sun was hot and",
    "A big bird flew",
];

type G = Gpt<f32, BatchedAttention<f32>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = match std::env::args().skip_while(|a| a != "--model").nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => shared::cli::default_model_dir(),
    };
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
    let model = Gpt::<f32>::from_pretrained(&dir)?;
    let eos = model.config.eos_token_id.or(tokenizer.eos_token_id());
    // 32 requests: the openings and their continuations "... and", max new tokens uniform in 20..=180
    let mut rng = Rng::new(10);
    let mut requests = Vec::new();
    for (i, text) in OPENINGS.iter().flat_map(|o| [o.to_string(), format!("{o}, and"), format!("{o}. Then"), format!("{o} with a friend")]).enumerate() {
        let prompt = tokenizer.encode(&text)?;
        requests.push(Request { id: i as u64, prompt, max_new_tokens: 20 + rng.below(161) });
    }
    let load_before = load_average();
    println!("CPU: {}, {} threads; load average before: {load_before}", cpu_model(), rayon::current_num_threads());
    println!(
        "{} requests, prompts {}..{} tokens, max new tokens uniform in 20..=180, greedy, end-of-text {:?}; {RUNS} runs each, medians\n",
        requests.len(),
        requests.iter().map(|r| r.prompt.len()).min().unwrap_or(0),
        requests.iter().map(|r| r.prompt.len()).max().unwrap_or(0),
        eos
    );

    // 1. static batches: chapter 9, contiguous caches sized to each batch's longest prompt + max
    let mut static_runs = Vec::new();
    let (mut static_tokens, mut static_bytes, mut static_rows) = (Vec::new(), 0usize, 0usize);
    for _ in 0..RUNS {
        let start = Instant::now();
        static_tokens.clear();
        for batch in requests.chunks(BATCH) {
            let longest = batch.iter().map(|r| r.prompt.len()).max().unwrap_or(0);
            let max_new = batch.iter().map(|r| r.max_new_tokens).max().unwrap_or(0);
            let mut bm = BatchedModel::<G>::new(model.clone(), longest + max_new);
            let prompts: Vec<Vec<u32>> = batch.iter().map(|r| r.prompt.clone()).collect();
            let options = GenerateOptions { max_new_tokens: max_new, sampling: Sampling::GREEDY, seed: 0, eos_token_id: eos };
            let out = generate_batch(&mut bm, &prompts, &options)?;
            static_bytes = static_bytes.max(bm.caches().map(|c| c.allocated_bytes()).sum());
            // each row keeps only its own request's tokens; the rest was work for nothing
            for (g, r) in out.iter().zip(batch) {
                static_rows += g.new_ids.len();
                static_tokens.push(g.new_ids[..g.new_ids.len().min(r.max_new_tokens)].to_vec());
            }
        }
        static_runs.push(start.elapsed().as_secs_f64());
    }
    let useful: usize = static_tokens.iter().map(Vec::len).sum();
    static_rows /= RUNS;

    // 2. continuous batching in a budget of the static run's bytes, then in half of it
    let bytes_per_block = PagedGpt::<f32>::new(model.clone(), 1, BLOCK_SIZE)?.bytes_per_block();
    let full = static_bytes / bytes_per_block;
    let configs = [
        ("continuous, max batch 8, same budget", full, BATCH, Preemption::Recompute),
        ("continuous, max batch 32, same budget", full, 32, Preemption::Recompute),
        ("continuous, max batch 32, half budget, recompute", full / 2, 32, Preemption::Recompute),
        ("continuous, max batch 32, half budget, swap", full / 2, 32, Preemption::Swap),
    ];
    println!("{:<50} {:>9} {:>9} {:>14} {:>7} {:>6}", "", "median s", "tokens/s", "KV peak bytes", "steps", "batch");
    println!(
        "{:<50} {:>9.3} {:>9.0} {:>14} {:>7} {:>6}",
        "static batches of 8 (chapter 9)",
        median(&static_runs),
        useful as f64 / median(&static_runs),
        static_bytes,
        "",
        BATCH
    );
    let mut preemption_rows = Vec::new();
    for (name, blocks, max_batch, preemption) in configs {
        let mut runs = Vec::new();
        let mut stats = SchedulerStats::default();
        for _ in 0..RUNS {
            let mut paged = PagedGpt::<f32>::new(model.clone(), blocks, BLOCK_SIZE)?;
            let options = SchedulerOptions { sampling: Sampling::GREEDY, seed: 0, eos_token_id: eos, max_batch, preemption };
            let mut scheduler = Scheduler::new(options)?;
            for r in &requests {
                scheduler.submit(&paged, r.clone())?;
            }
            let start = Instant::now();
            let finished = shared::on_worker_thread(|| scheduler.run(&mut paged))?;
            runs.push(start.elapsed().as_secs_f64());
            let same = finished.iter().zip(&static_tokens).all(|(f, s)| &f.new_ids == s);
            if !same {
                return Err(format!("{name}: tokens differ from the static batches").into());
            }
            stats = scheduler.stats().clone();
        }
        let t = median(&runs);
        println!(
            "{:<50} {:>9.3} {:>9.0} {:>14} {:>7} {:>6}",
            name,
            t,
            stats.generated_tokens as f64 / t,
            stats.peak_blocks * bytes_per_block,
            stats.steps,
            stats.peak_batch
        );
        if blocks < full {
            preemption_rows.push((name, t, stats, blocks));
        }
    }
    println!(
        "\nuseful tokens: {useful} (every run's tokens equal the static batches'); static rows generated {static_rows} tokens \
         (rows wait for their batch's longest); budget: {full} blocks of {BLOCK_SIZE} tokens = {} bytes ({bytes_per_block} per block)",
        full * bytes_per_block
    );
    println!("\npreemption in half the budget ({} blocks):", full / 2);
    for (name, t, s, _) in preemption_rows {
        println!(
            "  {name}: {:.3} s, {} preemptions, {} tokens recomputed, {} bytes swapped out + {} in, {} tokens through the model",
            t, s.preemptions, s.recomputed_tokens, s.bytes_swapped_out, s.bytes_swapped_in, s.forwarded_tokens
        );
    }
    one_sequence(&model, &requests[0].prompt)?;
    println!("\nload average after: {}", load_average());
    Ok(())
}

/// One sequence of 128 cached tokens, preempted and brought back three ways: its blocks copied
/// to host memory and back, through a file and back, or dropped and prefilled again.
fn one_sequence(model: &Gpt<f32>, prompt: &[u32]) -> Result<(), Box<dyn std::error::Error>> {
    let tokens: Vec<u32> = prompt.iter().copied().cycle().take(128).collect();
    let mut paged = PagedGpt::<f32>::new(model.clone(), 16, BLOCK_SIZE)?;
    let path = std::env::temp_dir().join(format!("ch10-swap-{}.kvswap", std::process::id()));
    let (mut host, mut file, mut recompute) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..5 {
        paged.add_sequence(1)?;
        shared::on_worker_thread(|| paged.step(&[(1, &tokens)]))?;
        let start = Instant::now();
        let swapped = swap_out(&mut paged, 1)?;
        bytes = swapped.bytes();
        swap_in(&mut paged, 1, swapped)?;
        host.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        swap_out(&mut paged, 1)?.save(&path)?;
        swap_in(&mut paged, 1, Swapped::<f32>::load(&path)?)?;
        file.push(start.elapsed().as_secs_f64());
        paged.release(1)?;
        let start = Instant::now();
        paged.add_sequence(1)?;
        shared::on_worker_thread(|| paged.step(&[(1, &tokens)]))?;
        recompute.push(start.elapsed().as_secs_f64());
        paged.release(1)?;
    }
    let _ = std::fs::remove_file(&path);
    println!(
        "\none sequence of 128 cached tokens ({} blocks, {bytes} bytes), out and back in, medians of 5:\n  \
         swap to host memory: {:.3} ms; swap through a file: {:.3} ms; recompute (prefill 128 tokens): {:.3} ms",
        128 / BLOCK_SIZE,
        median(&host) * 1e3,
        median(&file) * 1e3,
        median(&recompute) * 1e3
    );
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_else(|_| "unknown".into())
}
