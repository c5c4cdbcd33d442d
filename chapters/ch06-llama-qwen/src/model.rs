//! One decoder for Llama, Qwen2, Qwen3 and GPT-NeoX: token embedding (no position table: the
//! positions are in the attention's rotation), blocks, final norm, LM head.

use crate::attention::RotaryAttention;
use crate::block::DecoderBlock;
use crate::config::{DecoderConfig, Family};
use crate::feed_forward::{FeedForward, FeedForwardLayer, GeluMlp};
use crate::norm::Norm;
use crate::swiglu::SwiGlu;
use ch04_gpt::{Attention, CausalLm};
use ndarray::{s, Array2, Array3, ArrayView2, Axis};
use ndarray_rand::rand::rngs::StdRng;
use shared::{init, Checkpoint, Embedding, Error, Float, Linear, Result};
use std::path::Path;

/// The standard deviation of random weights (transformers' `initializer_range` default).
const INIT_STD: f64 = 0.02;

/// A decoder-only model of one of the four families, generic over the float type `F`, the
/// attention layer `A` (chapter 8 swaps in a cached one with [`Decoder::map_attention`]) and
/// the feed-forward `M` (chapter 7 loads a mixture of experts with [`Decoder::load_with`]).
#[derive(Debug, Clone)]
pub struct Decoder<F, A = RotaryAttention<F>, M = FeedForward<F>> {
    pub config: DecoderConfig,
    pub embed_tokens: Embedding<F>, // [vocab_size, d_model]
    pub blocks: Vec<DecoderBlock<F, A, M>>,
    pub norm: Norm<F>,
    /// `lm_head` / `embed_out`: `[vocab_size, d_model]`; `None` when tied to `embed_tokens`.
    pub lm_head: Option<Linear<F>>,
}

/// Where each family keeps its tensors.
struct Names {
    embed: &'static str,
    layers: &'static str,
    attn: &'static str,
    final_norm: &'static str,
    lm_head: &'static str,
}

fn names(family: Family) -> Names {
    match family {
        Family::GptNeoX => Names {
            embed: "gpt_neox.embed_in",
            layers: "gpt_neox.layers",
            attn: "attention",
            final_norm: "gpt_neox.final_layer_norm",
            lm_head: "embed_out",
        },
        _ => Names {
            embed: "model.embed_tokens",
            layers: "model.layers",
            attn: "self_attn",
            final_norm: "model.norm",
            lm_head: "lm_head",
        },
    }
}

impl<F: Float> Decoder<F, RotaryAttention<F>> {
    /// A model with random weights from `seed`: every matrix from N(0, 0.02^2), biases zero,
    /// norms one (transformers' initialisation of these families).
    pub fn random(config: &DecoderConfig, seed: u64) -> Result<Self> {
        let c = config;
        Decoder::random_with(config, seed, |_, rng| {
            Ok(if c.family == Family::GptNeoX {
                FeedForward::Gelu(GeluMlp {
                    dense_h_to_4h: Linear::random(c.d_model, c.d_ff, c.mlp_bias, INIT_STD, rng),
                    dense_4h_to_h: Linear::random(c.d_ff, c.d_model, c.mlp_bias, INIT_STD, rng),
                })
            } else {
                FeedForward::SwiGlu(SwiGlu::new(
                    Linear::random(c.d_model, c.d_ff, c.mlp_bias, INIT_STD, rng), // gate_proj
                    Linear::random(c.d_model, c.d_ff, c.mlp_bias, INIT_STD, rng), // up_proj
                    Linear::random(c.d_ff, c.d_model, c.mlp_bias, INIT_STD, rng), // down_proj
                )?)
            })
        })
    }

    // ANCHOR: load
    /// Load the weights of a Hugging Face checkpoint of `config.family`, checking every shape
    /// against `config`. A missing tensor is an error that names it.
    pub fn load(ckpt: &Checkpoint, config: &DecoderConfig) -> Result<Self> {
        let (c, d) = (config, config.d_model);
        Decoder::load_with(ckpt, config, |_, layer| {
            Ok(if c.family == Family::GptNeoX {
                FeedForward::Gelu(GeluMlp {
                    dense_h_to_4h: Linear::load(ckpt, &format!("{layer}.mlp.dense_h_to_4h"), d, c.d_ff, c.mlp_bias)?,
                    dense_4h_to_h: Linear::load(ckpt, &format!("{layer}.mlp.dense_4h_to_h"), c.d_ff, d, c.mlp_bias)?,
                })
            } else {
                FeedForward::SwiGlu(SwiGlu::new(
                    Linear::load(ckpt, &format!("{layer}.mlp.gate_proj"), d, c.d_ff, c.mlp_bias)?,
                    Linear::load(ckpt, &format!("{layer}.mlp.up_proj"), d, c.d_ff, c.mlp_bias)?,
                    Linear::load(ckpt, &format!("{layer}.mlp.down_proj"), c.d_ff, d, c.mlp_bias)?,
                )?)
            })
        })
    }
    // ANCHOR_END: load

