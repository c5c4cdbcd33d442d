//! Byte-pair encoding, learned by a plain loop.
//!
//! **Byte-pair encoding** learns a vocabulary from data:
//!
//! 1. the text is cut into "words" (GPT-2's pre-tokenizer: letters with their leading space,
//!    runs of digits, runs of punctuation, whitespace), so no token crosses a word boundary;
//! 2. every word is written as its bytes: the vocabulary starts with the 256 single bytes;
//! 3. the most frequent adjacent pair of tokens in the corpus (say `t` + `h`) is **merged**
//!    into a new token `th`, and every occurrence is rewritten with it;
//! 4. step 3 repeats until the vocabulary has the size asked for.
//!
//! The merges, in order, *are* the tokenizer: encoding a new text replays them. Frequent words
//! end up as one token, rare words as a few pieces, and unseen characters as their raw bytes:
//! nothing is ever "unknown".
//!
//! [`learn`] is steps 2 to 4 without speed-ups: every step recounts every pair of every word.
//! The `tokenizers` crate ([`train`](crate::train)) runs the same algorithm with a priority
//! queue and counts updated in place; the tests below check that both learn the same merges.

use crate::byte_level::{bytes_to_token, is_printable};
use crate::error::{Result, TokenizerError};
use std::collections::HashMap;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

/// A token id. The 256 bytes are ids 0..256; the k-th merge (from 0) makes id 256 + k.
pub type Id = u32;

/// One learned merge: the pair of tokens that became a new token, and how often the pair
/// occurred in the corpus when it was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub pair: (Id, Id),
    pub count: u64,
}

/// What training learns: the merges, in order, and the bytes every id stands for.
pub struct Bpe {
    /// `vocab[id]`: the bytes of token `id`.   // [256 + merges.len()]
    vocab: Vec<Vec<u8>>,
    /// `merges[k]` made the token `256 + k`.     // [n_merges]
    merges: Vec<Merge>,
}

impl Bpe {
    /// The learned merges, in the order they were learned.
    pub fn merges(&self) -> &[Merge] {
        &self.merges
    }

    /// The bytes of token `id`, or `None` if there is no such id.
    pub fn token(&self, id: Id) -> Option<&[u8]> {
        self.vocab.get(id as usize).map(Vec::as_slice)
    }

    /// The merges as `tokenizer.json` writes them: pairs of token strings (`("Ġ", "t")`).
    pub fn merge_tokens(&self) -> Vec<(String, String)> {
        let token = |id: Id| bytes_to_token(&self.vocab[id as usize]);
        self.merges.iter().map(|m| (token(m.pair.0), token(m.pair.1))).collect()
    }
}

// ANCHOR: byte_ids
/// The id of each byte: `ids[b]`. GPT-2 (and `tokenizer.json`) numbers the 256 bytes in the
/// order of their printable stand-in characters (see [`crate::byte_level`]): the printable
/// bytes first, from `!` (id 0), then the others, from byte 0 (id 188; the space is id 220).
pub fn byte_ids() -> [Id; 256] {
    let mut ids = [0; 256];
    let printable_first = (0..=255u8).filter(|&b| is_printable(b)).chain((0..=255u8).filter(|&b| !is_printable(b)));
    for (id, b) in printable_first.enumerate() {
        ids[b as usize] = id as Id;
    }
    ids
}
// ANCHOR_END: byte_ids

// ANCHOR: count_words
/// Cut the documents into words with GPT-2's pre-tokenizer (letters with their leading space,
/// digits, punctuation, whitespace: the one [`train`](crate::train) uses) and count each
/// distinct word. BPE never merges across words, so this is all training needs of the text.
pub fn count_words(documents: &[String]) -> Result<HashMap<Vec<u8>, u64>> {
    let pre_tokenizer = ByteLevel::new(false, true, true);
    let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
    for doc in documents {
        let mut words = PreTokenizedString::from(doc.as_str());
        pre_tokenizer.pre_tokenize(&mut words).map_err(|e| TokenizerError::Train(e.to_string()))?;
        // each word as its place (start..end) in the document's bytes
        for (_, (start, end), _) in words.get_splits(OffsetReferential::Original, OffsetType::Byte) {
            *counts.entry(doc.as_bytes()[start..end].to_vec()).or_default() += 1;
        }
    }
    Ok(counts)
}
// ANCHOR_END: count_words

