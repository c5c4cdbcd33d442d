//! Printing tokens as they are generated, without ever printing half a character.
//!
//! A model generates one id at a time and we want to show the text at once. Decoding each id
//! on its own is wrong for byte-level tokens: `猫` is the three bytes `E7 8C AB`, and a
//! tokenizer may well cut it as `E7` + `8C AB`. The first token alone is not valid UTF-8 and
//! decodes to the replacement character `�` (U+FFFD); printing it would put garbage on the
//! screen. The fix: keep the ids whose text is not complete yet, and only hand out text once
//! its last character is whole.

use crate::error::Result;
use crate::tokenizer::Tokenizer;

// `StreamDecoder::push` is exercise ch01-2: `--features ex-ch01-2` swaps this file for the stub
// in exercises/ (see exercises/info.toml).
#[cfg_attr(feature = "ex-ch01-2", path = "../exercises/ch01_2_stream_push.rs")]
mod push;

/// What `decode` shows for bytes that are not (yet) a whole UTF-8 character.
#[cfg_attr(feature = "ex-ch01-2", allow(dead_code))] // the exercise's stub has yet to use it
const REPLACEMENT: char = '\u{FFFD}';

// ANCHOR: stream_decoder
/// Turns ids pushed one at a time into text pieces that are always whole UTF-8 characters.
///
/// The concatenation of every piece returned by [`push`](Self::push) and
/// [`finish`](Self::finish) is exactly `decode(all ids)`. It relies on byte-level decoding
/// (GPT-2 style): the text of a list of ids is the text of its parts joined, as long as the
/// cut is between two whole characters.
pub struct StreamDecoder<'t> {
    tokenizer: &'t Tokenizer,
    /// Ids whose text has not been handed out completely yet.
    pending: Vec<u32>,
    /// How many bytes of `decode(pending)` were already handed out.
    emitted: usize,
}

impl<'t> StreamDecoder<'t> {
    pub fn new(tokenizer: &'t Tokenizer) -> Self {
        StreamDecoder { tokenizer, pending: Vec::new(), emitted: 0 }
    }

    /// End of the stream: hand out what was held back (bytes that never became a whole
    /// character come out as `�`, exactly as `decode` shows them).
    pub fn finish(&mut self) -> Result<Option<String>> {
        let text = self.tokenizer.decode(&self.pending)?;
        let rest = text.get(self.emitted..).unwrap_or_default().to_string();
        self.pending.clear();
        self.emitted = 0;
        Ok((!rest.is_empty()).then_some(rest))
    }
}
// ANCHOR_END: stream_decoder

#[cfg(test)]
mod tests {
    use super::*;
    use crate::byte_level::byte_to_char;
    use crate::tokenizer::tests::shipped;
    use proptest::prelude::*;

    /// Push every id, then finish; returns the pieces in order.
    fn stream(t: &Tokenizer, ids: &[u32]) -> Vec<String> {
        let mut d = StreamDecoder::new(t);
        let mut pieces: Vec<String> = ids.iter().filter_map(|&id| d.push(id).unwrap()).collect();
        pieces.extend(d.finish().unwrap());
        pieces
    }

    /// The id of the token that is the single byte `b`.
    fn byte_id(t: &Tokenizer, b: u8) -> u32 {
        t.token_to_id(&byte_to_char(b).to_string()).expect("every byte is a token")
    }

    #[test]
    fn characters_split_byte_by_byte_come_out_whole() {
        let t = shipped();
        // one token per byte: é (2 bytes), 猫 (3), 🙂 (4) are each split over several tokens
        let text = "é猫🙂 ok";
        let ids: Vec<u32> = text.bytes().map(|b| byte_id(t, b)).collect();
        assert_eq!(ids.len(), 2 + 3 + 4 + 3);
        let mut d = StreamDecoder::new(t);
        let out: Vec<Option<String>> = ids.iter().map(|&id| d.push(id).unwrap()).collect();
        let s = |x: &str| Some(x.to_string());
        #[rustfmt::skip]
        let expected = [None, s("é"), None, None, s("猫"), None, None, None, s("🙂"), s(" "), s("o"), s("k")];
        assert_eq!(out, expected);
        assert_eq!(d.finish().unwrap(), None);
    }

