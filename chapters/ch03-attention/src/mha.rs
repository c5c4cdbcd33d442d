//! Multi-head (and grouped-query) self-attention with GPT-2's fused `c_attn` projection.

use crate::heads::{merge_heads, split_heads};
use ndarray::{s, Array3, Array4, ArrayView3, ArrayView4};
use ndarray_rand::rand::Rng;
use shared::{causal_attention, masked_attention, Checkpoint, Error, Float, GptConfig, Linear, Result};

/// Queries, keys and values of a chunk of tokens, split into heads.
pub struct Qkv<F> {
    pub q: Array4<F>, // [batch, n_heads, seq, head_dim]
    pub k: Array4<F>, // [batch, n_kv_heads, seq, head_dim]
    pub v: Array4<F>, // [batch, n_kv_heads, seq, head_dim]
}

/// Self-attention: `c_attn` makes q, k, v in one matrix product; `c_proj` mixes the heads.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention<F> {
    pub c_attn: Linear<F>, // d_model -> (n_heads + 2 * n_kv_heads) * head_dim
    pub c_proj: Linear<F>, // n_heads * head_dim -> d_model
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
}

impl<F: Float> MultiHeadAttention<F> {
    /// GPT-2's initialisation: N(0, 0.02^2), output projection scaled by 1/sqrt(2 n_layers).
    pub fn random<R: Rng>(config: &GptConfig, rng: &mut R) -> Self {
        let (d, hd) = (config.d_model, config.head_dim());
        let qkv_width = (config.n_heads + 2 * config.n_kv_heads) * hd;
        let proj_std = 0.02 / (2.0 * config.n_layers as f64).sqrt();
        MultiHeadAttention {
            c_attn: Linear::random(d, qkv_width, true, 0.02, rng),
            c_proj: Linear::random(config.n_heads * hd, d, true, proj_std, rng),
            n_heads: config.n_heads,
            n_kv_heads: config.n_kv_heads,
            head_dim: hd,
        }
    }

    /// Load `{prefix}.c_attn` and `{prefix}.c_proj` (GPT-2 `Conv1D`s), e.g. prefix `h.0.attn`.
    pub fn load(ckpt: &Checkpoint, prefix: &str, config: &GptConfig) -> Result<Self> {
        let (d, hd) = (config.d_model, config.head_dim());
        let qkv_width = (config.n_heads + 2 * config.n_kv_heads) * hd;
        Ok(MultiHeadAttention {
            c_attn: Linear::load_conv1d(ckpt, &format!("{prefix}.c_attn"), d, qkv_width)?,
            c_proj: Linear::load_conv1d(ckpt, &format!("{prefix}.c_proj"), config.n_heads * hd, d)?,
            n_heads: config.n_heads,
            n_kv_heads: config.n_kv_heads,
            head_dim: hd,
        })
    }

    // ANCHOR: project_qkv
    /// x: `[batch, seq, d_model]` -> q `[batch, n_heads, seq, head_dim]`,
    /// k and v `[batch, n_kv_heads, seq, head_dim]`
    pub fn project_qkv(&self, x: ArrayView3<F>) -> Result<Qkv<F>> {
        let (batch, seq, d_model) = x.dim();
        let x2 = x.as_standard_layout();
        let x2 = x2.view().into_shape_with_order((batch * seq, d_model)).expect("contiguous");
        let qkv = self.c_attn.forward(x2)?; // [batch * seq, (n_heads + 2 n_kv_heads) * head_dim]
        let q_width = self.n_heads * self.head_dim;
        let kv_width = self.n_kv_heads * self.head_dim;
        let q = qkv.slice(s![.., ..q_width]);
        let k = qkv.slice(s![.., q_width..q_width + kv_width]);
        let v = qkv.slice(s![.., q_width + kv_width..]);
        Ok(Qkv {
            q: split_heads(q, batch, self.n_heads),
            k: split_heads(k, batch, self.n_kv_heads),
            v: split_heads(v, batch, self.n_kv_heads),
        })
    }
    // ANCHOR_END: project_qkv