// ANCHOR: learn
/// Learn up to `n_merges` merges from words and their counts. Stops early when no word has
/// two tokens left to merge.
pub fn learn(word_counts: &HashMap<Vec<u8>, u64>, n_merges: usize) -> Bpe {
    // the vocabulary starts with the 256 single bytes
    let ids = byte_ids();
    let mut vocab = vec![Vec::new(); 256]; // [256 + merges] bytes of each id
    for b in 0..=255u8 {
        vocab[ids[b as usize] as usize] = vec![b];
    }
    // every distinct word as a list of ids, one per byte, with its count   // [n_words]
    let mut words: Vec<(Vec<Id>, u64)> = word_counts
        .iter()
        .map(|(word, &count)| (word.iter().map(|&b| ids[b as usize]).collect(), count))
        .collect();

    let mut merges = Vec::new();
    while merges.len() < n_merges {
        // 1. how often each adjacent pair occurs in the corpus
        let pair_counts = count_pairs(&words);
        // 2. the most frequent pair; among equal counts, the smallest (left id, right id),
        //    which is the rule of the `tokenizers` crate
        let best = pair_counts.into_iter().max_by(|(pair_a, count_a), (pair_b, count_b)| {
            count_a.cmp(count_b).then(pair_b.cmp(pair_a))
        });
        let Some((pair, count)) = best else {
            break; // every word is a single token
        };
        // 3. a new token: the bytes of the left token, then those of the right one
        let new_id = vocab.len() as Id;
        vocab.push([vocab[pair.0 as usize].as_slice(), vocab[pair.1 as usize].as_slice()].concat());
        // 4. rewrite every word with it
        for (word, _) in &mut words {
            merge(word, pair, new_id);
        }
        merges.push(Merge { pair, count });
    }
    Bpe { vocab, merges }
}

/// How many times each adjacent pair of ids occurs: a word that occurs `count` times
/// contributes `count` for each place the pair stands in it.
fn count_pairs(words: &[(Vec<Id>, u64)]) -> HashMap<(Id, Id), u64> {
    let mut counts = HashMap::new();
    for (word, count) in words {
        for pair in word.windows(2) {
            *counts.entry((pair[0], pair[1])).or_default() += count;
        }
    }
    counts
}

