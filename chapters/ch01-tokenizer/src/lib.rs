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
//! The tokenizer itself is the `tokenizers` crate (the one behind Hugging Face's tokenizers);
//! this chapter trains one on a corpus it [`generates`](corpus) and ships the result as
//! `tokenizer.json`, and loads any GPT-2 style `tokenizer.json`.

pub mod corpus;
pub mod error;
pub mod stream;
pub mod tokenizer;
pub mod train;

pub use error::TokenizerError;
pub use stream::StreamDecoder;
pub use tokenizer::Tokenizer;