    // ANCHOR: attend
    /// Attention of the queries over keys/values (which may hold more, earlier positions),
    /// then the output projection.
    /// q: `[batch, n_heads, q_len, head_dim]`, k/v: `[batch, n_kv_heads, kv_len, head_dim]`
    /// -> `[batch, q_len, d_model]`
    ///
    /// The model runs `shared::causal_attention`: the same function as the plain
    /// [`scaled_dot_product_attention`](crate::scaled_dot_product_attention), with the
    /// heads on every core (tests check the two agree).
    pub fn attend(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<Array3<F>> {
        let context = causal_attention(q, k, v)?; // [batch, n_heads, q_len, head_dim]
        self.merge_and_project(context.view())
    }

    /// The heads side by side, then `c_proj`: context `[batch, n_heads, q_len, head_dim]` ->
    /// `[batch, q_len, d_model]`.
    fn merge_and_project(&self, context: ArrayView4<F>) -> Result<Array3<F>> {
        let merged = merge_heads(context); // [batch, q_len, n_heads * head_dim]
        let (batch, q_len, width) = merged.dim();
        let flat = merged.into_shape_with_order((batch * q_len, width)).expect("contiguous");
        let out = self.c_proj.forward(flat.view())?; // [batch * q_len, d_model]
        let d_model = out.ncols();
        Ok(out.into_shape_with_order((batch, q_len, d_model)).expect("contiguous"))
    }
    // ANCHOR_END: attend

    // ANCHOR: attend_masked
    /// [`attend`](Self::attend) with a mask per batch row instead of the one causal mask (chapter
    /// 9: each row of a batch hides its own padding). mask: `[batch, q_len, kv_len]`, additive,
    /// hiding at least the future (see `shared::masked_attention`).
    pub fn attend_masked(&self, q: ArrayView4<F>, k: ArrayView4<F>, v: ArrayView4<F>, mask: ArrayView3<F>) -> Result<Array3<F>> {
        let context = masked_attention(q, k, v, mask)?; // [batch, n_heads, q_len, head_dim]
        self.merge_and_project(context.view())
    }
    // ANCHOR_END: attend_masked

    // ANCHOR: forward
    /// Uncached self-attention: x holds the whole sequence.
    /// x: `[batch, seq, d_model]` -> `[batch, seq, d_model]`
    pub fn forward(&self, x: ArrayView3<F>) -> Result<Array3<F>> {
        let Qkv { q, k, v } = self.project_qkv(x)?;
        self.attend(q.view(), k.view(), v.view())
    }
    // ANCHOR_END: forward

    /// Check the configuration a caller built by hand.
    pub fn validate(&self) -> Result<()> {
        if self.n_kv_heads == 0 || self.n_heads % self.n_kv_heads != 0 {
            return Err(Error::InvalidConfig(format!(
                "n_heads {} is not a multiple of n_kv_heads {}",
                self.n_heads, self.n_kv_heads
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{concatenate, Array2, Axis};
    use shared::init;

    fn config(n_heads: usize, n_kv_heads: usize) -> GptConfig {
        let mut c = GptConfig::gpt2_like(50, 16, 16, 2, n_heads);
        c.n_kv_heads = n_kv_heads;
        c
    }

    /// Grouped-query attention must equal multi-head attention whose key/value heads are the
    /// GQA heads repeated `group` times (an independent construction of the same function).
    #[test]
    fn gqa_equals_mha_with_repeated_kv_heads() {
        let (n_heads, n_kv_heads) = (4, 2);
        let mut rng = init::rng(3);
        let gqa = MultiHeadAttention::<f64>::random(&config(n_heads, n_kv_heads), &mut rng);
        let hd = gqa.head_dim;
        let group = n_heads / n_kv_heads;
        // rows of c_attn.weight: [q heads | k heads | v heads], each head `hd` rows
        let w = &gqa.c_attn.weight;
        let b = gqa.c_attn.bias.as_ref().unwrap();
        let q_rows = n_heads * hd;
        let repeat = |start: usize| -> (Array2<f64>, Vec<f64>) {
            let mut ws = vec![];
            let mut bs = vec![];
            for kv in 0..n_kv_heads {
                for _ in 0..group {
                    let r = start + kv * hd;
                    ws.push(w.slice(s![r..r + hd, ..]).to_owned());
                    bs.extend(b.slice(s![r..r + hd]).iter().copied());
                }
            }
            let views: Vec<_> = ws.iter().map(|a| a.view()).collect();
            (concatenate(Axis(0), &views).unwrap(), bs)
        };
        let (wk, bk) = repeat(q_rows);
        let (wv, bv) = repeat(q_rows + n_kv_heads * hd);
        let mut mha = gqa.clone();
        mha.n_kv_heads = n_heads;
        mha.c_attn.weight =
            concatenate(Axis(0), &[w.slice(s![..q_rows, ..]), wk.view(), wv.view()]).unwrap();
        let mut bias: Vec<f64> = b.slice(s![..q_rows]).to_vec();
        bias.extend(bk);
        bias.extend(bv);
        mha.c_attn.bias = Some(bias.into());

        let x: Array3<f64> = init::normal((2, 5, 16), 1.0, &mut rng);
        let a = gqa.forward(x.view()).unwrap();
        let m = mha.forward(x.view()).unwrap();
        let diff = (&a - &m).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
        assert!(diff < 1e-12, "max |GQA - MHA| = {diff}");
    }

    /// Causality: changing a later token must not change earlier outputs.
    #[test]
    fn outputs_do_not_depend_on_later_tokens() {
        let mut rng = init::rng(5);
        let attn = MultiHeadAttention::<f64>::random(&config(4, 1), &mut rng);
        let x: Array3<f64> = init::normal((1, 6, 16), 1.0, &mut rng);
        let mut y = x.clone();
        y.slice_mut(s![0, 5, ..]).fill(7.0);
        let a = attn.forward(x.view()).unwrap();
        let b = attn.forward(y.view()).unwrap();
        assert_eq!(a.slice(s![.., ..5, ..]), b.slice(s![.., ..5, ..]));
        assert_ne!(a.slice(s![.., 5, ..]), b.slice(s![.., 5, ..]));
    }
}
