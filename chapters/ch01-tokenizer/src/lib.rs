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
//! The tokenizer itself is the `tokenizers` crate (the one behind Hugging Face's tokenizers).
//! This chapter trains one on a corpus it [generates](corpus) and ships the result as
//! `tokenizer.json` (50,257 ids, `<|endoftext|>` = 50256, like GPT-2), and loads any GPT-2
//! style `tokenizer.json`.
//!
//! | file | idea |
//! |---|---|
//! | [`corpus`] | generating training text, deterministically |
//! | [`byte_level`] | GPT-2's map from bytes to printable characters |
//! | [`train`] | learning the merges (byte-pair encoding) |
//! | [`tokenizer`] | loading `tokenizer.json`, encode, decode |
//! | [`stream`] | decoding one id at a time without breaking characters |
//! | [`error`] | what can go wrong |

pub mod byte_level;
pub mod corpus;
pub mod error;
pub mod stream;
pub mod tokenizer;
pub mod train;

pub use error::{Result, TokenizerError};
pub use stream::StreamDecoder;
pub use tokenizer::{Tokenizer, EOS_TOKEN};
