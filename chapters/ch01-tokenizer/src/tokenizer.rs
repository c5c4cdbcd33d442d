//! Loading a GPT-2 style `tokenizer.json`, encoding text to ids and decoding ids to text.
//!
//! A **token** is a piece of text the model treats as one unit, and its **id** is its row in
//! the vocabulary: the model never sees characters, only these integers. In a byte-level BPE
//! vocabulary a token is a sequence of *bytes*: a frequent word with its leading space
//! (`" the"`), a piece of a rarer word, a single byte. Any text can be encoded, because the
//! 256 single bytes are all in the vocabulary; and decoding is exact, because it just joins the
//! bytes of the tokens back together.

use crate::error::{Result, TokenizerError};
use std::path::Path;

/// The tokenizer this chapter trained (`cargo run --release -p ch01-tokenizer --bin
/// train-tokenizer` rebuilds it): 50,257 ids like GPT-2, `<|endoftext|>` = 50256.
pub const SHIPPED_JSON: &str = include_str!("../tokenizer.json");

/// The name GPT-2 gives its end-of-text token.
pub const EOS_TOKEN: &str = "<|endoftext|>";

/// A byte-level BPE tokenizer: a thin wrapper over `tokenizers::Tokenizer` (the Rust library
/// behind Hugging Face's tokenizers) with typed errors.
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
    /// Load any GPT-2 style `tokenizer.json` (for example the one in a Hugging Face `gpt2`
    /// folder). A missing or invalid file is an error that names the path.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let load_error = |reason: String| TokenizerError::Load { path: path.to_path_buf(), reason };
        let json = std::fs::read_to_string(path).map_err(|e| load_error(e.to_string()))?;
        Self::parse(&json).map_err(load_error)
    }

    /// Parse the text of a `tokenizer.json`.
    pub fn from_json(json: &str) -> Result<Self> {
        Self::parse(json).map_err(TokenizerError::Parse)
    }

    fn parse(json: &str) -> Result<Self, String> {
        let inner: tokenizers::Tokenizer = json.parse().map_err(|e: tokenizers::Error| e.to_string())?;
        Ok(Tokenizer { inner })
    }

    /// The tokenizer this chapter ships (compiled into the binary, so it cannot be missing).
    pub fn shipped() -> Self {
        // not user input: the file is in the repository, and a test parses it
        Self::from_json(SHIPPED_JSON).expect("the shipped tokenizer.json is valid")
    }

    /// Wrap a `tokenizers::Tokenizer` (training builds one).
    pub fn from_inner(inner: tokenizers::Tokenizer) -> Self {
        Tokenizer { inner }
    }

    /// The wrapped `tokenizers::Tokenizer`, for anything this wrapper does not expose.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// A prompt -> token ids, as transformers' `tokenizer(text)` gives them: with the special
    /// tokens the file's post-processor adds around a text (Llama's beginning-of-text token in
    /// front, for one; GPT-2 style files add nothing, so for them this is [`encode`](Self::encode)).
    /// A model expects its prompts this way.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, true) // true: what the post-processor adds
            .map_err(|e| TokenizerError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    // ANCHOR: encode
    /// Text -> token ids. The text `<|endoftext|>` becomes its single special id.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, false) // false: add no extra tokens around the text
            .map_err(|e| TokenizerError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Token ids -> text: join the bytes of the tokens and read them as UTF-8. Bytes that do
    /// not form valid UTF-8 (half of a character) become U+FFFD. Special tokens are kept, as
    /// GPT-2's `decode` does by default.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        // `tokenizers` silently skips unknown ids; a wrong id is a bug we want to see
        if let Some(&id) = ids.iter().find(|&&id| self.inner.id_to_token(id).is_none()) {
            return Err(TokenizerError::UnknownId { id, vocab_size: self.vocab_size() });
        }
        self.inner
            .decode(ids, false) // false: keep special tokens such as <|endoftext|>
            .map_err(|e| TokenizerError::Decode(e.to_string()))
    }
    // ANCHOR_END: encode

    /// Number of ids, special tokens included (50257 for GPT-2).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Id of `<|endoftext|>`, if the vocabulary has it.
    pub fn eos_token_id(&self) -> Option<u32> {
        self.inner.token_to_id(EOS_TOKEN)
    }

    /// The token as the vocabulary stores it (byte-level: a space shows as `Ġ`), for display.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The id of a token string as the vocabulary stores it (`"Ġthe"`).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The merges of a BPE tokenizer, in the order they were learned, as pairs of token
    /// strings (`("Ġ", "t")`): the `merges` list of `tokenizer.json`.
    pub fn merges(&self) -> Result<Vec<(String, String)>> {
        let json: serde_json::Value =
            serde_json::from_str(&self.to_json()?).map_err(|e| TokenizerError::Parse(e.to_string()))?;
        let merges = json["model"]["merges"]
            .as_array()
            .ok_or_else(|| TokenizerError::Parse("no list of BPE merges in this tokenizer".to_string()))?;
        merges
            .iter()
            .map(|merge| {
                // ["Ġ", "t"] (tokenizers 0.20 and later) or "Ġ t" (older files)
                let pair = match merge {
                    serde_json::Value::Array(pair) => match pair.as_slice() {
                        [a, b] => a.as_str().zip(b.as_str()).map(|(a, b)| (a.to_string(), b.to_string())),
                        _ => None,
                    },
                    serde_json::Value::String(s) => s.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())),
                    _ => None,
                };
                pair.ok_or_else(|| TokenizerError::Parse(format!("a BPE merge is not a pair of tokens: {merge}")))
            })
            .collect()
    }

    /// The JSON of this tokenizer: what `tokenizer.json` holds.
    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_string(false)
            .map_err(|e| TokenizerError::Train(format!("cannot serialize the tokenizer: {e}")))
    }

    /// Write `tokenizer.json` atomically (a reader never sees half a file).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let json = self.to_json()?;
        shared::write_atomic(path, json.as_bytes()).map_err(|e| TokenizerError::Write {
            path: path.to_path_buf(),
            reason: match e {
                shared::Error::Io { source, .. } | shared::Error::Write { source, .. } => source.to_string(),
                other => other.to_string(),
            },
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// Parsing 1.7 MB of JSON once is enough for all the tests.
    pub(crate) fn shipped() -> &'static Tokenizer {
        static SHIPPED: OnceLock<Tokenizer> = OnceLock::new();
        SHIPPED.get_or_init(Tokenizer::shipped)
    }

    /// A prompt gets what the post-processor adds: nothing for the shipped GPT-2 style file, a
    /// leading special token for a Llama-style template.
    #[test]
    fn encode_prompt_adds_what_the_post_processor_says() {
        let t = shipped();
        let text = "The cat sat";
        assert_eq!(t.encode_prompt(text).unwrap(), t.encode(text).unwrap());
        let bos = t.eos_token_id().unwrap();
        let template = tokenizers::processors::template::TemplateProcessing::builder()
            .try_single(format!("{EOS_TOKEN} $A"))
            .unwrap()
            .special_tokens(vec![(EOS_TOKEN.to_string(), bos)])
            .build()
            .unwrap();
        let mut inner = t.inner().clone();
        inner.with_post_processor(Some(template));
        let llama_like = Tokenizer::from_inner(inner);
        let mut expected = vec![bos];
        expected.extend(t.encode(text).unwrap());
        assert_eq!(llama_like.encode_prompt(text).unwrap(), expected);
        assert_eq!(llama_like.encode(text).unwrap(), t.encode(text).unwrap());
    }

    #[test]
    fn shipped_has_gpt2_sized_vocab_and_eos_last() {
        let t = shipped();
        assert_eq!(t.vocab_size(), 50257);
        assert_eq!(t.eos_token_id(), Some(50256));
        assert_eq!(t.id_to_token(50256).as_deref(), Some(EOS_TOKEN));
        // every id a GPT-2 sized model can sample has a token and decodes
        for id in 0..50257 {
            assert!(t.id_to_token(id).is_some(), "id {id} has no token");
        }
        assert!(t.id_to_token(50257).is_none());
    }

    #[test]
    fn merges_of_the_shipped_tokenizer() {
        // the file's "merges" list: 50,000 pairs (256 bytes + 50,000 merges + <|endoftext|>),
        // the first " "+"t", then "h"+"e"; merge 13 glues the tokens of merges 1 and 2: " t"+"he"
        let merges = shipped().merges().unwrap();
        assert_eq!(merges.len(), 50_000);
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(merges[0], pair("Ġ", "t"));
        assert_eq!(merges[1], pair("h", "e"));
        assert_eq!(merges[12], pair("Ġt", "he"));
    }

    #[test]
    fn round_trips_exactly() {
        let t = shipped();
        for text in [
            "Hello, world!",
            "  leading spaces and trailing  ",
            "The KV cache makes generation fast.\n\nNew paragraph\ttab\r\n",
            "naïve café, 猫がいる, 한국어, Ελληνικά, emoji 🙂🚀👩‍👩‍👧, math ∑ x² ≈ π",
            "<|endoftext|>after the end",
            "",
        ] {
            let ids = t.encode(text).unwrap();
            assert_eq!(t.decode(&ids).unwrap(), text, "ids {ids:?}");
        }
    }

    #[test]
    fn no_prefix_space_is_added() {
        // ByteLevel::new(false, ..): "cat" and " cat" are different token sequences
        let t = shipped();
        let a = t.encode("cat").unwrap();
        let b = t.encode(" cat").unwrap();
        assert_ne!(a, b);
        assert!(!t.id_to_token(a[0]).unwrap().starts_with('Ġ'));
        assert!(t.id_to_token(b[0]).unwrap().starts_with('Ġ'));
    }

    #[test]
    fn frequent_words_are_single_tokens_and_rare_ones_are_split() {
        let t = shipped();
        // " the" is the most common word of the generated corpus: it must have its own token
        let the = t.encode(" the").unwrap();
        assert_eq!(the.len(), 1);
        assert_eq!(t.id_to_token(the[0]).as_deref(), Some("Ġthe"));
        // 'Q','X','J' never follow each other in the corpus: no merge can cover them
        assert_eq!(t.encode("QXJQXJ").unwrap().len(), 6);
        // a character the corpus never contains (a crab, U+1F980) is its 4 bytes, in 2+ tokens
        let crab = t.encode("🦀").unwrap();
        assert!((2..=4).contains(&crab.len()), "{crab:?}");
    }

    #[test]
    fn eos_text_is_one_token_and_unknown_ids_are_errors() {
        let t = shipped();
        assert_eq!(t.encode("<|endoftext|>").unwrap(), vec![50256]);
        let err = t.decode(&[1, 50257, 2]).unwrap_err();
        assert!(matches!(err, TokenizerError::UnknownId { id: 50257, vocab_size: 50257 }), "{err}");
        assert!(matches!(t.decode(&[u32::MAX]), Err(TokenizerError::UnknownId { .. })));
    }

    #[test]
    fn every_byte_has_a_token() {
        // byte-level: all 256 bytes are in the base alphabet, with the ids GPT-2's ordering
        // gives them (sorted by stand-in character), so any text encodes
        let t = shipped();
        for b in 0..=255u8 {
            let token = crate::byte_level::byte_to_char(b).to_string();
            let id = t.token_to_id(&token).unwrap_or_else(|| panic!("byte {b:#04x} has no token"));
            assert!(id < 256, "byte {b:#04x} has id {id}");
        }
        let text: String = (0u32..0x800).filter_map(char::from_u32).collect();
        assert_eq!(t.decode(&t.encode(&text).unwrap()).unwrap(), text);
    }

    #[test]
    fn invalid_files_are_errors_that_name_the_path() {
        let dir = std::env::temp_dir().join(format!("ch01-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("broken-tokenizer.json");
        std::fs::write(&bad, "{ not json").unwrap();
        let err = Tokenizer::from_file(&bad).unwrap_err();
        assert!(matches!(err, TokenizerError::Load { .. }));
        let msg = err.to_string();
        assert!(msg.starts_with("cannot load tokenizer ") && msg.contains("broken-tokenizer.json"), "{msg}");

        // valid JSON but not a tokenizer
        std::fs::write(&bad, r#"{"hello": "world"}"#).unwrap();
        assert!(Tokenizer::from_file(&bad).unwrap_err().to_string().contains("broken-tokenizer.json"));

        let missing = dir.join("missing.json");
        let msg = Tokenizer::from_file(&missing).unwrap_err().to_string();
        assert!(msg.contains("missing.json"), "{msg}");
        std::fs::remove_dir_all(&dir).ok();

        assert!(matches!(Tokenizer::from_json("[]"), Err(TokenizerError::Parse(_))));
    }

    #[test]
    fn save_then_load_gives_the_same_tokenizer() {
        let dir = std::env::temp_dir().join(format!("ch01-save-{}", std::process::id()));
        let path = dir.join("sub").join("tokenizer.json");
        shipped().save(&path).unwrap();
        let loaded = Tokenizer::from_file(&path).unwrap();
        assert_eq!(loaded.vocab_size(), 50257);
        let text = "café 猫 🙂 the cache";
        assert_eq!(loaded.encode(text).unwrap(), shipped().encode(text).unwrap());
        std::fs::remove_dir_all(&dir).ok();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_string_round_trips(text in any::<String>()) {
            let t = shipped();
            let ids = t.encode(&text).unwrap();
            prop_assert_eq!(t.decode(&ids).unwrap(), text);
        }
    }
}