    #[test]
    fn real_tokenization_of_rare_characters_is_held_back() {
        let t = shipped();
        // characters the corpus never contains are split into byte tokens by the tokenizer
        let text = "a 🦀 and 龘!";
        let ids = t.encode(text).unwrap();
        let single: Vec<String> = ids.iter().map(|&id| t.decode(&[id]).unwrap()).collect();
        let partial = single.iter().any(|s| s.contains(REPLACEMENT));
        assert!(partial, "precondition: some token is part of a character: {single:?}");
        let pieces = stream(t, &ids);
        assert!(pieces.iter().all(|p| !p.contains(REPLACEMENT)), "{pieces:?}");
        assert!(pieces.len() < ids.len(), "something was held back");
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn pieces_concatenate_to_the_full_decode() {
        let t = shipped();
        let texts = ["The cache grows by one row per token.", "naïve 猫 🙂🙂 end", "a\nb\n\nc", "", "<|endoftext|>x"];
        for text in texts {
            let ids = t.encode(text).unwrap();
            assert_eq!(stream(t, &ids).concat(), text);
        }
    }

    #[test]
    fn bytes_that_never_complete_are_flushed_by_finish() {
        let t = shipped();
        let a = t.encode("a").unwrap()[0];
        // a lone lead byte (0xE7 starts a 3-byte character) never completes
        let mut d = StreamDecoder::new(t);
        assert_eq!(d.push(a).unwrap().as_deref(), Some("a"));
        assert_eq!(d.push(byte_id(t, 0xE7)).unwrap(), None);
        assert_eq!(d.finish().unwrap().as_deref(), Some("\u{FFFD}"));
        // ... and an invalid byte followed by text is settled as soon as the text arrives
        let mut d = StreamDecoder::new(t);
        assert_eq!(d.push(byte_id(t, 0xE7)).unwrap(), None);
        assert_eq!(d.push(a).unwrap().as_deref(), Some("\u{FFFD}a"));
        assert_eq!(d.finish().unwrap(), None);
    }

    #[test]
    fn an_unknown_id_is_an_error_and_the_stream_goes_on() {
        let t = shipped();
        let mut d = StreamDecoder::new(t);
        assert_eq!(d.push(byte_id(t, 0xE7)).unwrap(), None);
        assert!(d.push(99_999).is_err());
        assert_eq!(d.push(byte_id(t, 0x8C)).unwrap(), None);
        assert_eq!(d.push(byte_id(t, 0xAB)).unwrap().as_deref(), Some("猫"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text, tokenized for real: the stream gives back exactly the text.
        #[test]
        fn streamed_text_is_the_decoded_text(text in any::<String>()) {
            let t = shipped();
            let ids = t.encode(&text).unwrap();
            let pieces = stream(t, &ids);
            prop_assert_eq!(pieces.concat(), t.decode(&ids).unwrap());
            for p in &pieces {
                prop_assert!(!p.contains(REPLACEMENT) || text.contains(REPLACEMENT));
            }
        }

        /// Any text, cut into single-byte tokens: the worst case for multi-byte characters.
        #[test]
        fn text_fed_byte_by_byte_streams_whole_characters(text in any::<String>()) {
            prop_assume!(!text.contains(REPLACEMENT)); // a real `�` is held back like a broken one
            let t = shipped();
            let ids: Vec<u32> = text.bytes().map(|b| byte_id(t, b)).collect();
            let pieces = stream(t, &ids);
            prop_assert_eq!(pieces.concat(), text.clone());
            // every piece is one character: each character is emitted the moment it is whole
            prop_assert_eq!(pieces.len(), text.chars().count());
        }

        /// Random ids, as an untrained model samples them, broken bytes included.
        #[test]
        fn random_ids_stream_to_their_decode(ids in proptest::collection::vec(0u32..50257, 0..40)) {
            let t = shipped();
            prop_assert_eq!(stream(t, &ids).concat(), t.decode(&ids).unwrap());
        }
    }
}
