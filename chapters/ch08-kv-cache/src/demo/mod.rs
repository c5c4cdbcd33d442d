//! The chapter 8 demo (`cargo run --release -p ch08-kv-cache`), one concept per file. It is
//! the binary's harness, not the lesson: it uses the library as `ch08_kv_cache::...`.
//!
//! Generate with the cache and without it, check that the tokens are identical, time both for
//! the lengths that fit the model's context, count the bytes each cache storage copies, look
//! inside the cache, print the memory tables and draw the plots.
//!
//! - [`cli`]: the command line (clap);
//! - [`error`]: the one error type, printed as one `error: ...` line;
//! - [`setup`]: which model and tokenizer to use, which lengths fit, where the plots go;
//! - [`stream`]: printing generated text token by token;
//! - [`timing`]: the with/without cache experiment over several lengths;
//! - [`copies`]: bytes written into the cache per token, concatenating vs preallocated;
//! - [`plots`]: the SVG charts;
//! - [`demo_run`]: the demo from start to finish, human or JSON output.
//!
//! Measurement shared with other chapters (statistics, progress, the `bench` subcommand) is
//! the workspace's `measure` library.

pub mod cli;
pub mod copies;
pub mod demo_run;
pub mod error;
pub mod plots;
pub mod setup;
pub mod stream;
pub mod timing;

pub use error::DemoError;
