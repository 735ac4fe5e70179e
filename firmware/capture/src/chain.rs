//! Assembling a frame from a chain of packet buffers (DPDK mbuf chains: jumbo frames, or
//! drivers that scatter into several buffers).
//!
//! A chain is hostile input in all but name: a driver bug or a crafted capture can give
//! segments whose lengths do not add up to the packet length, chains longer than any real
//! frame, or (through memory corruption) a cycle. [`gather`] follows at most
//! [`MAX_CHAIN_SEGS`] segments, copies at most [`MAX_CHAIN_BYTES`], never more than the packet
//! length says, and reports what did not fit as a [`ChainAnomaly`]. It is safe code; the
//! unsafe walk over mbufs in `sys/dpdk.rs` only produces the segment slices.

/// Most segments followed in one chain (a 9 KiB jumbo frame in 2 KiB buffers takes 5).
pub const MAX_CHAIN_SEGS: usize = 64;
/// Largest frame assembled from a chain.
pub const MAX_CHAIN_BYTES: usize = 256 << 10;

/// What was wrong with a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainAnomaly {
    /// The segments hold fewer bytes than the packet length: the frame is short.
    Short,
    /// The segments hold more bytes than the packet length: the excess is ignored.
    Long,
    /// More than [`MAX_CHAIN_SEGS`] segments: the rest are ignored.
    TooManySegments,
    /// The packet length is above [`MAX_CHAIN_BYTES`]: the frame is truncated.
    TooLarge,
}

/// A frame assembled by [`gather`]: `scratch[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gathered {
    /// Bytes of the frame in the scratch buffer.
    pub len: usize,
    /// What was off, if anything (the first problem met).
    pub anomaly: Option<ChainAnomaly>,
}

/// Copies the segments of one packet of `pkt_len` bytes into `scratch` (cleared first).
pub fn gather<'a, I>(segments: I, pkt_len: u32, scratch: &mut Vec<u8>) -> Gathered
where
    I: IntoIterator<Item = &'a [u8]>,
{
    scratch.clear();
    let want = usize::try_from(pkt_len).unwrap_or(usize::MAX);
    let limit = want.min(MAX_CHAIN_BYTES);
    let mut anomaly = (want > MAX_CHAIN_BYTES).then_some(ChainAnomaly::TooLarge);
    let mut segs = 0usize;
    let mut total = 0usize;
    for seg in segments {
        segs += 1;
        if segs > MAX_CHAIN_SEGS {
            anomaly.get_or_insert(ChainAnomaly::TooManySegments);
            break;
        }
        total = total.saturating_add(seg.len());
        let room = limit - scratch.len();
        scratch.extend_from_slice(&seg[..seg.len().min(room)]);
    }
    if anomaly.is_none() {
        if total < want {
            anomaly = Some(ChainAnomaly::Short);
        } else if total > want {
            anomaly = Some(ChainAnomaly::Long);
        }
    }
    Gathered {
        len: scratch.len(),
        anomaly,
    }
}

/// Fuzzing entry point: the input is a packet length and segment lengths, then bytes.
#[cfg(any(test, fuzzing))]
pub fn fuzz_gather(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let pkt_len = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    let nsegs = usize::from(data[4]);
    let lens = data.get(5..5 + nsegs * 2).unwrap_or(&[]);
    let mut body = &data[(5 + lens.len()).min(data.len())..];
    let mut segs = Vec::new();
    for l in lens.chunks_exact(2) {
        let n = usize::from(u16::from_le_bytes([l[0], l[1]])).min(body.len());
        let (a, b) = body.split_at(n);
        segs.push(a);
        body = b;
    }
    let mut scratch = Vec::new();
    let g = gather(segs.iter().copied(), pkt_len, &mut scratch);
    assert!(g.len <= MAX_CHAIN_BYTES && g.len == scratch.len());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// A tiny deterministic generator (xorshift) for the property test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    #[test]
    fn whole_chains_are_the_concatenation() {
        let mut s = Vec::new();
        let g = gather([&b"abc"[..], b"", b"defg"], 7, &mut s);
        assert_eq!(
            g,
            Gathered {
                len: 7,
                anomaly: None
            }
        );
        assert_eq!(&s, b"abcdefg");
    }

    #[test]
    fn odd_lengths_and_chains_property() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut scratch = Vec::new();
        for _ in 0..20_000 {
            let nsegs = rng.below(80) as usize;
            let segs: Vec<Vec<u8>> = (0..nsegs)
                .map(|i| {
                    let len = match rng.below(6) {
                        0 => 0,
                        1 => 1,
                        2 => 2048,
                        3 => 9000,
                        _ => rng.below(3000) as usize,
                    };
                    vec![i as u8; len]
                })
                .collect();
            let sum: usize = segs.iter().take(MAX_CHAIN_SEGS).map(Vec::len).sum();
            let pkt_len = match rng.below(5) {
                0 => sum as u32,
                1 => sum.saturating_sub(rng.below(100) as usize) as u32,
                2 => (sum + rng.below(100) as usize) as u32,
                3 => u32::MAX,
                _ => rng.below(1 << 20) as u32,
            };
            let g = gather(segs.iter().map(Vec::as_slice), pkt_len, &mut scratch);
            // Never more than the packet length, the cap, or what the segments hold.
            assert!(g.len <= pkt_len as usize && g.len <= MAX_CHAIN_BYTES && g.len <= sum);
            assert_eq!(g.len, scratch.len());
            // The bytes are the segments' in order.
            let expect: Vec<u8> = segs
                .iter()
                .take(MAX_CHAIN_SEGS)
                .flatten()
                .copied()
                .take(g.len)
                .collect();
            assert_eq!(scratch, expect);
            // Clean exactly when everything matched.
            let clean = nsegs <= MAX_CHAIN_SEGS
                && sum == pkt_len as usize
                && (pkt_len as usize) <= MAX_CHAIN_BYTES;
            assert_eq!(
                g.anomaly.is_none(),
                clean,
                "{nsegs} segs, {sum} bytes, {pkt_len}"
            );
        }
    }

    #[test]
    fn a_cycle_is_cut() {
        let seg = [0u8; 100];
        let mut s = Vec::new();
        let g = gather(std::iter::repeat(&seg[..]), 100_000, &mut s);
        assert_eq!(g.anomaly, Some(ChainAnomaly::TooManySegments));
        assert_eq!(g.len, 100 * MAX_CHAIN_SEGS);
    }
}
