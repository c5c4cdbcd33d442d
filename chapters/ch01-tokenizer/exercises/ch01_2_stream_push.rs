//! Exercise ch01-2: stream decoded text without ever splitting a UTF-8 character.
//!
//! Generation hands us one id at a time. The text of one id alone may be the first byte of
//! `猫` (three bytes, E7 8C AB), which `decode` shows as `�` (U+FFFD, `REPLACEMENT`). Printing
//! that would put garbage on the screen. The decoder keeps the ids whose text is not complete
//! yet in `self.pending`, and `self.emitted` counts how many bytes of `decode(pending)` it has
//! already handed out.
//!
//! With `--features ex-ch01-2` this file replaces `src/stream/push.rs`.
//! Check it: `cargo run -p exercises -- check ch01-2`. Stuck: `cargo run -p exercises -- hint ch01-2`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use super::{StreamDecoder, REPLACEMENT};
use crate::error::Result;

impl StreamDecoder<'_> {
    /// Add one id; returns the text it completes, if any.
    pub fn push(&mut self, id: u32) -> Result<Option<String>> {
        // TODO: add `id` to self.pending and decode all pending ids (self.tokenizer.decode). If
        // that fails (an unknown id), take the id back out and return the error. Otherwise the
        // text up to its trailing `REPLACEMENT` characters is complete: return the part of it not
        // handed out yet (from byte self.emitted on), or None if that part is empty. When
        // nothing is held back, clear pending and set emitted to 0; else remember how far you
        // got in self.emitted.
        todo!("ch01-2: hand out the new complete text, hold back a trailing partial character")
    }
}
