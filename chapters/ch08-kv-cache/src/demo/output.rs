//! Writing to stdout without panicking when the reader goes away (`... | head`).
//!
//! `println!` panics if stdout is a closed pipe; these return [`DemoError::StdoutClosed`]
//! instead, which `main` turns into a quiet exit.

use crate::demo::error::{DemoError, DemoResult};
use std::io::Write;

/// Print `text` followed by a newline.
pub fn say(text: impl std::fmt::Display) -> DemoResult<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|_| DemoError::StdoutClosed)
}

/// Print `text` as it is and flush at once (streamed tokens appear one by one).
pub fn say_now(text: &str) -> DemoResult<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|_| DemoError::StdoutClosed)
}
