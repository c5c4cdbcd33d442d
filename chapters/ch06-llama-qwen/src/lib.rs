//! # Chapter 6: Llama, Qwen and GPT-NeoX
//!
//! Chapter 4's GPT-2 is the template of nearly every decoder since. Llama, Qwen and GPT-NeoX
//! (Pythia) keep its shape (embeddings, a stack of attention + MLP blocks with residuals, a
//! final norm, an LM head) and change four parts:
//!
//! 1. **RMSNorm instead of LayerNorm** ([`RmsNorm`]): divide by the root mean square, no mean
//!    to subtract, no bias. Qwen3 also applies it to each head's queries and keys.
//! 2. **RoPE instead of learned positions** ([`Rope`]): no position table is added at the
//!    bottom; every layer rotates its queries and keys by an angle proportional to the
//!    position, so scores see relative distances. GPT-NeoX rotates only part of each head;
//!    Llama 3 rescales the low frequencies to reach long contexts.
//! 3. **SwiGLU instead of the GELU MLP** ([`SwiGlu`]): a SiLU gate multiplies a second
//!    projection. (GPT-NeoX keeps a GELU MLP.)
//! 4. **Grouped-query attention** from chapter 3: several query heads share one key/value head,
//!    which is what shrinks the KV cache of chapter 8.
//!
//! The three new layers are each tested on their own; then one [`Decoder`] runs all four
//! families from their Hugging Face folders ([`DecoderConfig`] reads `config.json`), with
//! chapter 3's attention plus the rotation ([`RotaryAttention`]), and chapter 4's generation.

pub mod attention;
pub mod block;
pub mod config;
pub mod feed_forward;
pub mod model;
pub mod norm;
pub mod rms_norm;
pub mod rope;
pub mod save;
pub mod swiglu;
// Exercise ch06-3: `--features ex-ch06-3` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch06-3", path = "../exercises/ch06_3_repeat_kv.rs")]
pub mod repeat_kv;

pub use attention::RotaryAttention;
pub use block::DecoderBlock;
pub use config::{Activation, DecoderConfig, Family};
pub use feed_forward::{FeedForward, FeedForwardLayer, GeluMlp};
pub use model::Decoder;
pub use norm::Norm;
pub use rms_norm::RmsNorm;
pub use rope::{inverse_frequencies, llama3_scaling, Llama3Scaling, Rope, RopeConfig};
pub use swiglu::{silu, SwiGlu};
pub use repeat_kv::repeat_kv;
