//! The chapter's exercises, checked against independent truths: GPT-2's published byte
//! mapping, the `tokenizers` crate's own alphabet, and UTF-8 itself.
//! `cargo test -p ch01-tokenizer --features exercises` runs them on your stubs; without the
//! feature they test the reference code. See `exercises/info.toml`.

use ch01_tokenizer::byte_level::byte_to_char;
use ch01_tokenizer::{StreamDecoder, Tokenizer};
use std::collections::HashSet;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

// ANCHOR: ch01_1_known_stand_ins
#[test]
fn ch01_1_known_stand_ins() {
    // GPT-2's bytes_to_unicode: printable bytes stay, the others count up from U+0100
    let cases = [
        (b'A', 'A', "a printable ASCII byte stands for itself"),
        (b'~', '~', "a printable ASCII byte stands for itself"),
        (0xE9, 'é', "printable Latin-1 (0xE9) stands for itself"),
        (0, 'Ā', "byte 0 is the first non-printable byte: U+0100"),
        (b'\n', 'Ċ', "the newline (10) is the 11th non-printable byte: U+0100 + 10 = U+010A"),
        (b' ', 'Ġ', "the space (32) is the 33rd non-printable byte: U+0100 + 32 = U+0120"),
        (0x7F, 'ġ', "DEL (127) comes after the 33 bytes 0..=32: U+0100 + 33 = U+0121"),
        (0xAD, 'Ń', "the soft hyphen (0xAD) is the 68th and last non-printable byte: U+0143"),
    ];
    for (byte, want, why) in cases {
        let got = byte_to_char(byte);
        assert!(
            got == want,
            "exercise ch01-1: byte {byte:#04x} should map to '{want}' (U+{:04X}): {why}; it maps to '{got}' (U+{:04X})",
            want as u32,
            got as u32
        );
    }
}
// ANCHOR_END: ch01_1_known_stand_ins

#[test]
fn ch01_1_the_256_characters_are_the_tokenizers_alphabet() {
    let ours: Vec<char> = (0..=255u8).map(byte_to_char).collect();
    let distinct: HashSet<char> = ours.iter().copied().collect();
    assert!(
        distinct.len() == 256,
        "exercise ch01-1: the 256 bytes should map to 256 different characters (decoding must be able \
         to tell them apart), but only {} are different",
        distinct.len()
    );
    let theirs: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let missing: Vec<char> = theirs.difference(&distinct).copied().collect();
    assert!(
        missing.is_empty(),
        "exercise ch01-1: the tokenizers crate uses {} characters that no byte maps to, e.g. '{}' (U+{:04X})",
        missing.len(),
        missing[0],
        missing[0] as u32
    );
}

/// The id of the token that is the single byte `b`, for the few bytes these tests use. The
/// token names are written out by hand (from GPT-2's table) so the ch01-2 tests do not depend on
/// exercise ch01-1: 0xC3, 0xA9, 0xE7 and 0xAB are printable Latin-1 and stand for themselves,
/// 0x8C is the 47th non-printable byte (after 0..=32, 127 and 0x80..=0x8B): U+0100 + 46 = 'Į'.
fn byte_id(t: &Tokenizer, b: u8) -> u32 {
    let name = match b {
        b'a' => "a",
        0xC3 => "Ã",
        0xA9 => "©",
        0xE7 => "ç",
        0x8C => "Į",
        0xAB => "«",
        _ => panic!("test helper: no name written down for byte {b:#04x}"),
    };
    t.token_to_id(name).unwrap_or_else(|| panic!("the shipped vocabulary has every single byte, {name:?} is missing"))
}

// ANCHOR: ch01_2_a_character_split_over_tokens_comes_out_whole
#[test]
fn ch01_2_a_character_split_over_tokens_comes_out_whole() {
    let t = Tokenizer::shipped();
    let mut d = StreamDecoder::new(&t);
    // "é" is C3 A9, "猫" is E7 8C AB: one token per byte, the worst case
    let steps: [(u8, Option<&str>, &str); 6] = [
        (b'a', Some("a"), "'a' is a whole character: hand it out at once"),
        (0xC3, None, "0xC3 is the first of the 2 bytes of 'é': hold it back"),
        (0xA9, Some("é"), "0xA9 completes 'é': hand out 'é' (and only it)"),
        (0xE7, None, "0xE7 starts the 3 bytes of '猫': hold it back"),
        (0x8C, None, "0x8C is the 2nd of 3 bytes of '猫': still hold back"),
        (0xAB, Some("猫"), "0xAB completes '猫': hand out '猫'"),
    ];
    for (i, (byte, want, why)) in steps.into_iter().enumerate() {
        let got = d.push(byte_id(&t, byte)).expect("a byte token is a known id");
        assert!(
            got.as_deref() == want,
            "exercise ch01-2: push number {} (the byte {byte:#04x}) should return {want:?}: {why}; it returned {got:?}",
            i + 1
        );
    }
    let rest = d.finish().expect("finish decodes known ids");
    assert!(rest.is_none(), "exercise ch01-2: every character was whole, so finish() should return None, it returned {rest:?}");
}
// ANCHOR_END: ch01_2_a_character_split_over_tokens_comes_out_whole

#[test]
fn ch01_2_pieces_join_to_the_decoded_text() {
    let t = Tokenizer::shipped();
    for text in ["The cache grows by one row per token.", "naïve 猫 🙂🙂 end", "a 🦀 and 龘!"] {
        let ids = t.encode(text).expect("encoding never fails");
        let mut d = StreamDecoder::new(&t);
        let mut pieces: Vec<String> = vec![];
        for &id in &ids {
            pieces.extend(d.push(id).expect("known id"));
        }
        pieces.extend(d.finish().expect("known ids"));
        let broken: Vec<&String> = pieces.iter().filter(|p| p.contains('\u{FFFD}')).collect();
        assert!(
            broken.is_empty(),
            "exercise ch01-2: streaming {text:?} handed out a piece with a broken character (�): {broken:?}"
        );
        assert!(
            pieces.concat() == text,
            "exercise ch01-2: the pieces of {text:?} joined should give the text back; they give {:?}",
            pieces.concat()
        );
    }
}

#[test]
fn ch01_2_an_unknown_id_is_an_error_and_the_stream_goes_on() {
    let t = Tokenizer::shipped();
    let mut d = StreamDecoder::new(&t);
    let first = d.push(byte_id(&t, 0xE7)).ok();
    assert!(
        first == Some(None),
        "exercise ch01-2: 0xE7 alone is the start of a character: push should return Ok(None), it returned {first:?}"
    );
    assert!(d.push(99_999).is_err(), "exercise ch01-2: id 99999 is not in the vocabulary: push should return an error");
    d.push(byte_id(&t, 0x8C)).expect("known id");
    let got = d.push(byte_id(&t, 0xAB)).expect("known id");
    assert!(
        got.as_deref() == Some("猫"),
        "exercise ch01-2: after a rejected id the stream should go on as if it had never been pushed: \
         E7 8C AB should give '猫', it gave {got:?}"
    );
}
