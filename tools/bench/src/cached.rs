//! The one adapter of chapter 8's cached models to [`measure::Decoder`], whatever the family:
//! `KvModel<M>` holds GPT-2 (`KvGpt`) or chapter 6's Llama, Qwen and GPT-NeoX (`KvDecoder`)
//! behind the same `generate`, `forward_last`, `reset_kv_cache` and `cache_info`.

use ch04_gpt::{GenerateOptions, Sampling};
use ch08_kv_cache::{KvModel, WithCaches};
use measure::flops::ModelShape;
use measure::{DecodeRun, Decoder};
use ndarray::ArrayView2;

/// A cached model and the shape the benchmark's formulas read.
pub struct Cached<M: WithCaches> {
    model: KvModel<M>,
    shape: ModelShape,
}

impl<M: WithCaches> Cached<M> {
    /// `model` (built with `KvModel::preallocated`: room for the whole context, written in
    /// place) and `shape`, its family's count of it.
    pub fn new(model: KvModel<M>, shape: ModelShape) -> Self {
        Cached { model, shape }
    }
}

impl<M: WithCaches + Send> Decoder for Cached<M> {
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
        // on a rayon worker, as `generate` runs its prefill (shared::on_worker_thread)
        let logits = shared::on_worker_thread(|| self.model.forward_last(row, true))?; // [1, vocab]
        std::hint::black_box(logits);
        Ok(())
    }

    fn kv_cache_allocated_bytes(&self) -> u64 {
        self.model.cache_info().total_allocated_bytes() as u64
    }
}
