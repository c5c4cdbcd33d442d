//! Writing to stdout without panicking when the reader goes away (`... | head`). (Output
//! folders are checked at parse time: `shared::cli::OutArgs`.)
//!
//! `println!` panics if stdout is a closed pipe; these return [`MeasureError::StdoutClosed`]
//! instead, which a binary's `main` turns into a quiet exit.

use crate::error::{MeasureError, MeasureResult};
use std::io::Write;

/// Print `text` followed by a newline.
pub fn say(text: impl std::fmt::Display) -> MeasureResult<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|_| MeasureError::StdoutClosed)
}

/// Print `text` as it is and flush at once (streamed tokens appear one by one).
pub fn say_now(text: &str) -> MeasureResult<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|_| MeasureError::StdoutClosed)
}
