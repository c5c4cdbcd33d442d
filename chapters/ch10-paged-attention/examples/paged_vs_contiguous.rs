//! Decode step time, paged against contiguous, at 512 cached tokens of a GPT-2 124M-shaped model
//! (random weights): `cargo run --release -p ch10-paged-attention --example paged_vs_contiguous
//! [-- --cached 512 --steps 40 --block-size 16]`.
//!
//! Three caches hold the same prompt: chapter 8's contiguous one, and two paged ones (decode
//! reading the blocks in place, the default; and gathering them first, then chapter 3's
//! attention). Then one decode step of each in turn, so a noisy neighbour slows all alike. Prints
//! the medians, their ratios, and what the gather alone (every layer's keys and values copied
//! out of the blocks into one array) costs per step.

use ch04_gpt::{Gpt, NextToken};
use ch08_kv_cache::{CachedAttention, KvModel};
use ch10_paged_attention::{PagedAttention, PagedFamily, PagedModel};
use clap::Parser;
use measure::stats::median;
use shared::GptConfig;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Tokens in the cache before the measured steps.
    #[arg(long, default_value_t = 512)]
    cached: usize,
    /// Decode steps measured (each cache grows by one per step).
    #[arg(long, default_value_t = 40)]
    steps: usize,
    #[arg(long, default_value_t = 16)]
    block_size: usize,
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_else(|_| "unknown".into())
}

fn main() -> shared::Result<()> {
    let args = Args::parse();
    let config = GptConfig::gpt2_124m();
    if args.block_size == 0 || args.cached + args.steps + 1 > config.context_length {
        return Err(shared::Error::InvalidArgument("need a block size >= 1 and cached + steps < 1024".into()));
    }
    let model = Gpt::<f32>::random(&config, 1)?;
    let prompt: Vec<u32> = (0..args.cached).map(|i| ((i * 7919) % 50000) as u32).collect();
    println!("CPU: {}", measure::machine::cpu_model());
    println!("load average before: {}", load());
    let mut contiguous = KvModel::<Gpt<f32, CachedAttention<f32>>>::preallocated(model.clone());
    let blocks = config.context_length.div_ceil(args.block_size);
    let mut gathering = PagedModel::<Gpt<f32, PagedAttention<f32>>>::new(model.clone(), blocks, args.block_size).map_err(shared::Error::from)?;
    gathering.set_read_in_place(false);
    let mut paged = PagedModel::<Gpt<f32, PagedAttention<f32>>>::new(model, blocks, args.block_size).map_err(shared::Error::from)?;
    let (mut t_contiguous, mut t_paged, mut t_gathering, mut t_gather) = (vec![], vec![], vec![], vec![]);
    let mut max_diff = 0.0f32;
    shared::on_worker_thread(|| -> shared::Result<()> {
        contiguous.start()?;
        contiguous.next_logits(&prompt)?; // the prompt, once
        paged.start()?;
        paged.next_logits(&prompt)?;
        gathering.start()?;
        gathering.next_logits(&prompt)?;
        let mut tokens = prompt.clone();
        for step in 0..args.steps {
            let next = (step * 31 + 11) as u32;
            tokens.push(next);
            let t = Instant::now();
            let a = contiguous.next_logits(&tokens)?;
            t_contiguous.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let b = paged.next_logits(&tokens)?;
            t_paged.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let c = gathering.next_logits(&tokens)?;
            t_gathering.push(t.elapsed().as_secs_f64());
            for other in [&b, &c] {
                max_diff = max_diff.max(a.iter().zip(other).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max));
            }
            // the gather alone: every layer's keys and values through the table
            let table = paged.table(0).expect("sequence 0");
            let t = Instant::now();
            for layer in paged.model().paged_layers() {
                std::hint::black_box(layer.store().gather(table.blocks(), table.len())?);
            }
            t_gather.push(t.elapsed().as_secs_f64());
        }
        Ok(())
    })?;
    let (c, p, pg, g) = (median(&t_contiguous) * 1e3, median(&t_paged) * 1e3, median(&t_gathering) * 1e3, median(&t_gather) * 1e3);
    println!("GPT-2 124M shape (random weights, f32), {} cached tokens + {} decode steps, block size {}", args.cached, args.steps, args.block_size);
    println!("median decode step: contiguous {c:.2} ms, paged (in place) {p:.2} ms, paged (gather) {pg:.2} ms");
    println!("paged in place / contiguous = {:.3}; paged with the gather / contiguous = {:.3}", p / c, pg / c);
    println!("median gather of all {} layers' K and V at ~{} tokens: {g:.2} ms ({:.1}% of a gathering step)", config.n_layers, args.cached, 100.0 * g / pg);
    println!("max |logits paged - contiguous| over the steps: {max_diff:e}");
    println!("load average after: {}", load());
    Ok(())
}
