//! How much memory a KV cache needs (the size tables of the notebooks *Day 32: KV Caching
//! Implementation - Part 1* and *KV caching*: see the book's Sources page).
//!
//! Every layer keeps a key and a value vector per KV head, per position, per sequence:
//!
//! `bytes = 2 x n_layers x batch x n_kv_heads x seq x head_dim x bytes_per_element`

/// Element types a cache is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    Bf16,
    Int8,
}

impl Dtype {
    pub const ALL: [Dtype; 4] = [Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::Int8];

    pub fn bytes(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::Int8 => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "fp32",
            Dtype::F16 => "fp16",
            Dtype::Bf16 => "bf16",
            Dtype::Int8 => "int8",
        }
    }
}

// ANCHOR: kv_cache_bytes
/// Bytes of keys and values for `seq` positions of `batch` sequences.
pub fn kv_cache_bytes(
    n_layers: usize,
    batch: usize,
    n_kv_heads: usize,
    seq: usize,
    head_dim: usize,
    bytes_per_element: usize,
) -> u128 {
    2 * n_layers as u128 * batch as u128 * n_kv_heads as u128 * seq as u128 * head_dim as u128
        * bytes_per_element as u128
}
// ANCHOR_END: kv_cache_bytes

/// The attention shape of a published model: all the formula needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelShape {
    pub name: &'static str,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub context_length: usize,
}

impl ModelShape {
    /// Cache bytes for `seq` positions, batch 1.
    pub fn bytes(&self, seq: usize, dtype: Dtype) -> u128 {
        kv_cache_bytes(self.n_layers, 1, self.n_kv_heads, seq, self.head_dim, dtype.bytes())
    }

    /// Cache bytes per token (batch 1).
    pub fn bytes_per_token(&self, dtype: Dtype) -> u128 {
        self.bytes(1, dtype)
    }
}

const fn mha(name: &'static str, n_layers: usize, d_model: usize, n_heads: usize, ctx: usize) -> ModelShape {
    ModelShape {
        name,
        n_layers,
        n_heads,
        n_kv_heads: n_heads,
        head_dim: d_model / n_heads,
        context_length: ctx,
    }
}

// ANCHOR: families
/// GPT-2 (OpenAI 2019), GPT-3 175B (Brown et al. 2020, table 2.1).
pub const GPT: [ModelShape; 5] = [
    mha("gpt2 (124M)", 12, 768, 12, 1024),
    mha("gpt2-medium (355M)", 24, 1024, 16, 1024),
    mha("gpt2-large (774M)", 36, 1280, 20, 1024),
    mha("gpt2-xl (1.5B)", 48, 1600, 25, 1024),
    mha("GPT-3 (175B)", 96, 12288, 96, 2048),
];

/// The Pythia suite (Biderman et al. 2023, table 1), context 2048. Every row was checked
/// against the training configuration EleutherAI publishes for that model (`num-layers`,
/// `hidden-size`, `num-attention-heads`, `seq-length`; GPT-NeoX has one KV head per query head).
pub const PYTHIA: [ModelShape; 8] = [
    mha("pythia-70m", 6, 512, 8, 2048),
    mha("pythia-160m", 12, 768, 12, 2048),
    mha("pythia-410m", 24, 1024, 16, 2048),
    mha("pythia-1b", 16, 2048, 8, 2048),
    mha("pythia-1.4b", 24, 2048, 16, 2048),
    mha("pythia-2.8b", 32, 2560, 32, 2048),
    mha("pythia-6.9b", 32, 4096, 32, 2048),
    mha("pythia-12b", 36, 5120, 40, 2048),
];

/// Grouped-query attention: Llama 3 8B keeps 8 KV heads for its 32 query heads (a 4x cut),
/// beside the same shape with full multi-head attention; Llama 2 7B, that shape at its 4096
/// context; and two small Qwen models (chapter 6). Shapes from each model's `config.json`.
pub const GQA: [ModelShape; 5] = [
    ModelShape { name: "llama-3-8b (GQA, 8 kv heads)", n_layers: 32, n_heads: 32, n_kv_heads: 8, head_dim: 128, context_length: 8192 },
    ModelShape { name: "same shape with MHA (32 kv heads)", n_layers: 32, n_heads: 32, n_kv_heads: 32, head_dim: 128, context_length: 8192 },
    ModelShape { name: "llama-2-7b (MHA, 32 kv heads)", n_layers: 32, n_heads: 32, n_kv_heads: 32, head_dim: 128, context_length: 4096 },
    ModelShape { name: "qwen3-0.6b (GQA, 8 kv heads)", n_layers: 28, n_heads: 16, n_kv_heads: 8, head_dim: 128, context_length: 40960 },
    ModelShape { name: "qwen2.5-0.5b (GQA, 2 kv heads)", n_layers: 24, n_heads: 14, n_kv_heads: 2, head_dim: 64, context_length: 32768 },
];
// ANCHOR_END: families

