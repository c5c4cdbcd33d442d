//! `cargo run --release -p ch11-cache-on-disk --example load_vs_prefill`: on the GPT-2 124M
//! shape (random weights), the time to prefill a 512-token context against the time to load
//! its saved cache, and the file size against the memory formula. A measurement, not a test.

use ch04_gpt::Gpt;
use ch08_kv_cache::{CacheStorage, KvGpt};
use ch11_cache_on_disk::{load_cache, save_cache, Dtype, Fingerprint};
use ndarray::ArrayView2;
use shared::GptConfig;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = GptConfig::gpt2_124m();
    let n = 512;
    let ids: Vec<u32> = (0..n as u32).map(|i| (i * 7919) % config.vocab_size as u32).collect();
    let fingerprint = Fingerprint(0x124); // random weights have no folder: a fixed stand-in
    let path = std::env::temp_dir().join(format!("ch11-load-vs-prefill-{}.kvc", std::process::id()));
    let mut writer = KvGpt::<f32>::new(Gpt::random(&config, 1)?, CacheStorage::Preallocated { capacity: n });
    let start = Instant::now();
    shared::on_worker_thread(|| writer.forward(ArrayView2::from_shape((1, n), &ids).expect("one row"), true))?;
    let prefill = start.elapsed();
    save_cache(&path, &writer, &ids, fingerprint, Dtype::F32)?;
    let mut reader = KvGpt::<f32>::new(Gpt::random(&config, 1)?, CacheStorage::Preallocated { capacity: n });
    let start = Instant::now();
    load_cache(&path, &mut reader, fingerprint)?;
    let load = start.elapsed();
    let bytes = std::fs::metadata(&path)?.len();
    let formula = 2 * config.n_layers * config.n_kv_heads * n * config.head_dim() * 4;
    println!("GPT-2 124M shape, {n} tokens, f32");
    println!("prefill: {:.1} ms", prefill.as_secs_f64() * 1e3);
    println!("load:    {:.1} ms ({:.1}x faster)", load.as_secs_f64() * 1e3, prefill.as_secs_f64() / load.as_secs_f64());
    println!("file: {bytes} bytes = {formula} (K and V) + {} (64-byte header + 4 bytes per token id)", bytes - formula as u64);
    let _ = std::fs::remove_file(&path);
    Ok(())
}
