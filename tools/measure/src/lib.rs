//! # measure: how close does a model come to this machine's limits?
//!
//! The measurements every chapter's binary shares, so that no chapter grows its own:
//!
//! - [`bandwidth`]: memory read bandwidth, the ceiling of decode at batch 1;
//! - [`sgemm`]: fp32 matrix-multiply speed on GPT-2's shapes, the ceiling of prefill;
//! - [`flops`]: the FLOPs of a prefill and the bytes a decoded token reads (the roofline);
//! - [`rss`]: the peak resident memory of the process;
//! - [`machine`]: the CPU model and the kernels this build chose at run time;
//! - [`stats`]: medians and bests of repeated measurements;
//! - [`bench`]: the whole benchmark (the options of `bench`, its report and `--json`), run on
//!   any model that implements [`bench::Decoder`];
//! - [`cli`], [`output`], [`progress`], [`error`]: the pieces every binary's harness needs
//!   (model presets, length lists, one-line errors, printing to a closed pipe, progress).
//!
//! The library loads no model: the `bench` tool (`cargo run --release -p bench`) and
//! chapter 8's `bench` subcommand adapt a chapter's model to [`bench::Decoder`].

pub mod bandwidth;
pub mod bench;
pub mod cli;
pub mod error;
pub mod flops;
pub mod gemv_probe;
pub mod machine;
pub mod output;
pub mod progress;
pub mod rss;
pub mod sgemm;
pub mod stats;

pub use bench::{BenchArgs, DecodeRun, Decoder};
pub use cli::{Lengths, Preset};
pub use error::{MeasureError, MeasureResult};
