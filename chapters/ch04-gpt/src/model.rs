//! The GPT-2 model: embeddings, blocks, final layer norm, tied LM head.

use crate::attention::Attention;
use crate::block::Block;
use crate::mlp::Mlp;
use ch02_embeddings::GptEmbeddings;
use ch03_attention::MultiHeadAttention;
use ndarray::{s, Array2, Array3, ArrayView2, Axis};
use shared::{init, Checkpoint, Float, GptConfig, LayerNorm, Result};
use std::path::Path;

/// GPT-2, generic over the float type `F` and the attention layer `A`.
#[derive(Debug, Clone)]
pub struct Gpt<F, A = MultiHeadAttention<F>> {
    pub config: GptConfig,
    pub embeddings: GptEmbeddings<F>,
    pub blocks: Vec<Block<F, A>>,
    pub ln_f: LayerNorm<F>,
    // The LM head has no weight of its own: it is `embeddings.wte` ("tied").
}

impl<F: Float> Gpt<F, MultiHeadAttention<F>> {
    /// A model with random weights from `seed` (GPT-2's initialisation).
    pub fn random(config: &GptConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = init::rng(seed);
        let embeddings = GptEmbeddings::random(config, &mut rng);
        let blocks = (0..config.n_layers)
            .map(|_| Block {
                ln_1: LayerNorm::new(config.d_model, config.layer_norm_eps),
                attn: MultiHeadAttention::random(config, &mut rng),
                ln_2: LayerNorm::new(config.d_model, config.layer_norm_eps),
                mlp: Mlp::random(config, &mut rng),
            })
            .collect();
        Ok(Gpt {
            config: config.clone(),
            embeddings,
            blocks,
            ln_f: LayerNorm::new(config.d_model, config.layer_norm_eps),
        })
    }

