//! Pushing one id into the stream decoder (exercise ch01-2 replaces this file).

use super::{StreamDecoder, REPLACEMENT};
use crate::error::Result;

impl StreamDecoder<'_> {
    // ANCHOR: push
    // ANCHOR: push_signature
    /// Add one id; returns the text it completes, if any.
    pub fn push(&mut self, id: u32) -> Result<Option<String>> {
        // ANCHOR_END: push_signature
        self.pending.push(id);
        let text = match self.tokenizer.decode(&self.pending) {
            Ok(text) => text,
            Err(e) => {
                self.pending.pop(); // an unknown id is rejected, the stream stays usable
                return Err(e);
            }
        };
        // A trailing `�` may be a character whose last bytes are still to come: hold it back.
        let complete = text.trim_end_matches(REPLACEMENT).len();
        let piece = text.get(self.emitted..complete).unwrap_or_default().to_string();
        if complete == text.len() {
            // everything decoded is whole: the next id starts from a clean slate
            self.pending.clear();
            self.emitted = 0;
        } else {
            self.emitted = self.emitted.max(complete);
        }
        Ok((!piece.is_empty()).then_some(piece))
    }
    // ANCHOR_END: push
}
