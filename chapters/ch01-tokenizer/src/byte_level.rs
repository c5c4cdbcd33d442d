//! GPT-2's map between bytes and printable characters.
//!
//! A byte-level tokenizer works on the **bytes** of the UTF-8 text, but its vocabulary is stored
//! as strings (in `tokenizer.json`). Some bytes are not printable (a space, a newline, the
//! bytes 0x80..0xFF that only appear inside multi-byte characters), so GPT-2 gives each of the
//! 256 bytes a visible stand-in character: printable ASCII and Latin-1 stand for themselves,
//! every other byte is shifted to U+0100 and up. A space becomes `Ġ` and a newline `Ċ`, which
//! is why the token for " the" is written `Ġthe`.
//!
//! The `tokenizers` crate does this mapping internally; it is written out here to *show* it,
//! and so the demo can print the raw bytes of a token that holds only part of a character.

// The map from a byte to its character is exercise ch01-1: `--features ex-ch01-1` swaps this
// file for the stub in exercises/ (see exercises/info.toml).
#[cfg_attr(feature = "ex-ch01-1", path = "../exercises/ch01_1_byte_to_char.rs")]
mod to_char;
pub use to_char::byte_to_char;

// ANCHOR: byte_map
/// Bytes that GPT-2 keeps as themselves: printable ASCII and most of printable Latin-1.
#[cfg_attr(feature = "ex-ch01-1", allow(dead_code))] // the exercise's stub has yet to use it
pub(crate) fn is_printable(b: u8) -> bool {
    (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
}

/// The byte a stand-in character means, or `None` if `c` is not one of the 256 stand-ins.
pub fn char_to_byte(c: char) -> Option<u8> {
    (0..=255u8).find(|&b| byte_to_char(b) == c)
}
// ANCHOR_END: byte_map

/// The raw bytes of a byte-level token string (`"Ġcat"` -> `b" cat"`), or `None` if some
/// character of the token is not one of the 256 stand-ins (a token from another kind of
/// vocabulary). `<|endoftext|>` is all printable ASCII, so it maps to its own 13 bytes.
pub fn token_to_bytes(token: &str) -> Option<Vec<u8>> {
    token.chars().map(char_to_byte).collect()
}

/// The token string of some bytes, as a byte-level vocabulary writes it (`b" cat"` ->
/// `"Ġcat"`): the inverse of [`token_to_bytes`].
pub fn bytes_to_token(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| byte_to_char(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;

    #[test]
    fn the_map_is_a_bijection_onto_the_tokenizers_alphabet() {
        let ours: HashSet<char> = (0..=255u8).map(byte_to_char).collect();
        assert_eq!(ours.len(), 256, "two bytes share a character");
        let theirs: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
        assert_eq!(ours, theirs);
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b));
        }
    }

    #[test]
    fn known_stand_ins() {
        // from GPT-2's bytes_to_unicode: byte 0 is the first shifted one (U+0100 'Ā'),
        // '\n' (10) the 11th (U+010A 'Ċ'), ' ' (32) the 33rd (U+0120 'Ġ')
        assert_eq!(byte_to_char(0), 'Ā');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'A'), 'A');
        assert_eq!(byte_to_char(0xE9), 'é', "Latin-1 0xE9 stands for itself");
        assert_eq!(char_to_byte('猫'), None);
    }

    #[test]
    fn token_strings_to_bytes() {
        assert_eq!(token_to_bytes("Ġcat").unwrap(), b" cat");
        // 'é' is the two bytes C3 A9, written 'Ã' (0xC3) and '©' (0xA9)
        assert_eq!(token_to_bytes("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(token_to_bytes("猫"), None);
        assert_eq!(bytes_to_token(b" cat"), "Ġcat");
        assert_eq!(bytes_to_token("é".as_bytes()), "Ã©");
    }
}