/// Replace every occurrence of `pair` in `word` by `new_id`, left to right: `a a a` with the
/// pair `(a, a)` becomes `aa a`.
fn merge(word: &mut Vec<Id>, pair: (Id, Id), new_id: Id) {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        if i + 1 < word.len() && (word[i], word[i + 1]) == pair {
            out.push(new_id);
            i += 2;
        } else {
            out.push(word[i]);
            i += 1;
        }
    }
    *word = out;
}
// ANCHOR_END: learn

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::train;

    fn words(text: &str) -> HashMap<Vec<u8>, u64> {
        count_words(&[text.to_string()]).unwrap()
    }

    /// The merges as byte strings: `(left, right)`.
    fn merged_bytes(bpe: &Bpe) -> Vec<(String, String)> {
        let text = |id| String::from_utf8_lossy(bpe.token(id).unwrap()).into_owned();
        bpe.merges().iter().map(|m| (text(m.pair.0), text(m.pair.1))).collect()
    }

    #[test]
    fn gpt2_byte_ids() {
        // from GPT-2's encoder.json: "!" is 0, "A" is 32, "Ġ" (the space) is 220, "Ċ" (newline) 198
        let ids = byte_ids();
        assert_eq!((ids[b'!' as usize], ids[b'A' as usize]), (0, 32));
        assert_eq!((ids[b' ' as usize], ids[b'\n' as usize]), (220, 198));
        let mut sorted = ids.to_vec();
        sorted.sort();
        assert_eq!(sorted, (0..256).collect::<Vec<Id>>(), "each id once");
    }

    #[test]
    fn merges_worked_by_hand() {
        // words: "ab", " ab" x2, " cd". Pairs: (a,b) 3, (" ",a) 2, (" ",c) 1, (c,d) 1.
        // merge 1: a+b. Then (" ",ab) 2, (" ",c) 1, (c,d) 1 -> merge 2: " "+ab.
        // then (" ",c) 1 and (c,d) 1 tie: the smaller pair of ids wins, and "c" (id 66) is
        // smaller than " " (id 220): merge 3 is c+d, then " "+cd.
        let bpe = learn(&words("ab ab ab cd"), 10);
        let got = merged_bytes(&bpe);
        let want = [("a", "b"), (" ", "ab"), ("c", "d"), (" ", "cd")];
        assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
        let counts: Vec<u64> = bpe.merges().iter().map(|m| m.count).collect();
        assert_eq!(counts, [3, 2, 1, 1]);
        assert_eq!(bpe.token(256 + 3), Some(&b" cd"[..]));
        assert_eq!(bpe.token(256 + 4), None, "no pair left after 4 merges");
    }

    #[test]
    fn overlapping_pairs_merge_left_to_right() {
        // "aaa": (a,a) occurs twice but only one merge fits: [aa, a]; then [aaa]
        let bpe = learn(&words("aaa"), 10);
        assert_eq!(merged_bytes(&bpe), [("a".into(), "a".into()), ("aa".into(), "a".into())]);
        assert_eq!(bpe.merges()[0].count, 2);
        assert_eq!(bpe.token(257), Some(&b"aaa"[..]));
    }

    #[test]
    fn words_are_counted_with_gpt2_pre_tokenizer() {
        let counts = words("the cat, the  cat 42\n");
        assert_eq!(counts[&b" cat"[..]], 2);
        assert_eq!(counts[&b"the"[..]], 1);
        assert_eq!(counts[&b" the"[..]], 1);
        assert_eq!(counts[&b","[..]], 1);
        assert_eq!(counts[&b" 42"[..]], 1);
        assert_eq!(counts.values().sum::<u64>(), 8); // the, " cat", ",", " the", " ", " cat", " 42", "\n"
    }

    /// Our merges and the `tokenizers` crate's, on the same documents, until no pair is left.
    fn same_merges_as_the_crate(documents: &[String]) -> usize {
        let ours = learn(&count_words(documents).unwrap(), usize::MAX);
        // vocab_size: room for more merges than there can be (+1 for <|endoftext|>)
        let theirs = train(documents, 256 + ours.merges().len() + 100).unwrap();
        assert_eq!(ours.merge_tokens(), theirs.merges().unwrap());
        // and the same ids: the bytes first in GPT-2's order, then one id per merge
        for id in 0..256 + ours.merges().len() as Id {
            assert_eq!(Some(bytes_to_token(ours.token(id).unwrap())), theirs.id_to_token(id), "id {id}");
        }
        ours.merges().len()
    }

    #[test]
    fn learns_the_merges_of_the_tokenizers_crate() {
        // ties at every count, multi-byte characters, digits, punctuation, newlines
        let text = "the cat sat on the mat; the cats sat on the mats.\n\
                    a cat, two cats: 猫 and 猫猫, 🙂 🙂!\n\
                    low lower lowest, slow slower slowest 1999 2024 aaaa\n";
        let n = same_merges_as_the_crate(&[text.to_string(), text.to_uppercase()]);
        assert!(n > 40, "only {n} merges");
    }
}
