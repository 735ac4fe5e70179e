//! A borrowing reader over untrusted bytes that cannot overrun.
//!
//! Every read returns `Option`: `None` means "not enough bytes", and the position is left
//! unchanged so the caller can report how far it got. Lengths read from the wire are only
//! ever used through [`Reader::take`], which checks them against what is left.

/// A cursor over a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Moves to `pos` (clamped to the end of the buffer).
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.buf.len());
    }

    /// True when at least `n` more bytes are available (Suricata's `HAS_SPACE`).
    pub(crate) fn has(&self, n: usize) -> bool {
        self.left() >= n
    }

    /// The next `n` bytes, advancing past them.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// Advances `n` bytes.
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|s| s.first().copied())
    }

    /// A big-endian u16.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let s = self.take(2)?;
        let a: [u8; 2] = s.try_into().ok()?;
        Some(u16::from_be_bytes(a))
    }

    /// A big-endian 24-bit integer.
    pub(crate) fn u24(&mut self) -> Option<u32> {
        let s = self.take(3)?;
        let a: [u8; 3] = s.try_into().ok()?;
        Some(u32::from_be_bytes([0, a[0], a[1], a[2]]))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    #[test]
    fn reads_and_refuses_overrun() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u16(), Some(0x0203));
        assert!(r.has(3));
        assert!(!r.has(4));
        assert_eq!(r.u24(), Some(0x040506));
        assert_eq!(r.u8(), None);
        assert_eq!(r.take(usize::MAX), None);
        assert_eq!(r.pos(), 6);
        assert_eq!(r.left(), 0);
    }
}