    /// Load a Hugging Face snapshot folder: `config.json` + `model.safetensors`, or the shards
    /// listed by `model.safetensors.index.json` (f32, f64, f16 or bf16 weights).
    pub fn from_pretrained(dir: &Path) -> Result<Self> {
        let config = read_config(dir)?;
        let ckpt = Checkpoint::open_folder(dir)?;
        Self::load(&ckpt, &config)
    }
}

impl<F: Float, M> Decoder<F, RotaryAttention<F>, M> {
    /// [`Decoder::random`] with the feed-forward of each block made by `mlp(layer index, rng)`
    /// (drawn after the block's attention, from the same generator).
    pub fn random_with<R>(config: &DecoderConfig, seed: u64, mut mlp: R) -> Result<Self>
    where
        R: FnMut(usize, &mut StdRng) -> Result<M>,
    {
        config.validate()?;
        let c = config;
        let mut rng = init::rng(seed);
        let neox = c.family == Family::GptNeoX;
        let embed_tokens = Embedding::new(init::normal((c.vocab_size, c.d_model), INIT_STD, &mut rng));
        let blocks = (0..c.n_layers)
            .map(|i| {
                let attn = RotaryAttention::random(c, INIT_STD, &mut rng)?;
                Ok(DecoderBlock {
                    input_norm: Norm::new(c.d_model, c.norm_eps, neox),
                    attn,
                    post_attention_norm: Norm::new(c.d_model, c.norm_eps, neox),
                    mlp: mlp(i, &mut rng)?,
                    parallel_residual: c.parallel_residual,
                })
            })
            .collect::<Result<_>>()?;
        let lm_head = (!c.tie_word_embeddings).then(|| Linear::random(c.d_model, c.vocab_size, false, INIT_STD, &mut rng));
        Ok(Decoder { config: c.clone(), embed_tokens, blocks, norm: Norm::new(c.d_model, c.norm_eps, neox), lm_head })
    }

    // ANCHOR: load_with
    /// [`Decoder::load`] with the feed-forward of each block read by `mlp(layer index, layer
    /// prefix)`, e.g. `mlp(3, "model.layers.3")`.
    pub fn load_with<R>(ckpt: &Checkpoint, config: &DecoderConfig, mut mlp: R) -> Result<Self>
    where
        R: FnMut(usize, &str) -> Result<M>,
    {
        config.validate()?;
        let c = config;
        let n = names(c.family);
        let (d, eps, neox) = (c.d_model, c.norm_eps, c.family == Family::GptNeoX);
        let blocks = (0..c.n_layers)
            .map(|i| {
                let layer = format!("{}.{i}", n.layers);
                // in the order of the forward pass, so the first missing tensor is reported
                let input_norm = Norm::load(ckpt, &format!("{layer}.input_layernorm"), d, eps, neox)?;
                let attn = RotaryAttention::load(ckpt, &format!("{layer}.{}", n.attn), c)?;
                let post_attention_norm = Norm::load(ckpt, &format!("{layer}.post_attention_layernorm"), d, eps, neox)?;
                let mlp = mlp(i, &layer)?;
                Ok(DecoderBlock { input_norm, attn, post_attention_norm, mlp, parallel_residual: c.parallel_residual })
            })
            .collect::<Result<_>>()?;
        let lm_head = match c.tie_word_embeddings {
            true => None, // a stored `lm_head.weight` of a tied model is the same matrix: not read
            false => Some(Linear::load(ckpt, n.lm_head, d, c.vocab_size, false)?),
        };
        Ok(Decoder {
            config: c.clone(),
            embed_tokens: Embedding::load(ckpt, &format!("{}.weight", n.embed), c.vocab_size, d)?,
            blocks,
            norm: Norm::load(ckpt, n.final_norm, d, eps, neox)?,
            lm_head,
        })
    }
    // ANCHOR_END: load_with
}

/// Read `config.json` of a Hugging Face snapshot folder, with a clear error when the folder
/// itself is missing.
pub fn read_config(dir: &Path) -> Result<DecoderConfig> {
    DecoderConfig::from_hf_json(&shared::checkpoint::config_json_in(dir)?)
}

