//! Printing tokens as they arrive without ever printing half a character.

use crate::error::TokenizerError;
use crate::tokenizer::Tokenizer;

// ANCHOR: stream_decoder
/// Turns ids pushed one at a time into text pieces that are always whole UTF-8 characters.
///
/// A multi-byte character split over two tokens decodes, after the first one, to the
/// replacement character `U+FFFD`. The decoder keeps such an incomplete tail back and emits it
/// once the next tokens complete it. Concatenating every piece (and [`finish`](Self::finish))
/// gives exactly `decode(all ids)`.
pub struct StreamDecoder<'t> {
    tokenizer: &'t Tokenizer,
    ids: Vec<u32>,
    /// Bytes of the decoded text already handed out.
    emitted: usize,
}

impl<'t> StreamDecoder<'t> {
    pub fn new(tokenizer: &'t Tokenizer) -> Self {
        StreamDecoder { tokenizer, ids: Vec::new(), emitted: 0 }
    }

    /// Add one id; returns the newly completed text, if any.
    pub fn push(&mut self, id: u32) -> Result<Option<String>, TokenizerError> {
        self.ids.push(id);
        let text = self.tokenizer.decode(&self.ids)?;
        // hold back a trailing run of U+FFFD: it may be a character still being completed
        let complete = text.trim_end_matches('\u{FFFD}').len();
        if complete <= self.emitted {
            return Ok(None);
        }
        let piece = text[self.emitted..complete].to_string();
        self.emitted = complete;
        Ok(Some(piece))
    }

    /// The held-back tail (bytes that never became a valid character), at the end of a stream.
    pub fn finish(&mut self) -> Result<Option<String>, TokenizerError> {
        let text = self.tokenizer.decode(&self.ids)?;
        let rest = text[self.emitted..].to_string();
        self.emitted = text.len();
        Ok((!rest.is_empty()).then_some(rest))
    }
}
// ANCHOR_END: stream_decoder

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(t: &Tokenizer, ids: &[u32]) -> (Vec<String>, String) {
        let mut d = StreamDecoder::new(t);
        let mut pieces = vec![];
        for &id in ids {
            if let Some(p) = d.push(id).unwrap() {
                pieces.push(p);
            }
        }
        if let Some(p) = d.finish().unwrap() {
            pieces.push(p);
        }
        let joined = pieces.concat();
        (pieces, joined)
    }

    #[test]
    fn multibyte_characters_split_over_tokens_are_never_broken() {
        let t = Tokenizer::shipped();
        // feed the raw bytes of the text one byte-token at a time: every multi-byte character
        // is then split over 2-4 tokens
        let text = "é猫🙂 ok";
        let byte_ids: Vec<u32> = text
            .bytes()
            .map(|b| {
                let ch = crate::train::byte_to_unicode(b);
                t.inner().token_to_id(&ch.to_string()).expect("every byte is a token")
            })
            .collect();
        assert_eq!(byte_ids.len(), text.len());
        let (pieces, joined) = streamed(&t, &byte_ids);
        assert_eq!(joined, text);
        assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");
        assert_eq!(pieces, ["é", "猫", "🙂", " ", "o", "k"]);
    }

    #[test]
    fn pieces_concatenate_to_the_full_decode() {
        let t = Tokenizer::shipped();
        for text in ["The cache grows by one row per token.", "naïve 猫 🙂🙂 end", "a\nb\n\nc"] {
            let ids = t.encode(text).unwrap();
            assert_eq!(streamed(&t, &ids).1, text);
        }
    }

    #[test]
    fn invalid_bytes_are_flushed_at_the_end() {
        let t = Tokenizer::shipped();
        // a lone UTF-8 lead byte (0xE7) never completes: finish() hands it out as U+FFFD
        let lead = t.inner().token_to_id(&crate::train::byte_to_unicode(0xE7).to_string()).unwrap();
        let a = t.encode("a").unwrap();
        let (_, joined) = streamed(&t, &[a[0], lead]);
        assert_eq!(joined, "a\u{FFFD}");
    }
}
