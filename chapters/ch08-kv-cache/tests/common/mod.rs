//! Helpers shared by chapter 8's tests: tiny models and comparisons.
#![allow(dead_code)]

use ch04_gpt::{CausalLm, Gpt};
use ch08_kv_cache::{CacheStorage, KvGpt, KvModel, WithCaches};
use ndarray::{s, Array2, ArrayView2, Axis};
use shared::{Float, GptConfig};

/// A model small enough for debug builds, with GQA (4 query heads share 2 KV heads).
pub fn tiny_config() -> GptConfig {
    let mut c = GptConfig::gpt2_like(101, 40, 32, 3, 4);
    c.n_kv_heads = 2;
    c
}

/// GPT-2's layout: one KV head per query head.
pub fn tiny_mha_config() -> GptConfig {
    GptConfig::gpt2_like(101, 40, 32, 2, 4)
}

pub fn uncached<F: Float>(config: &GptConfig, seed: u64) -> Gpt<F> {
    Gpt::random(config, seed).unwrap()
}

pub fn cached<F: Float>(config: &GptConfig, seed: u64, storage: CacheStorage) -> KvGpt<F> {
    KvGpt::new(Gpt::random(config, seed).unwrap(), storage)
}

/// The committed transformers fixture `gpt2-tiny-b` (see `tests/fixtures/README.md` at the
/// workspace root): 3 layers, 4 heads, width 48, context 48, vocabulary 517, weights drawn with
/// std 0.3, so that its greedy continuations vary (random weights at GPT-2's 0.02 repeat one
/// token). The workspace's parity tests prove its uncached logits equal transformers'.
pub fn fixture_model<F: Float>() -> Gpt<F> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpt2-tiny-b");
    Gpt::from_pretrained(&dir).unwrap()
}

/// Feed a prompt then `steps` greedy tokens one by one to `model` (with its cache), and compare
/// the logits of every new position with `reference` (the same weights, uncached) run over the
/// whole sequence. Returns the largest difference; fails above `tol`.
pub fn logits_match<M: WithCaches>(
    mut reference: M::Plain,
    mut model: KvModel<M>,
    tol: f64,
    prompt_len: usize,
    steps: usize,
    vocab: u32,
) -> f64 {
    let name = <M::Float as Float>::NAME;
    let mut seq = prompt(prompt_len, vocab, 1);
    let mut worst = 0.0f64;
    let mut logits = model.forward(row(&seq), true).unwrap().index_axis_move(Axis(0), 0); // [t, vocab]
    for step in 0..=steps {
        let full = reference.forward(row(&seq), 0, false).unwrap().index_axis_move(Axis(0), 0); // [len, vocab], uncached
        let new_rows = full.slice(s![full.nrows() - logits.nrows().., ..]);
        let diff = max_abs_diff(&logits, new_rows);
        assert!(diff <= tol, "{name} step {step}: max |cached - uncached| = {diff:e} > {tol:e}");
        worst = worst.max(diff);
        if step == steps {
            break;
        }
        let last: Vec<f64> = logits.row(logits.nrows() - 1).iter().map(|x| x.as_f64()).collect();
        let next = ch04_gpt::sampling::argmax(&last);
        seq.push(next);
        logits = model.forward(row(&[next]), true).unwrap().index_axis_move(Axis(0), 0); // [1, vocab]
    }
    worst
}

pub const STORAGES: [CacheStorage; 2] = [CacheStorage::Concat, CacheStorage::Preallocated { capacity: 40 }];

pub fn row(ids: &[u32]) -> ArrayView2<'_, u32> {
    ArrayView2::from_shape((1, ids.len()), ids).unwrap()
}

pub fn max_abs_diff<F: Float>(a: &Array2<F>, b: ArrayView2<F>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(x, y)| (x.as_f64() - y.as_f64()).abs()).fold(0.0, f64::max)
}

/// A fixed pseudo-random prompt of `len` ids below `vocab`.
pub fn prompt(len: usize, vocab: u32, salt: u32) -> Vec<u32> {
    (0..len as u32).map(|i| (i * 37 + salt * 11 + 5) % vocab).collect()
}

use ch04_gpt::{generate, GenerateOptions, NextToken};
use ndarray::Array1;

/// Wraps a model and remembers the logits of every step, to print them in snapshots.
pub struct Recording<'a, M> {
    pub model: &'a mut M,
    pub steps: Vec<Array1<f64>>,
}

impl<'a, M: NextToken<f64>> NextToken<f64> for Recording<'a, M> {
    fn next_logits(&mut self, tokens: &[u32]) -> shared::Result<Array1<f64>> {
        let l = self.model.next_logits(tokens)?;
        self.steps.push(l.clone());
        Ok(l)
    }
    fn start(&mut self) -> shared::Result<()> {
        self.model.start()
    }
    fn context_length(&self) -> usize {
        self.model.context_length()
    }
}

/// Generate and render ids plus the top-5 logits of every step as text (6 decimals: the f64
/// cached and uncached runs agree within `shared::tolerance::F64_REORDERED`, far below the rounding).
pub fn trace<M: NextToken<f64>>(model: &mut M, prompt: &[u32], options: &GenerateOptions) -> String {
    let mut rec = Recording { model, steps: vec![] };
    let out = generate(&mut rec, prompt, options, |_| Ok(())).unwrap();
    let mut text = format!("prompt: {:?}\ngenerated: {:?}\n", out.prompt_ids, out.new_ids);
    for (i, l) in rec.steps.iter().enumerate() {
        let mut idx: Vec<usize> = (0..l.len()).collect();
        idx.sort_by(|&a, &b| l[b].total_cmp(&l[a]).then(a.cmp(&b)));
        let top: Vec<String> = idx[..5].iter().map(|&j| format!("{j}:{:.6}", l[j])).collect();
        text += &format!("step {i:>2} top5 {}\n", top.join(" "));
    }
    text
}
