//! GPT-2 (chapter 4's `Gpt`, cached by chapter 8 as `KvGpt`) in the benchmark: its preset or
//! folder, and its shape ([`ModelShape::gpt2`]).

use super::cached::Cached;
use ch04_gpt::Gpt;
use ch08_kv_cache::KvGpt;
use measure::flops::ModelShape;
use measure::{BenchArgs, MeasureError, MeasureResult};

/// Build (`--config`, random weights) or load (`--model DIR`) GPT-2 and run the benchmark.
pub fn run(args: &BenchArgs) -> MeasureResult<()> {
    // the shape first (a small file, or a preset): bad options fail before 500 MB of weights
    let config = match &args.model.model {
        Some(dir) => ch04_gpt::model::read_config(dir)?,
        None => args.config.gpt2_config().ok_or_else(|| MeasureError::Usage(format!("--config {} is not a GPT-2 shape", args.config.name())))?,
    };
    measure::bench::validate(args, &ModelShape::gpt2(&config))?;
    let (model, name, weights) = match &args.model.model {
        Some(dir) => {
            let (ckpt, weights) = shared::cli::open_weights(dir, args.weights)?;
            (Gpt::<f32>::load(&ckpt, &config)?, dir.display().to_string(), weights)
        }
        None => {
            let model = Gpt::<f32>::random(&config, args.model.seed)?;
            let (model, weights) = super::held_as(model, args.weights, Gpt::save_pretrained, |ckpt| Gpt::load(ckpt, &config))?;
            (model, format!("{}, random weights", args.config.name()), weights)
        }
    };
    let shape = ModelShape::gpt2(&model.config);
    measure::bench::run(args, &mut Cached::new(KvGpt::preallocated(model), shape), &name, weights)
}
