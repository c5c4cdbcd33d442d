//! Chapter 8's GPT-2 with its KV cache, measured by [`measure::bench`].
//!
//! This file is the one adapter of `KvGpt` to [`measure::Decoder`]. Two binaries run it:
//! `cargo run --release -p bench` and chapter 8's alias `cargo run --release -p ch08-kv-cache
//! -- bench`, which includes this file by path because Cargo forbids the dependency cycle
//! (this tool depends on chapter 8, so chapter 8 cannot depend on it).

use ch04_gpt::{GenerateOptions, Gpt, Sampling};
use ch08_kv_cache::KvGpt;
use measure::{BenchArgs, DecodeRun, Decoder, MeasureResult};
use ndarray::ArrayView2;
use measure::flops::ModelShape;

/// `KvGpt` with a preallocated cache (room for the whole context, written in place).
pub struct Gpt2 {
    model: KvGpt<f32>,
    shape: ModelShape,
}

impl Decoder for Gpt2 {
    fn shape(&self) -> &ModelShape {
        &self.shape
    }

    fn generate(&mut self, prompt: &[u32], new_tokens: usize, use_cache: bool) -> shared::Result<DecodeRun> {
        // greedy, end-of-text ignored: every run generates exactly `new_tokens`
        let options = GenerateOptions { max_new_tokens: new_tokens, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None };
        let g = self.model.generate(prompt, &options, use_cache, |_| Ok(()))?;
        Ok(DecodeRun { new_tokens: g.new_ids.len(), total: g.total_time, first_token: g.time_to_first_token })
    }

    fn prefill(&mut self, prompt: &[u32]) -> shared::Result<()> {
        let row = ArrayView2::from_shape((1, prompt.len()), prompt).map_err(|e| shared::Error::InvalidArgument(e.to_string()))?; // [1, T]
        self.model.reset_kv_cache();
        let logits = self.model.forward_last(row, true)?; // [1, vocab]
        std::hint::black_box(logits);
        Ok(())
    }

    fn kv_cache_allocated_bytes(&self) -> u64 {
        self.model.cache_info().total_allocated_bytes() as u64
    }
}

/// Build (`--config`, random weights) or load (`--model DIR`) GPT-2 and run the benchmark.
pub fn run(args: &BenchArgs) -> MeasureResult<()> {
    // the shape first (a small file, or a preset): bad options fail before 500 MB of weights
    let config = match &args.model.model {
        Some(dir) => ch04_gpt::model::read_config(dir)?,
        None => args.config.config(),
    };
    measure::bench::validate(args, &ModelShape::gpt2(&config))?;
    let (model, name) = match &args.model.model {
        Some(dir) => (Gpt::<f32>::from_pretrained(dir)?, dir.display().to_string()),
        None => (Gpt::<f32>::random(&args.config.config(), args.model.seed)?, format!("{}, random weights", args.config.name())),
    };
    let shape = ModelShape::gpt2(&model.config);
    let mut gpt2 = Gpt2 { model: KvGpt::preallocated(model), shape };
    measure::bench::run(args, &mut gpt2, &name)
}