impl<F: Float, A: Attention<F>, M: FeedForwardLayer<F>> Decoder<F, A, M> {
    // ANCHOR: hidden
    /// ids: `[batch, seq]` -> the final hidden states `[batch, seq, d_model]` (after the norm).
    ///
    /// There is no position table to offset: the attention rotates queries and keys. Without a
    /// cache it rotates from position 0, which gives the same scores as any other start (RoPE
    /// sees only distances); a cached attention (chapter 8) knows its own positions.
    /// `start_pos` is checked against the context length.
    pub fn hidden(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array3<F>> {
        let (batch, seq) = ids.dim();
        if start_pos + seq > self.config.context_length {
            return Err(Error::ContextOverflow { len: start_pos + seq, context_length: self.config.context_length });
        }
        let d_model = self.config.d_model;
        let x = self.embed_tokens.forward(ids.iter().map(|&id| id as usize))?; // [batch * seq, d_model]
        let mut x = x.into_shape_with_order((batch, seq, d_model)).expect("contiguous");
        for block in &mut self.blocks {
            x = block.forward(x, use_cache)?; // [batch, seq, d_model]
        }
        let x2 = x.into_shape_with_order((batch * seq, d_model)).expect("contiguous");
        let h = self.norm.forward(x2.view())?; // [batch * seq, d_model]
        Ok(h.into_shape_with_order((batch, seq, d_model)).expect("contiguous"))
    }
    // ANCHOR_END: hidden

    /// Scores of every token id: `lm_head`, or the token embedding when tied.
    /// h: `[n, d_model]` -> `[n, vocab_size]`
    pub fn lm_head(&self, h: ArrayView2<F>) -> Result<Array2<F>> {
        match &self.lm_head {
            Some(head) => head.forward(h),
            None => self.embed_tokens.logits(h), // h . embed^T
        }
    }

    /// Logits for every position. ids: `[batch, seq]` -> `[batch, seq, vocab_size]`
    pub fn forward(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array3<F>> {
        let h = self.hidden(ids, start_pos, use_cache)?;
        let (batch, seq, d_model) = h.dim();
        let h2 = h.into_shape_with_order((batch * seq, d_model)).expect("contiguous");
        let logits = self.lm_head(h2.view())?; // [batch * seq, vocab]
        Ok(logits.into_shape_with_order((batch, seq, self.config.vocab_size)).expect("contiguous"))
    }

    /// Logits of the last position only. ids: `[batch, seq]` -> `[batch, vocab_size]`
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array2<F>> {
        let h = self.hidden(ids, start_pos, use_cache)?; // [batch, seq, d_model]
        self.lm_head(h.slice(s![.., -1, ..]))
    }

    /// Logits for one sequence, uncached: `ids` -> `[seq, vocab_size]`.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Array2<F>> {
        let ids = ArrayView2::from_shape((1, ids.len()), ids).expect("one row");
        Ok(self.forward(ids, 0, false)?.index_axis_move(Axis(0), 0))
    }

    /// Clear the KV cache of every layer (a no-op for attention without one).
    pub fn reset_kv_cache(&mut self) {
        for block in &mut self.blocks {
            block.attn.reset_cache();
        }
    }

    /// The same model with every attention layer replaced (chapter 8 adds caches this way).
    pub fn map_attention<B: Attention<F>>(self, mut f: impl FnMut(A) -> B) -> Decoder<F, B, M> {
        Decoder {
            config: self.config,
            embed_tokens: self.embed_tokens,
            blocks: self.blocks.into_iter().map(|b| b.map_attention(&mut f)).collect(),
            norm: self.norm,
            lm_head: self.lm_head,
        }
    }

    pub fn context_length(&self) -> usize {
        self.config.context_length
    }
}

impl<F: Float, A: Attention<F>, M: FeedForwardLayer<F>> CausalLm for Decoder<F, A, M> {
    type Float = F;
    type Attn = A;

