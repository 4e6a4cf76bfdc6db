//! [`Hash256`]: a 256-bit perceptual hash (PDQ) with the ThreatExchange hex layout.

use std::fmt;
use std::str::FromStr;

use bitvec::prelude::{BitSlice, Lsb0};

use crate::error::HashParseError;

/// A 256-bit hash, such as a PDQ hash.
///
/// Bit `k` (0..256) is bit `k % 64` of word `k / 64`. For PDQ, bit `k = 16*i + j` is set when
/// DCT coefficient `(i, j)` is above the median. The text form is the ThreatExchange layout: 64
/// hex digits forming a 256-bit big-endian number (the reference's sixteen 16-bit words printed
/// from word 15 down to word 0 with `%04x`). Parsing accepts upper or lower case; printing is
/// lower case.
///
/// ```
/// use hashmatch::Hash256;
/// let a: Hash256 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
/// let b: Hash256 = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22".parse()?;
/// assert_eq!(a.distance(&b), 6);
/// assert_eq!(a.to_string(), "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22");
/// assert!("f8f8".parse::<Hash256>().is_err());
/// # Ok::<(), hashmatch::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(C)]
pub struct Hash256 {
    words: [u64; 4],
}

// SAFETY: `Hash256` is `repr(C)` over `[u64; 4]`: no padding, and every bit pattern is a hash.
unsafe impl bytemuck::Zeroable for Hash256 {}
// SAFETY: as above; it is also `Copy` and `'static`.
unsafe impl bytemuck::Pod for Hash256 {}

impl Hash256 {
    /// Number of hex digits in the text form.
    pub const HEX_LEN: usize = 64;
    /// Number of bits.
    pub const BITS: u32 = 256;

    /// The all-zero hash.
    pub const ZERO: Hash256 = Hash256 { words: [0; 4] };

    /// Builds a hash from four 64-bit words, least significant (bits 0..64) first.
    pub const fn from_words(words: [u64; 4]) -> Self {
        Hash256 { words }
    }

    /// The four 64-bit words, least significant (bits 0..64) first.
    pub const fn words(&self) -> [u64; 4] {
        self.words
    }

    /// The 32 bytes of the big-endian number, as `bytes.fromhex(hex)` gives them in Python
    /// (the form python-threatexchange hands to FAISS).
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.words.iter().rev()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The inverse of [`Hash256::to_be_bytes`].
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().rev().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_be_bytes(b);
        }
        Hash256 { words }
    }

    /// Hamming distance: the number of bits that differ.
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.words[0] ^ other.words[0]).count_ones()
            + (self.words[1] ^ other.words[1]).count_ones()
            + (self.words[2] ^ other.words[2]).count_ones()
            + (self.words[3] ^ other.words[3]).count_ones()
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// Whether bit `k` is set. Panics if `k >= 256`.
    pub fn bit(&self, k: usize) -> bool {
        self.bits()[k]
    }

    /// Sets bit `k` to `value`. Panics if `k >= 256`.
    pub fn set_bit(&mut self, k: usize, value: bool) {
        self.bits_mut().set(k, value);
    }

    /// A read-only bit view: index `k` is bit `k` as documented on the type.
    pub fn bits(&self) -> &BitSlice<u64, Lsb0> {
        BitSlice::from_slice(&self.words)
    }

    /// A mutable bit view.
    pub fn bits_mut(&mut self) -> &mut BitSlice<u64, Lsb0> {
        BitSlice::from_slice_mut(&mut self.words)
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [w0, w1, w2, w3] = self.words;
        write!(f, "{w3:016x}{w2:016x}{w1:016x}{w0:016x}")
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}

impl FromStr for Hash256 {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex(s).map_err(crate::Error::from)
    }
}

fn parse_hex(s: &str) -> Result<Hash256, HashParseError> {
    if s.is_empty() {
        return Err(HashParseError::Empty);
    }
    if let Some((position, character)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit())
    {
        return Err(HashParseError::NotHex {
            position,
            character,
        });
    }
    // All characters are ASCII from here on, so byte length = character count.
    if s.len() != Hash256::HEX_LEN {
        return Err(HashParseError::WrongLength {
            expected: Hash256::HEX_LEN,
            found: s.len(),
        });
    }
    let mut words = [0u64; 4];
    for (i, word) in words.iter_mut().rev().enumerate() {
        let digits = &s[i * 16..(i + 1) * 16];
        *word = u64::from_str_radix(digits, 16).expect("validated hex digits");
    }
    Ok(Hash256 { words })
}

impl serde::Serialize for Hash256 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash256 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIDGE: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn hex_round_trip_and_case() {
        let h: Hash256 = BRIDGE.parse().unwrap();
        assert_eq!(h.to_string(), BRIDGE);
        let upper: Hash256 = BRIDGE.to_uppercase().parse().unwrap();
        assert_eq!(upper, h);
    }

    #[test]
    fn bit_layout_matches_reference_words() {
        // Reference: word i (16 bits) = DCT row i, printed from word 15 down; bit 0 is the
        // last hex digit's least significant bit, bit 255 the first digit's most significant.
        let mut h = Hash256::ZERO;
        h.set_bit(0, true);
        assert_eq!(h.to_string(), format!("{}1", "0".repeat(63)));
        let mut h = Hash256::ZERO;
        h.set_bit(255, true);
        assert_eq!(h.to_string(), format!("8{}", "0".repeat(63)));
        // Row 1, column 0 = bit 16 = the lowest bit of the second word from the right.
        let mut h = Hash256::ZERO;
        h.set_bit(16, true);
        assert_eq!(h.to_string(), format!("{}00010000", "0".repeat(56)));
        assert!(h.bit(16) && !h.bit(15) && h.count_ones() == 1);
    }

    #[test]
    fn parse_errors_say_which() {
        assert_eq!(parse_hex(""), Err(HashParseError::Empty));
        assert_eq!(
            parse_hex(&BRIDGE[..63]),
            Err(HashParseError::WrongLength {
                expected: 64,
                found: 63
            })
        );
        let bad = format!("{}g", &BRIDGE[..63]);
        assert_eq!(
            parse_hex(&bad),
            Err(HashParseError::NotHex {
                position: 63,
                character: 'g'
            })
        );
        assert_eq!(
            parse_hex(&format!("{BRIDGE}0")),
            Err(HashParseError::WrongLength {
                expected: 64,
                found: 65
            })
        );
        assert!(matches!(
            parse_hex("é"),
            Err(HashParseError::NotHex { position: 0, .. })
        ));
        assert!(matches!(
            parse_hex(&format!(" {}", &BRIDGE[1..])),
            Err(HashParseError::NotHex { position: 0, .. })
        ));
    }

    #[test]
    fn bytes_match_python_fromhex() {
        let h: Hash256 = BRIDGE.parse().unwrap();
        let bytes = h.to_be_bytes();
        assert_eq!(bytes[0], 0xf8);
        assert_eq!(bytes[31], 0x22);
        assert_eq!(Hash256::from_be_bytes(bytes), h);
    }

    #[test]
    fn serde_is_the_hex_string() {
        let h: Hash256 = BRIDGE.parse().unwrap();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{BRIDGE}\""));
        assert_eq!(serde_json::from_str::<Hash256>(&json).unwrap(), h);
        assert!(serde_json::from_str::<Hash256>("\"abc\"").is_err());
    }
}
