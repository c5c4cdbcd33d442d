//! `cargo run --release -p ch11-cache-on-disk --example load_vs_prefill`: on the GPT-2 124M
//! shape (random weights), the time to prefill a 512-token context against the time to load
//! its saved cache in f32, f16 and bf16, each file's size against the memory formula, and what
//! a memory map would change. Medians of several runs; a measurement, not a test.

use ch04_gpt::Gpt;
use ch08_kv_cache::{CacheStorage, KvGpt};
use ch11_cache_on_disk::fnv::{fnv1a, Fnv1a};
use ch11_cache_on_disk::{load_cache, save_cache, Dtype, Fingerprint};
use measure::stats::median;
use ndarray::ArrayView2;
use shared::GptConfig;
use std::io::Read;
use std::time::Instant;

const PREFILL_RUNS: usize = 3;
const LOAD_RUNS: usize = 9;

/// The median seconds of `runs` calls of `f`.
fn median_seconds<T, E>(runs: usize, mut f: impl FnMut() -> Result<T, E>) -> Result<f64, E> {
    let mut seconds = vec![];
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(f()?);
        seconds.push(start.elapsed().as_secs_f64());
    }
    Ok(median(&seconds))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = GptConfig::gpt2_124m();
    let n = 512;
    let ids: Vec<u32> = (0..n as u32).map(|i| (i * 7919) % config.vocab_size as u32).collect();
    let fingerprint = Fingerprint(0x124); // random weights have no folder: a fixed stand-in
    let row = ArrayView2::from_shape((1, n), &ids).expect("one row");
    let mut writer = KvGpt::<f32>::new(Gpt::random(&config, 1)?, CacheStorage::Preallocated { capacity: n });
    let prefill = median_seconds(PREFILL_RUNS, || {
        writer.reset_kv_cache();
        shared::on_worker_thread(|| writer.forward(row, true))
    })?;
    println!("CPU: {}", measure::machine::cpu_model());
    println!("GPT-2 124M shape (12 layers, 12 heads of 64), {n} tokens; medians of {PREFILL_RUNS} prefills, {LOAD_RUNS} loads");
    println!("prefill (f32 model):      {:7.1} ms", prefill * 1e3);
    let mut reader = KvGpt::<f32>::new(Gpt::random(&config, 1)?, CacheStorage::Preallocated { capacity: n });
    let values = 2 * config.n_layers * config.n_kv_heads * n * config.head_dim(); // K and V
    let mut f32_file = None;
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        let path = std::env::temp_dir().join(format!("ch11-load-vs-prefill-{}-{}.kvc", std::process::id(), dtype.name()));
        save_cache(&path, &writer, &ids, fingerprint, dtype)?;
        let load = median_seconds(LOAD_RUNS, || load_cache(&path, &mut reader, fingerprint))?;
        let bytes = std::fs::metadata(&path)?.len();
        let formula = (values * dtype.bytes()) as u64;
        println!(
            "load {:4} file:           {:7.1} ms ({:4.1}x faster than prefill); file {bytes} bytes = {formula} (K and V at {} bytes) + 64 (header) + {} (ids)",
            dtype.name(),
            load * 1e3,
            prefill / load,
            dtype.bytes(),
            4 * n
        );
        if dtype == Dtype::F32 {
            f32_file = Some(path);
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    // Would a memory map help? The loader must checksum every payload byte before it trusts
    // any, so every page is touched either way; a map saves only the copy of each piece out of
    // the page cache. Compared: the whole file read into one buffer, the file read in the
    // loader's 64 KiB pieces, and a map, each followed by the checksum.
    let path = f32_file.expect("the f32 file");
    let whole = median_seconds(LOAD_RUNS, || std::fs::read(&path).map(|b| fnv1a(&b)))?;
    let pieces = median_seconds(LOAD_RUNS, || {
        let mut file = std::fs::File::open(&path)?;
        let (mut hash, mut chunk) = (Fnv1a::default(), vec![0u8; 1 << 16]);
        loop {
            let got = file.read(&mut chunk)?;
            if got == 0 {
                return Ok::<_, std::io::Error>(hash.finish());
            }
            hash.update(&chunk[..got]);
        }
    })?;
    let mapped = median_seconds(LOAD_RUNS, || {
        let file = std::fs::File::open(&path)?;
        // SAFETY: the example's own file, which nothing else writes while it is mapped
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok::<_, std::io::Error>(fnv1a(&map))
    })?;
    println!("f32 file + checksum: read whole {:.1} ms, read in 64 KiB pieces {:.1} ms, memory-mapped {:.1} ms", whole * 1e3, pieces * 1e3, mapped * 1e3);
    std::fs::remove_file(&path)?;
    Ok(())
}
