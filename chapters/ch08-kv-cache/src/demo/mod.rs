//! The chapter 8 binary (`cargo run --release -p ch08-kv-cache`), one concept per file.
//!
//! The default run is the **demo**: generate with the cache and without it, check that the
//! tokens are identical, time both for several lengths, count the bytes each cache storage
//! copies, look inside the cache, print the memory tables and draw the plots.
//! The `bench` subcommand measures this machine's limits (memory bandwidth, matrix multiply
//! speed) and compares the decode and prefill speed of the model against them.
//!
//! - [`cli`]: the command line (clap) and its validation;
//! - [`error`]: the one error type, printed as one `error: ...` line;
//! - [`setup`]: which model and tokenizer to use (random GPT-2 124M or a Hugging Face folder);
//! - [`stream`]: printing generated text token by token;
//! - [`timing`]: the with/without cache experiment over several lengths;
//! - [`copies`]: bytes written into the cache per token, concatenating vs preallocated;
//! - [`plots`]: the SVG charts;
//! - [`progress`]: the progress bar on stderr;
//! - [`stats`]: medians and bests of repeated measurements;
//! - [`output`]: writing to stdout without panicking on a closed pipe;
//! - [`demo_run`]: the demo from start to finish, human or JSON output;
//! - [`bandwidth`], [`sgemm`], [`flops`], [`rss`], [`bench`]: the `bench` subcommand.

pub mod bandwidth;
pub mod bench;
pub mod cli;
pub mod copies;
pub mod demo_run;
pub mod error;
pub mod flops;
pub mod output;
pub mod plots;
pub mod progress;
pub mod rss;
pub mod setup;
pub mod sgemm;
pub mod stats;
pub mod stream;
pub mod timing;

pub use error::{DemoError, DemoResult};
