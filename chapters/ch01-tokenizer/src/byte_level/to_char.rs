//! From a byte to the character that stands for it (exercise ch01-1 replaces this file).

use super::is_printable;

// ANCHOR: byte_to_char
// ANCHOR: byte_to_char_signature
/// The character that stands for byte `b` in a byte-level vocabulary.
pub fn byte_to_char(b: u8) -> char {
    // ANCHOR_END: byte_to_char_signature
    if is_printable(b) {
        return char::from(b);
    }
    // the 68 other bytes, in increasing order, map to U+0100, U+0101, ...
    let rank = (0..b).filter(|&c| !is_printable(c)).count() as u32;
    char::from_u32(0x100 + rank).expect("U+0100..U+0143 are valid characters")
}
// ANCHOR_END: byte_to_char
