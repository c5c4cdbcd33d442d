//! Training a byte-level BPE tokenizer with the `tokenizers` crate.
//!
//! The algorithm is [`crate::bpe`]'s loop (words from GPT-2's pre-tokenizer, the 256 bytes to
//! start, merge the most frequent pair until the vocabulary is full), run by the crate with a
//! priority queue and counts updated in place instead of recounted, so that 50,000 merges on
//! megabytes of text take seconds. The tests of [`crate::bpe`] check that both learn the same
//! merges. The crate also writes the result as a `tokenizer.json` that loads anywhere.

use crate::error::{Result, TokenizerError};
use crate::tokenizer::{Tokenizer, EOS_TOKEN};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::AddedToken;

// ANCHOR: train
/// Train a byte-level BPE with `vocab_size` ids in total: the 256 bytes, the learned merges,
/// and `<|endoftext|>` as the very last id (as in GPT-2). If the corpus runs out of pairs to
/// merge first, the vocabulary is smaller: check [`Tokenizer::vocab_size`].
pub fn train(documents: &[String], vocab_size: usize) -> Result<Tokenizer> {
    if vocab_size < 257 {
        return Err(TokenizerError::Train(format!(
            "vocab_size {vocab_size} is too small: the 256 bytes and <|endoftext|> need 257 ids"
        )));
    }
    // add_prefix_space = false: no space is added before the text, so decode(encode(s)) == s
    // (ByteLevel::default() adds one). trim_offsets only affects offsets. use_regex = true:
    // GPT-2's split into words, numbers, punctuation and whitespace.
    let byte_level = ByteLevel::new(false, true, true);
    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(byte_level));
    tokenizer.with_decoder(Some(byte_level));

    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size - 1) // bytes + merges; the last id is for <|endoftext|>
        .min_frequency(0)
        // all 256 bytes, even those the corpus never contains, so every text can be encoded
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .show_progress(false)
        .build()
        .into();
    tokenizer
        .train(&mut trainer, documents.iter())
        .map_err(|e| TokenizerError::Train(e.to_string()))?;

    // special: never split, and never produced by merges (the text "<|endoftext|>" maps to it)
    tokenizer
        .add_special_tokens([AddedToken::from(EOS_TOKEN, true)])
        .map_err(|e| TokenizerError::Train(e.to_string()))?;
    Ok(Tokenizer::from_inner(tokenizer))
}
// ANCHOR_END: train

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_follow_pair_frequencies() {
        // Worked by hand. Pre-tokenized: "ab", "Ġab", "Ġab", "Ġcd" (Ġ is the space byte).
        // Pair counts: (a,b) 3, (Ġ,a) 2, (Ġ,c) 1, (c,d) 1 -> merge 1 is a+b = "ab".
        // Rewritten: [ab], [Ġ,ab] x2, [Ġ,c,d]: (Ġ,ab) 2 is now the top -> merge 2 is "Ġab".
        let t = train(&["ab ab ab cd".to_string()], 259).unwrap();
        assert_eq!(t.vocab_size(), 259);
        assert_eq!(t.id_to_token(256).as_deref(), Some("ab"));
        assert_eq!(t.id_to_token(257).as_deref(), Some("Ġab"));
        assert_eq!(t.id_to_token(258).as_deref(), Some(EOS_TOKEN));
        assert_eq!(t.encode(" ab").unwrap(), vec![257]);
        // no merge for c+d yet: two single-byte tokens (ids < 256)
        let cd = t.encode("cd").unwrap();
        assert_eq!(cd.len(), 2);
        assert!(cd.iter().all(|&id| id < 256));
    }

    #[test]
    fn small_training_learns_frequent_words() {
        let docs: Vec<String> = (0..200).map(|i| format!("low lower lowest {i} slow low")).collect();
        let t = train(&docs, 300).unwrap();
        assert_eq!(t.vocab_size(), 300);
        assert_eq!(t.eos_token_id(), Some(299));
        // " low" is in every document, four times: it must be one token
        let ids = t.encode(" low").unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(t.id_to_token(ids[0]).as_deref(), Some("Ġlow"));
        // text that was never seen still round-trips, through single bytes
        let text = "slow lower 42 ünïcode 🦀";
        assert_eq!(t.decode(&t.encode(text).unwrap()).unwrap(), text);
    }

    #[test]
    fn a_tiny_corpus_gives_a_smaller_vocabulary_and_too_small_sizes_are_errors() {
        // "aaa": a+a -> [aa, a], then aa+a -> [aaa]; then there is no pair left to merge
        let t = train(&["aaa".to_string()], 1000).unwrap();
        assert_eq!(t.vocab_size(), 256 + 2 + 1);
        assert_eq!(t.eos_token_id(), Some(258));
        assert_eq!(t.id_to_token(257).as_deref(), Some("aaa"));
        assert!(matches!(train(&[], 256), Err(TokenizerError::Train(_))));
        assert!(matches!(train(&[], 0), Err(TokenizerError::Train(_))));
    }
}
