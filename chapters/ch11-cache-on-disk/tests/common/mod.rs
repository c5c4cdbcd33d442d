//! Helpers shared by chapter 11's tests.
#![allow(dead_code)]

use ch04_gpt::{generate, CausalLm, GenerateOptions, Gpt, Sampling};
use ch06_llama_qwen::{Decoder, RotaryAttention};
use ch08_kv_cache::{CacheStorage, CachedAttention, KvModel, WithCaches};
use ch11_cache_on_disk::{load_cache, save_cache, CacheShape, Dtype, Fingerprint, Resumed};
use ndarray::{s, Array2, ArrayView2, Axis};
use shared::Float;
use std::path::{Path, PathBuf};

/// The model types inside chapter 8's `KvGpt` / `KvDecoder`.
pub type KvGptOf<F> = Gpt<F, CachedAttention<F>>;
pub type KvDecoderOf<F> = Decoder<F, CachedAttention<F, RotaryAttention<F>>>;

pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// A fresh path for one test's file.
pub fn temp_file(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ch11");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.kvc"));
    let _ = std::fs::remove_file(&path);
    path
}

pub fn greedy(max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens, sampling: Sampling::GREEDY, seed: 0, eos_token_id: None }
}

pub fn row(ids: &[u32]) -> ArrayView2<'_, u32> {
    ArrayView2::from_shape((1, ids.len()), ids).unwrap()
}

pub fn max_abs_diff<F: Float>(a: &Array2<F>, b: ArrayView2<F>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(x, y)| (x.as_f64() - y.as_f64()).abs()).fold(0.0, f64::max)
}

/// The context ids of the tiny GPT-2 fixture `gpt2-tiny-a` saved after a short context.
pub const GPT2_CONTEXT: [u32; 12] = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];

/// Save `gpt2-tiny-a`'s cache after [`GPT2_CONTEXT`] to a fresh file.
pub fn saved_gpt2_cache(name: &str) -> PathBuf {
    let dir = fixture_dir("gpt2-tiny-a");
    let mut model = KvModel::<KvGptOf<f32>>::new(Gpt::from_pretrained(&dir).unwrap(), ch08_kv_cache::CacheStorage::Concat);
    model.forward(row(&GPT2_CONTEXT), true).unwrap();
    let file = temp_file(name);
    save_cache(&file, &model, &GPT2_CONTEXT, Fingerprint::of_folder(&dir).unwrap(), Dtype::F32).unwrap();
    file
}

pub const CONTEXT: &str = "Once upon a time, a cat";
pub const QUESTIONS: [&str; 2] = [" What did it see?", " Where"];

/// Save `dir`'s cache after [`CONTEXT`] in `dtype`, load it into a fresh model, and answer each
/// of [`QUESTIONS`]: the question's logits are within `tol` of plain uncached generation on
/// context ++ question, and 5 greedy tokens are equal. Returns the largest logits difference.
pub fn save_load_answer<M>(name: &str, dir: &Path, load: impl Fn() -> M::Plain, dtype: Dtype, tol: f64) -> f64
where
    M: WithCaches + CacheShape + Send,
{
    let tokenizer = ch01_tokenizer::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let context = tokenizer.encode_prompt(CONTEXT).unwrap();
    let fingerprint = Fingerprint::of_folder(dir).unwrap();
    let file = temp_file(name);
    {
        let mut writer = KvModel::<M>::new(load(), CacheStorage::Concat);
        writer.forward(row(&context), true).unwrap();
        save_cache(&file, &writer, &context, fingerprint, dtype).unwrap();
    } // the writer is gone: only the file remains
    let mut worst = 0.0f64;
    for question in QUESTIONS {
        let q = tokenizer.encode(question).unwrap(); // on its own, appended
        let full: Vec<u32> = context.iter().chain(&q).copied().collect();
        // logits of the question's positions, from the loaded cache
        let mut fresh = KvModel::<M>::preallocated(load());
        assert_eq!(load_cache(&file, &mut fresh, fingerprint).unwrap(), context);
        assert_eq!(fresh.current_pos().unwrap(), context.len());
        let cached = fresh.forward(row(&q), true).unwrap().index_axis_move(Axis(0), 0); // [q, vocab]
        let mut plain = load();
        let all = plain.forward(row(&full), 0, false).unwrap().index_axis_move(Axis(0), 0); // [ctx + q, vocab]
        let diff = max_abs_diff(&cached, all.slice(s![context.len().., ..]));
        assert!(diff <= tol, "{name} {question:?}: max |loaded - plain| = {diff:e} > {tol:e}");
        worst = worst.max(diff);
        // greedy tokens: chapter 4's loop over the loaded cache, and over the plain model
        let mut again = KvModel::<M>::preallocated(load());
        let ids = load_cache(&file, &mut again, fingerprint).unwrap();
        let options = greedy(5);
        let answer = generate(&mut Resumed { model: &mut again, cached: ids }, &full, &options, |_| Ok(())).unwrap();
        let expected = generate(&mut plain, &full, &options, |_| Ok(())).unwrap();
        assert_eq!(answer.new_ids, expected.new_ids, "{name} {question:?}");
    }
    eprintln!("{name} ({} model, {} file): max |loaded - plain| logits = {worst:e}", <M::Float as Float>::NAME, dtype.name());
    worst
}

