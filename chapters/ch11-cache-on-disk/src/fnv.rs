//! FNV-1a, 64 bits: the one hash of this chapter (the model fingerprint and the payload
//! checksum).
//!
//! Why this one: it is ten lines with no dependency, it streams (a 500 MB checkpoint is hashed
//! in 1 MiB pieces), and every step (xor a byte, multiply by an odd prime modulo 2^64) is a
//! bijection of the state, so two inputs of the same length that differ in any bytes of one
//! position always hash differently. It guards against accidents (a damaged file, another
//! model), not against an adversary who crafts a collision: it is not a cryptographic hash.

/// FNV-1a's 64-bit offset basis and prime (Fowler, Noll, Vo).
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

// ANCHOR: fnv
/// A running FNV-1a hash.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(OFFSET_BASIS)
    }
}

impl Fnv1a {
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}
// ANCHOR_END: fnv

/// The hash of one byte string.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    /// The published test vectors of FNV-1a 64 (Landon Curt Noll's FNV page).
    #[test]
    fn matches_the_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }
}
