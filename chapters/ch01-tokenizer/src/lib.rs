//! # Chapter 1: tokens
//!
//! A language model reads and writes integers, not characters. A **tokenizer** maps text to a
//! sequence of ids and back. GPT-2 uses **byte-level BPE** (byte-pair encoding):
//!
//! 1. text is turned into bytes, so *every* string can be encoded (no "unknown" token);
//! 2. training starts with the 256 single bytes and repeatedly **merges** the most frequent
//!    adjacent pair into a new token, until the vocabulary has the size asked for;
//! 3. encoding applies the learned merges; decoding concatenates the bytes of the tokens.
//!
//! Because a token is a sequence of *bytes*, one character of several bytes (é, 猫, 🙂) can be
//! split across tokens. Printing tokens one at a time, as generation does, must then wait for
//! the rest of the character: that is the job of [`StreamDecoder`].
//!
//! [`bpe`] writes the training loop out in full: count the adjacent pairs, merge the most
//! frequent, repeat. It learns the same merges as the `tokenizers` crate (the one behind
//! Hugging Face's tokenizers), which the rest of the chapter uses to train fast ([`train`]),
//! load, encode and decode ([`tokenizer`]). The chapter ships a tokenizer trained on a corpus
//! the project generates itself (the `train-tokenizer` binary): `tokenizer.json`, 50,257 ids
//! with `<|endoftext|>` = 50256, like GPT-2. Any GPT-2 style `tokenizer.json` loads too.
//!
//! | file | idea |
//! |---|---|
//! | [`bpe`] | learning the merges: the plain loop |
//! | [`byte_level`] | GPT-2's map from bytes to printable characters |
//! | [`train`] | the same training, by the `tokenizers` crate |
//! | [`tokenizer`] | loading `tokenizer.json`, encode, decode |
//! | [`stream`] | decoding one id at a time without breaking characters |
//! | [`error`] | what can go wrong |

pub mod bpe;
pub mod byte_level;
pub mod error;
pub mod stream;
pub mod tokenizer;
pub mod train;

pub use error::{Result, TokenizerError};
pub use stream::StreamDecoder;
pub use tokenizer::{Tokenizer, EOS_TOKEN};