// ANCHOR: moe
/// Mixture of experts (chapter 7): the cache depends on the attention alone. Each MoE model
/// beside dense models with its attention, its active parameters and its total parameters
/// (shapes from each model's `config.json`; parameter counts in the names, from chapter 7's
/// count and each model's card).
pub const MOE: [ModelShape; 6] = [
    ModelShape { name: "mixtral-8x7b (46.7B, 12.9B active)", n_layers: 32, n_heads: 32, n_kv_heads: 8, head_dim: 128, context_length: 32768 },
    ModelShape { name: "mistral-7b (7.2B dense, same attn)", n_layers: 32, n_heads: 32, n_kv_heads: 8, head_dim: 128, context_length: 32768 },
    ModelShape { name: "llama-2-13b (13.0B dense)", n_layers: 40, n_heads: 40, n_kv_heads: 40, head_dim: 128, context_length: 4096 },
    ModelShape { name: "qwen3-30b-a3b (30.5B, 3.3B active)", n_layers: 48, n_heads: 32, n_kv_heads: 4, head_dim: 128, context_length: 40960 },
    ModelShape { name: "qwen3-4b (4.0B dense)", n_layers: 36, n_heads: 32, n_kv_heads: 8, head_dim: 128, context_length: 40960 },
    ModelShape { name: "qwen3-32b (32.8B dense)", n_layers: 64, n_heads: 64, n_kv_heads: 8, head_dim: 128, context_length: 40960 },
];
// ANCHOR_END: moe

/// Human-readable bytes: `50,331,648 B (48.0 MiB)`.
pub fn format_bytes(bytes: u128) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if bytes < 1024 {
        format!("{grouped} B")
    } else {
        format!("{grouped} B ({})", short_bytes(bytes))
    }
}

/// Short form for tables: `48.0 MiB`.
pub fn short_bytes(bytes: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A table: one row per model, the cache at its full context for each dtype, batch 1.
pub fn table(title: &str, models: &[ModelShape]) -> String {
    let mut out = format!("{title}\n");
    out += &format!(
        "{:<34} {:>6} {:>8} {:>8} {:>7} {:>14} {:>11} {:>11} {:>11} {:>11}\n",
        "model", "layers", "kv heads", "head_dim", "context", "per token", "fp32", "fp16", "bf16", "int8"
    );
    for m in models {
        out += &format!(
            "{:<34} {:>6} {:>8} {:>8} {:>7} {:>14}",
            m.name,
            m.n_layers,
            m.n_kv_heads,
            m.head_dim,
            m.context_length,
            short_bytes(m.bytes_per_token(Dtype::F32)) + " fp32"
        );
        for d in Dtype::ALL {
            out += &format!(" {:>11}", short_bytes(m.bytes(m.context_length, d)));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pythia_70m_at_2048_tokens_in_fp32_is_the_published_figure() {
        // 2 x 6 layers x 1 x 8 heads x 2048 x 64 x 4 bytes (the table of the notebook *KV caching*)
        assert_eq!(PYTHIA[0].bytes(2048, Dtype::F32), 50_331_648);
    }

    #[test]
    fn an_moe_cache_is_that_of_its_attention() {
        // Mixtral-8x7B in bf16: 2 x 32 layers x 8 kv heads x 128 x 2 bytes = 128 KiB per token,
        // exactly Mistral-7B's; Llama 2 13B (about Mixtral's active parameters, but 40 MHA
        // heads in 40 layers): 2 x 40 x 40 x 128 x 2 = 800 KiB
        assert_eq!(MOE[0].bytes_per_token(Dtype::Bf16), 131_072);
        assert_eq!(MOE[1].bytes_per_token(Dtype::Bf16), 131_072);
        assert_eq!(MOE[2].bytes_per_token(Dtype::Bf16), 819_200);
        // Qwen3-30B-A3B: 2 x 48 x 4 x 128 x 2 = 96 KiB, less than the dense Qwen3-4B's
        // 2 x 36 x 8 x 128 x 2 = 144 KiB and Qwen3-32B's 2 x 64 x 8 x 128 x 2 = 256 KiB
        assert_eq!(MOE[3].bytes_per_token(Dtype::Bf16), 98_304);
        assert_eq!(MOE[4].bytes_per_token(Dtype::Bf16), 147_456);
        assert_eq!(MOE[5].bytes_per_token(Dtype::Bf16), 262_144);
    }

    #[test]
    fn gpt2_small_per_token_and_gqa_cut() {
        // 2 x 12 x 12 x 64 x 4 = 73,728 bytes per token in fp32
        assert_eq!(GPT[0].bytes_per_token(Dtype::F32), 73_728);
        assert_eq!(GQA[1].bytes(8192, Dtype::Bf16), 4 * GQA[0].bytes(8192, Dtype::Bf16));
        // rasbt's MHA example: emb 4096, 32 layers, 32 heads, 32k context, bf16 = 17.18 GB
        let m = kv_cache_bytes(32, 1, 32, 32_768, 128, 2);
        assert_eq!(m, 17_179_869_184);
        // Llama 2 7B in fp16: 2 x 32 layers x 32 heads x 128 x 2 bytes = 0.5 MiB per token
        assert_eq!(GQA[2].bytes_per_token(Dtype::F16), 524_288);
        // Qwen3-0.6B in bf16: 2 x 28 layers x 8 kv heads x 128 x 2 bytes = 114,688 bytes per token
        assert_eq!(GQA[3].bytes_per_token(Dtype::Bf16), 114_688);
    }

    #[test]
    fn formats() {
        assert_eq!(format_bytes(50_331_648), "50,331,648 B (48.0 MiB)");
        assert_eq!(short_bytes(512), "512 B");
    }
}
