//! Exercise ch01-1: GPT-2's map from a byte to a printable character.
//!
//! A byte-level vocabulary is stored as strings, but 68 of the 256 bytes are not printable (the
//! space, the newline, control bytes, the bytes 0x80..0xA0 that only occur inside multi-byte
//! characters). GPT-2 keeps the 188 printable bytes as themselves and gives the 68 others, in
//! increasing order, the characters U+0100, U+0101, ... That is why a space is `Ġ` (U+0120) in
//! `tokenizer.json` and the token " the" is written `Ġthe`.
//!
//! `is_printable(b)` (in the parent module, `super::is_printable`) tells the two kinds apart.
//!
//! With `--features ex-ch01-1` this file replaces `src/byte_level/to_char.rs`.
//! Check it: `cargo run -p exercises -- check ch01-1`. Stuck: `cargo run -p exercises -- hint ch01-1`.
#![allow(unused_variables, unused_imports)] // nothing is used yet: delete this line when done

use super::is_printable;

/// The character that stands for byte `b` in a byte-level vocabulary.
pub fn byte_to_char(b: u8) -> char {
    // TODO: a printable byte stands for itself (char::from(b)). Any other byte b is the n-th
    // non-printable byte (counting from 0 over the bytes 0..b) and stands for U+0100 + n
    // (char::from_u32(0x100 + n)).
    todo!("ch01-1: printable bytes as themselves, the others as U+0100 + their rank")
}