    fn forward(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array3<F>> {
        Decoder::forward(self, ids, start_pos, use_cache)
    }

    fn forward_last(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array2<F>> {
        Decoder::forward_last(self, ids, start_pos, use_cache)
    }

    fn attention_layers(&self) -> Vec<&A> {
        self.blocks.iter().map(|b| &b.attn).collect()
    }

    fn reset_kv_cache(&mut self) {
        Decoder::reset_kv_cache(self)
    }

    fn context_length(&self) -> usize {
        self.config.context_length
    }

    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ch04_gpt::{generate, GenerateOptions};

    fn tiny(family: Family) -> DecoderConfig {
        DecoderConfig::tiny(family, 40, 16, 2, 4, if family == Family::GptNeoX { 4 } else { 2 })
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ch06-model-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn every_family_saves_and_loads_back_to_the_same_logits() {
        let ids = [3u32, 1, 4, 1, 5, 9, 2];
        for family in [Family::Llama, Family::Qwen2, Family::Qwen3, Family::GptNeoX] {
            for tied in [false, true] {
                let config = DecoderConfig { tie_word_embeddings: tied, ..tiny(family) };
                let mut model = Decoder::<f32>::random(&config, 5).unwrap();
                // non-trivial norms and biases, so a swapped tensor shows
                for b in &mut model.blocks {
                    if let Some(bias) = &mut b.attn.mha.c_attn.bias {
                        bias.iter_mut().enumerate().for_each(|(i, v)| *v = (i as f32 * 0.37).sin() * 0.1);
                    }
                    if let Some(n) = &mut b.attn.q_norm {
                        n.weight.iter_mut().enumerate().for_each(|(i, v)| *v = 1.0 + i as f32 * 0.1);
                    }
                }
                let dir = temp_dir(&format!("{family:?}-{tied}"));
                model.save_pretrained(&dir).unwrap();
                let mut loaded = Decoder::<f32>::from_pretrained(&dir).unwrap();
                assert_eq!(loaded.config, model.config, "{family:?}");
                assert_eq!(loaded.logits(&ids).unwrap(), model.logits(&ids).unwrap(), "{family:?} tied={tied}");
                assert_eq!(loaded.lm_head.is_none(), tied);
            }
        }
    }

    #[test]
    fn logits_of_a_prefix_do_not_depend_on_later_tokens() {
        for family in [Family::Llama, Family::Qwen3, Family::GptNeoX] {
            let mut model = Decoder::<f64>::random(&tiny(family), 6).unwrap();
            let long = model.logits(&[7, 8, 9, 10, 11]).unwrap();
            let short = model.logits(&[7, 8, 9]).unwrap();
            let diff = (&long.slice(s![..3, ..]) - &short).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
            assert!(diff < 1e-12, "{family:?}: {diff}");
            let last = model.forward_last(ArrayView2::from_shape((1, 5), &[7, 8, 9, 10, 11]).unwrap(), 0, false).unwrap();
            // (one row runs the matrix x vector product: equal up to rounding)
            assert!((&last.row(0) - &long.row(4)).iter().all(|d| d.abs() < 1e-12));
        }
    }

    #[test]
    fn the_tied_head_scores_with_the_token_embedding() {
        let config = DecoderConfig { tie_word_embeddings: true, ..tiny(Family::Llama) };
        let mut model = Decoder::<f64>::random(&config, 7).unwrap();
        let ids = ArrayView2::from_shape((1, 2), &[1u32, 2]).unwrap();
        let h = model.hidden(ids, 0, false).unwrap(); // [1, 2, 16]
        let logits = model.logits(&[1, 2]).unwrap();
        for v in [0, 17, 39] {
            let want: f64 = (0..16).map(|k| h[[0, 1, k]] * model.embed_tokens.weight[[v, k]]).sum();
            assert!((logits[[1, v]] - want).abs() < 1e-12);
        }
    }

    #[test]
    fn generation_runs_through_chapter_4_and_checks_its_inputs() {
        let mut model = Decoder::<f32>::random(&tiny(Family::Qwen2), 8).unwrap();
        let opts = GenerateOptions { max_new_tokens: 5, ..Default::default() };
        let out = generate(&mut model, &[1, 2, 3], &opts, |_| Ok(())).unwrap();
        assert_eq!(out.new_ids.len(), 5);
        // greedy = argmax of the uncached logits at each step
        let mut seq = vec![1u32, 2, 3];
        for &id in &out.new_ids {
            let logits = model.logits(&seq).unwrap();
            let row = logits.row(seq.len() - 1);
            let best = (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap() as u32;
            assert_eq!(id, best);
            seq.push(id);
        }
        assert!(matches!(model.logits(&[40]), Err(Error::TokenOutOfRange { id: 40, .. })));
        assert!(matches!(model.logits(&[1; 65]), Err(Error::ContextOverflow { .. })));
        assert!(model.forward(ArrayView2::from_shape((1, 1), &[1u32]).unwrap(), 0, true).is_err(), "no cache here");
    }

    #[test]
    fn map_attention_keeps_the_model() {
        let mut model = Decoder::<f64>::random(&tiny(Family::Llama), 9).unwrap();
        let want = model.logits(&[1, 2, 3]).unwrap();
        let mut mapped = model.map_attention(|a| a);
        assert_eq!(mapped.logits(&[1, 2, 3]).unwrap(), want);
        assert_eq!(CausalLm::attention_layers(&mapped).len(), 2);
    }
}
