//! `cargo run --release -p bench --example half_checkpoint -- gpt2|smollm2 DIR bf16|f16`:
//! write a Hugging Face folder with random weights of GPT-2 124M's or SmolLM2-135M's shape,
//! every tensor rounded to bf16 or f16, as a downloaded 16-bit checkpoint stores them (with the
//! default model's tokenizer, so chapter 8's demo can run it). For measuring 16-bit weights:
//! `bench --model DIR --weights f32` and `--weights bf16` then run the same numbers, and the
//! resident memory of `--model DIR` can be compared with and without `--weights f32`.
//!
//! It also prints how far the 16-bit model's logits are from the f32 model it was rounded
//! from: one uncached forward pass over a 64-token prompt, both on the plain path.

use shared::half_matrix::HalfFormat;
use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    shared::exit_code(run())
}

fn run() -> shared::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [shape, dir, format] = args.as_slice() else {
        return Err(shared::Error::InvalidArgument(
            "usage: half_checkpoint gpt2|smollm2 DIR bf16|f16".into(),
        ));
    };
    let format = match format.as_str() {
        "bf16" => HalfFormat::Bf16,
        "f16" => HalfFormat::F16,
        other => return Err(shared::Error::InvalidArgument(format!("{other}: expected bf16 or f16"))),
    };
    let dir = PathBuf::from(dir);
    let file = dir.join(shared::checkpoint::SINGLE_FILE);
    let open16 = || shared::Checkpoint::open(&file).map(|c| c.keeping_16_bit(true));
    let (original, rounded) = match shape.as_str() {
        "gpt2" => {
            let config = shared::GptConfig::gpt2_124m();
            let mut model = ch04_gpt::Gpt::<f32>::random(&config, 42)?;
            model.save_pretrained(&dir)?;
            shared::checkpoint::narrow_file(&file, format)?;
            (logits(&mut model)?, logits(&mut ch04_gpt::Gpt::<f32>::load(&open16()?, &config)?)?)
        }
        "smollm2" => {
            let config = ch06_llama_qwen::DecoderConfig::smollm2_135m();
            let mut model = ch06_llama_qwen::Decoder::<f32>::random(&config, 42)?;
            model.save_pretrained(&dir)?;
            shared::checkpoint::narrow_file(&file, format)?;
            (
                logits(&mut model)?,
                logits(&mut ch06_llama_qwen::Decoder::<f32>::load(&open16()?, &config)?)?,
            )
        }
        other => return Err(shared::Error::InvalidArgument(format!("{other}: expected gpt2 or smollm2"))),
    };
    let max_diff = original.iter().zip(&rounded).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    let max_logit = original.iter().map(|a| a.abs()).fold(0f32, f32::max);
    let rms = |v: &ndarray::Array3<f32>| (v.iter().map(|a| (a * a) as f64).sum::<f64>() / v.len() as f64).sqrt();
    let top1 = |v: &ndarray::Array3<f32>| -> Vec<usize> {
        v.outer_iter()
            .flat_map(|seq| {
                seq.outer_iter()
                    .map(|row| {
                        row.iter()
                            .enumerate()
                            .fold((0, f32::MIN), |m, (i, &x)| if x > m.1 { (i, x) } else { m })
                            .0
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let same_top1 = top1(&original).iter().zip(top1(&rounded)).filter(|(a, b)| **a == *b).count();
    println!(
        "{shape} {}: logits of a 64-token prompt, {} weights vs the f32 weights they were rounded from: max |diff| {max_diff:.3e}, \
         rms diff {:.3e}, max |logit| {max_logit:.3}, rms logit {:.3}, same top-1 at {same_top1} of 64 positions",
        format.name(),
        format.name(),
        rms(&(&original - &rounded)),
        rms(&original),
    );
    let tokenizer = shared::cli::default_model_dir().join("tokenizer.json");
    std::fs::copy(&tokenizer, dir.join("tokenizer.json")).map_err(|source| shared::Error::Io { path: tokenizer, source })?;
    Ok(())
}

/// Logits of a fixed 64-token prompt, one uncached forward pass: `[1, 64, vocab]`.
fn logits<M: ch04_gpt::CausalLm<Float = f32>>(model: &mut M) -> shared::Result<ndarray::Array3<f32>> {
    let vocab = model.vocab_size() as u32;
    let ids: Vec<u32> = (0..64u32).map(|i| (i * 7919 + 13) % vocab).collect();
    model.forward(ndarray::ArrayView2::from_shape((1, 64), &ids).expect("64 ids"), 0, false)
}