    // ANCHOR: load
    /// Load the weights of a Hugging Face GPT-2 checkpoint, checking every shape against
    /// `config`. Names are those of `GPT2LMHeadModel` (`h.0.attn.c_attn.weight`, ...).
    pub fn load(ckpt: &Checkpoint, config: &GptConfig) -> Result<Self> {
        config.validate()?;
        let (d, eps) = (config.d_model, config.layer_norm_eps);
        let blocks = (0..config.n_layers)
            .map(|i| {
                Ok(Block {
                    ln_1: LayerNorm::load(ckpt, &format!("h.{i}.ln_1"), d, eps)?,
                    attn: MultiHeadAttention::load(ckpt, &format!("h.{i}.attn"), config)?,
                    ln_2: LayerNorm::load(ckpt, &format!("h.{i}.ln_2"), d, eps)?,
                    mlp: Mlp::load(ckpt, &format!("h.{i}.mlp"), config)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Gpt {
            config: config.clone(),
            embeddings: GptEmbeddings::load(ckpt, config)?,
            blocks,
            ln_f: LayerNorm::load(ckpt, "ln_f", d, eps)?,
        })
    }
    // ANCHOR_END: load

    /// Load a Hugging Face snapshot folder: `config.json` + `model.safetensors`, or the
    /// shards listed by `model.safetensors.index.json`.
    pub fn from_pretrained(dir: &Path) -> Result<Self> {
        let config = read_config(dir)?;
        let ckpt = Checkpoint::open_folder(dir)?;
        Self::load(&ckpt, &config)
    }
}

impl<F: Float> Gpt<F, MultiHeadAttention<F>> {
    /// Write `config.json` and `model.safetensors` in Hugging Face's GPT-2 layout (f32,
    /// `Conv1D` weights as `[in, out]`, tied head not stored), each file atomically.
    pub fn save_pretrained(&self, dir: &Path) -> Result<()> {
        let c = &self.config;
        let f32s = |a: ndarray::ArrayViewD<F>| a.iter().map(|x| x.as_f64() as f32).collect::<Vec<f32>>();
        let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = vec![];
        let mut put = |name: String, a: ndarray::ArrayViewD<F>| tensors.push((name, a.shape().to_vec(), f32s(a)));
        let conv1d = |l: &shared::Linear<F>| l.weight_widened().t().as_standard_layout().into_owned().into_dyn();
        put("wte.weight".into(), self.embeddings.wte.weight_widened().view().into_dyn());
        put("wpe.weight".into(), self.embeddings.wpe.weight_widened().view().into_dyn());
        for (i, b) in self.blocks.iter().enumerate() {
            let lin = |name: &str, l: &shared::Linear<F>| -> Vec<(String, ndarray::ArrayD<F>)> {
                let mut v = vec![(format!("h.{i}.{name}.weight"), conv1d(l))];
                if let Some(bias) = &l.bias {
                    v.push((format!("h.{i}.{name}.bias"), bias.clone().into_dyn()));
                }
                v
            };
            for (n, ln) in [("ln_1", &b.ln_1), ("ln_2", &b.ln_2)] {
                put(format!("h.{i}.{n}.weight"), ln.weight.view().into_dyn());
                put(format!("h.{i}.{n}.bias"), ln.bias.view().into_dyn());
            }
            for (n, a) in lin("attn.c_attn", &b.attn.c_attn)
                .into_iter()
                .chain(lin("attn.c_proj", &b.attn.c_proj))
                .chain(lin("mlp.c_fc", &b.mlp.c_fc))
                .chain(lin("mlp.c_proj", &b.mlp.c_proj))
            {
                put(n, a.view());
            }
        }
        put("ln_f.weight".into(), self.ln_f.weight.view().into_dyn());
        put("ln_f.bias".into(), self.ln_f.bias.view().into_dyn());
        shared::checkpoint::save_f32(&dir.join("model.safetensors"), &tensors)?;
        let config = serde_json::json!({
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "vocab_size": c.vocab_size,
            "n_positions": c.context_length,
            "n_embd": c.d_model,
            "n_layer": c.n_layers,
            "n_head": c.n_heads,
            "n_inner": c.d_ff,
            "layer_norm_epsilon": c.layer_norm_eps,
            "activation_function": "gelu_new",
            "eos_token_id": c.eos_token_id,
            "bos_token_id": c.eos_token_id,
        });
        let text = serde_json::to_string_pretty(&config).expect("plain json");
        shared::write_atomic(&dir.join("config.json"), text.as_bytes())
    }
}

/// Read `config.json` of a Hugging Face snapshot folder, with a clear error when the folder
/// itself is missing.
pub fn read_config(dir: &Path) -> Result<GptConfig> {
    GptConfig::from_hf_json(&shared::checkpoint::config_json_in(dir)?)
}

impl<F: Float, A: Attention<F>> Gpt<F, A> {
    // ANCHOR: hidden
    /// ids: `[batch, seq]`, the first at position `start_pos` -> `[batch, seq, d_model]`,
    /// the final hidden states (after `ln_f`).
    pub fn hidden(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array3<F>> {
        let x = self.embeddings.forward(ids, start_pos)?; // [batch, seq, d_model]
        self.hidden_from(x, use_cache)
    }

    /// The blocks and `ln_f` over embeddings x: `[batch, seq, d_model]` -> `[batch, seq, d_model]`
    /// (chapter 9 embeds each row at its own positions, then calls this).
    pub fn hidden_from(&mut self, mut x: Array3<F>, use_cache: bool) -> Result<Array3<F>> {
        for block in &mut self.blocks {
            x = block.forward(x, use_cache)?; // [batch, seq, d_model]
        }
        let (batch, seq, d_model) = x.dim();
        let x2 = x.into_shape_with_order((batch * seq, d_model)).expect("contiguous");
        let h = self.ln_f.forward(x2.view()); // [batch * seq, d_model]
        Ok(h.into_shape_with_order((batch, seq, d_model)).expect("contiguous"))
    }
    // ANCHOR_END: hidden

    // ANCHOR: lm_head
    /// The tied LM head: scores of every token id. h: `[n, d_model]` -> `[n, vocab_size]`
    pub fn lm_head(&self, h: ArrayView2<F>) -> Result<Array2<F>> {
        self.embeddings.wte.logits(h) // h . wte^T
    }
    // ANCHOR_END: lm_head

    /// Logits for every position. ids: `[batch, seq]` -> `[batch, seq, vocab_size]`
    pub fn forward(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array3<F>> {
        let h = self.hidden(ids, start_pos, use_cache)?;
        let (batch, seq, d_model) = h.dim();
        let h2 = h.into_shape_with_order((batch * seq, d_model)).expect("contiguous");
        let logits = self.lm_head(h2.view())?; // [batch * seq, vocab]
        Ok(logits.into_shape_with_order((batch, seq, self.config.vocab_size)).expect("contiguous"))
    }

    // ANCHOR: forward_last
    /// Logits of the last position only, which is all generation needs: the LM head is the
    /// largest matrix of a small model, so this skips most of its work for long inputs.
    /// ids: `[batch, seq]` -> `[batch, vocab_size]`
    pub fn forward_last(&mut self, ids: ArrayView2<u32>, start_pos: usize, use_cache: bool) -> Result<Array2<F>> {
        let h = self.hidden(ids, start_pos, use_cache)?; // [batch, seq, d_model]
        let last = h.slice(s![.., -1, ..]); // [batch, d_model]
        self.lm_head(last)
    }
    // ANCHOR_END: forward_last

    /// Logits for one sequence, uncached: `ids` -> `[seq, vocab_size]`.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Array2<F>> {
        let ids = ndarray::ArrayView2::from_shape((1, ids.len()), ids).expect("one row");
        Ok(self.forward(ids, 0, false)?.index_axis_move(Axis(0), 0))
    }

    /// Clear the KV cache of every layer (a no-op for attention without one).
    pub fn reset_kv_cache(&mut self) {
        for block in &mut self.blocks {
            block.attn.reset_cache();
        }
    }

    /// The same model with every attention layer replaced (chapter 8 adds caches this way).
    pub fn map_attention<B: Attention<F>>(self, mut f: impl FnMut(A) -> B) -> Gpt<F, B> {
        Gpt {
            config: self.config,
            embeddings: self.embeddings,
            blocks: self.blocks.into_iter().map(|b| b.map_attention(&mut f)).collect(),
            ln_f: self.ln_f,
        }
    }

    pub fn context_length(&self) -> usize {
        self.config.context_length
    }
}
