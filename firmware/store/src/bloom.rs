//! A split-free bloom filter over 64-bit tokens, sized per block.

/// Bits per distinct token (about 1 % false positives with [`PROBES`] probes).
const BITS_PER_TOKEN: usize = 10;
/// Probes per token.
const PROBES: u32 = 7;
/// Smallest filter, in bits.
const MIN_BITS: usize = 512;
/// Largest filter, in bits (1 MiB of bits): a block with more distinct tokens than this holds
/// at 10 bits each simply gets more false positives, never a bigger summary.
pub const MAX_BLOOM_BITS: usize = 8 << 20;

/// A bloom filter: `bits.len() * 64` bits, a power of two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    /// An empty filter sized for `n` distinct tokens.
    pub fn with_capacity(n: usize) -> Bloom {
        let want = n
            .saturating_mul(BITS_PER_TOKEN)
            .clamp(MIN_BITS, MAX_BLOOM_BITS)
            .next_power_of_two();
        Bloom {
            bits: vec![0; want / 64],
        }
    }

    /// Rebuilds a filter from [`Bloom::to_bytes`] output; `None` unless the length is a power
    /// of two of whole words within the limits.
    pub fn from_bytes(b: &[u8]) -> Option<Bloom> {
        let words = b.len() / 8;
        if !b.len().is_multiple_of(8)
            || !words.is_power_of_two()
            || words * 64 < MIN_BITS
            || words * 64 > MAX_BLOOM_BITS
        {
            return None;
        }
        let bits = b
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        Some(Bloom { bits })
    }

    /// The filter as little-endian words.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bits.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn positions(words: usize, token: u64) -> impl Iterator<Item = usize> {
        let mask = (words * 64 - 1) as u64;
        let h1 = token & 0xffff_ffff;
        let h2 = (token >> 32) | 1;
        (0..u64::from(PROBES)).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) & mask) as usize)
    }

    /// Records `token`.
    pub fn insert(&mut self, token: u64) {
        for p in Self::positions(self.bits.len(), token) {
            if let Some(w) = self.bits.get_mut(p / 64) {
                *w |= 1 << (p % 64);
            }
        }
    }

    /// False when `token` was certainly never inserted.
    pub fn may_hold(&self, token: u64) -> bool {
        Self::positions(self.bits.len(), token).all(|p| {
            self.bits
                .get(p / 64)
                .is_some_and(|w| w & (1 << (p % 64)) != 0)
        })
    }

    /// Size in bytes.
    pub fn len_bytes(&self) -> usize {
        self.bits.len() * 8
    }
}

/// A bloom filter read in place from [`Bloom::to_bytes`] output (the archive index), without
/// copying it.
#[derive(Debug, Clone, Copy)]
pub struct BloomRef<'a>(&'a [u8]);

impl<'a> BloomRef<'a> {
    /// Views `b`; `None` unless it is a valid filter (see [`Bloom::from_bytes`]).
    pub fn new(b: &'a [u8]) -> Option<BloomRef<'a>> {
        let words = b.len() / 8;
        (b.len().is_multiple_of(8)
            && words.is_power_of_two()
            && words * 64 >= MIN_BITS
            && words * 64 <= MAX_BLOOM_BITS)
            .then_some(BloomRef(b))
    }

    /// False when `token` was certainly never inserted.
    pub fn may_hold(&self, token: u64) -> bool {
        // Bit p of the little-endian words is bit p % 8 of byte p / 8.
        Bloom::positions(self.0.len() / 8, token)
            .all(|p| self.0.get(p / 8).is_some_and(|b| b & (1 << (p % 8)) != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let mut b = Bloom::with_capacity(1000);
        for t in 0..1000u64 {
            b.insert(t.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        for t in 0..1000u64 {
            assert!(b.may_hold(t.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        }
        let fp = (1000..101_000u64)
            .filter(|t| b.may_hold(t.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .count();
        assert!(fp < 3000, "{fp} false positives in 100000");
        let bytes = b.to_bytes();
        let back = Bloom::from_bytes(&bytes).unwrap();
        assert_eq!(back, b);
        let r = BloomRef::new(&bytes).unwrap();
        for t in 0..5000u64 {
            let t = t.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(r.may_hold(t), b.may_hold(t));
        }
        assert!(BloomRef::new(&bytes[1..]).is_none());
        assert!(Bloom::from_bytes(&[0; 24]).is_none());
    }
}
