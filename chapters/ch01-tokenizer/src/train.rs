//! Training a byte-level BPE tokenizer with the `tokenizers` crate.

use crate::error::TokenizerError;
use crate::tokenizer::{Tokenizer, EOS_TOKEN};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::AddedToken;

/// GPT-2's map from bytes to printable characters: the vocabulary stores tokens as strings,
/// so each of the 256 bytes gets a visible stand-in (a space is `Ġ`, a newline `Ċ`).
pub fn byte_to_unicode(b: u8) -> char {
    let printable = |c: u8| (b'!'..=b'~').contains(&c) || (0xA1..=0xAC).contains(&c) || (0xAE..=0xFF).contains(&c);
    if printable(b) {
        return b as char;
    }
    // the non-printable bytes, in order, map to 256, 257, ...
    let rank = (0..b).filter(|&c| !printable(c)).count() as u32;
    char::from_u32(256 + rank).expect("valid code point")
}

// ANCHOR: train
/// Train a byte-level BPE with `vocab_size` ids in total: the 256 bytes, learned merges, and
/// `<|endoftext|>` as the very last id (as in GPT-2).
pub fn train(lines: &[String], vocab_size: usize) -> Result<Tokenizer, TokenizerError> {
    // ByteLevel::new(add_prefix_space = false, trim_offsets, use_regex = true): GPT-2's split
    // into words and punctuation, and no extra leading space, so decode(encode(s)) == s.
    let byte_level = ByteLevel::new(false, true, true);
    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(byte_level));
    tokenizer.with_decoder(Some(byte_level));
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size - 1) // leave the last id for <|endoftext|>
        .min_frequency(0)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect()) // all 256 bytes, even unseen ones
        .show_progress(false)
        .build()
        .into();
    tokenizer
        .train(&mut trainer, lines.iter())
        .map_err(|e| TokenizerError::Train(e.to_string()))?;
    let _added = tokenizer.add_special_tokens([AddedToken::from(EOS_TOKEN, true)]);
    Ok(Tokenizer::from_inner(tokenizer))
}
// ANCHOR_END: train

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_a_bijection_onto_the_byte_level_alphabet() {
        let ours: std::collections::HashSet<char> = (0..=255u8).map(byte_to_unicode).collect();
        assert_eq!(ours.len(), 256);
        let theirs: std::collections::HashSet<char> = ByteLevel::alphabet().into_iter().collect();
        assert_eq!(ours, theirs);
        assert_eq!(byte_to_unicode(b' '), 'Ġ');
        assert_eq!(byte_to_unicode(b'\n'), 'Ċ');
        assert_eq!(byte_to_unicode(b'A'), 'A');
    }

    #[test]
    fn small_training_learns_frequent_merges() {
        // "low" is everywhere: after training, " low" must be one token
        let lines: Vec<String> = (0..200).map(|i| format!("low lower lowest {i} slow low")).collect();
        let t = train(&lines, 300).unwrap();
        assert_eq!(t.vocab_size(), 300);
        assert_eq!(t.eos_token_id(), Some(299));
        let ids = t.encode(" low").unwrap();
        assert_eq!(ids.len(), 1, "{:?}", ids.iter().map(|&i| t.id_to_token(i)).collect::<Vec<_>>());
        assert_eq!(t.id_to_token(ids[0]).unwrap(), "Ġlow");
        let text = "slow lower 42 ünïcode";
        assert_eq!(t.decode(&t.encode(text).unwrap()).unwrap(), text);
    }
}
