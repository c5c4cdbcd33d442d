//! Loading a GPT-2 style `tokenizer.json`, encoding and decoding.

use crate::error::TokenizerError;
use std::path::Path;

/// The tokenizer trained by this chapter (`cargo run --release -p ch01-tokenizer --bin
/// train-tokenizer` rebuilds it): 50,257 ids like GPT-2, `<|endoftext|>` = 50256.
pub const SHIPPED_JSON: &str = include_str!("../tokenizer.json");

/// The name GPT-2 gives its end-of-text token.
pub const EOS_TOKEN: &str = "<|endoftext|>";

/// A byte-level BPE tokenizer (a thin wrapper over `tokenizers::Tokenizer`).
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer({} ids)", self.vocab_size())
    }
}

impl Tokenizer {
    /// Load any GPT-2 style `tokenizer.json` (for example from a Hugging Face `gpt2` folder).
    pub fn from_file(path: &Path) -> Result<Self, TokenizerError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_json(&text).map_err(|e| TokenizerError::Load {
            path: path.to_path_buf(),
            reason: match e {
                TokenizerError::Load { reason, .. } => reason,
                other => other.to_string(),
            },
        })
    }

    /// Parse the text of a `tokenizer.json`.
    pub fn from_json(json: &str) -> Result<Self, TokenizerError> {
        let inner: tokenizers::Tokenizer = json.parse().map_err(|e: tokenizers::Error| TokenizerError::Load {
            path: "tokenizer.json".into(),
            reason: e.to_string(),
        })?;
        Ok(Tokenizer { inner })
    }

    /// The tokenizer this chapter ships.
    pub fn shipped() -> Self {
        Self::from_json(SHIPPED_JSON).expect("the shipped tokenizer.json is valid (tested)")
    }

    /// Wrap a `tokenizers::Tokenizer` (used by training).
    pub fn from_inner(inner: tokenizers::Tokenizer) -> Self {
        Tokenizer { inner }
    }

    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    // ANCHOR: encode
    /// Text -> token ids. `<|endoftext|>` in the text becomes its single id.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self
            .inner
            .encode(text, false) // false: no extra special tokens around the text
            .map_err(|e| TokenizerError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Token ids -> text. Special tokens are kept, as GPT-2's `decode` does by default.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let vocab_size = self.vocab_size();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab_size) {
            return Err(TokenizerError::UnknownId { id, vocab_size });
        }
        self.inner
            .decode(ids, false)
            .map_err(|e| TokenizerError::Decode(e.to_string()))
    }
    // ANCHOR_END: encode

    /// Number of ids, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Id of `<|endoftext|>`, if the vocabulary has it.
    pub fn eos_token_id(&self) -> Option<u32> {
        self.inner.token_to_id(EOS_TOKEN)
    }

    /// The token's string as stored in the vocabulary (byte-level: a space shows as `Ġ`).
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The JSON of this tokenizer (what `tokenizer.json` holds).
    pub fn to_json(&self) -> Result<String, TokenizerError> {
        self.inner.to_string(false).map_err(|e| TokenizerError::Train(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_has_gpt2_sized_vocab_and_eos_last() {
        let t = Tokenizer::shipped();
        assert_eq!(t.vocab_size(), 50257);
        assert_eq!(t.eos_token_id(), Some(50256));
    }

    #[test]
    fn round_trips_exactly() {
        let t = Tokenizer::shipped();
        for text in [
            "Hello, world!",
            "  leading spaces and trailing  ",
            "The KV cache makes generation fast.\n\nNew paragraph\ttab",
            "naïve café, 猫がいる, emoji 🙂🚀, math ∑ x²",
            "<|endoftext|>after the end",
            "",
        ] {
            let ids = t.encode(text).unwrap();
            assert_eq!(t.decode(&ids).unwrap(), text, "ids {ids:?}");
        }
    }

    #[test]
    fn eos_text_is_one_token_and_unknown_ids_are_errors() {
        let t = Tokenizer::shipped();
        assert_eq!(t.encode("<|endoftext|>").unwrap(), vec![50256]);
        assert!(matches!(t.decode(&[50257]), Err(TokenizerError::UnknownId { id: 50257, .. })));
    }

    #[test]
    fn every_single_byte_has_a_token() {
        // byte-level: all 256 bytes are in the base alphabet, so any text encodes
        let t = Tokenizer::shipped();
        let text: String = (0u32..0x250).filter_map(char::from_u32).collect();
        assert_eq!(t.decode(&t.encode(&text).unwrap()).unwrap(), text);
    }

    #[test]
    fn invalid_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("ch01-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("tokenizer.json");
        std::fs::write(&bad, "{ not json").unwrap();
        let err = Tokenizer::from_file(&bad).unwrap_err().to_string();
        assert!(err.contains("tokenizer.json") && err.starts_with("cannot load tokenizer"), "{err}");
        let err = Tokenizer::from_file(&dir.join("missing.json")).unwrap_err().to_string();
        assert!(err.contains("missing.json"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
