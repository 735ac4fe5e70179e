//! Wrapping TCP sequence-number arithmetic (RFC 1982 serial numbers).
//!
//! We are a passive observer: both peers may be hostile and sequence numbers wrap every 4 GiB,
//! so nothing here panics and no operation overflows. Comparisons are only meaningful for
//! numbers within 2^31 of each other, which is how every TCP stack treats them too.

/// `a < b` in sequence space.
#[inline]
pub fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
#[inline]
pub fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// `a > b` in sequence space.
#[inline]
pub fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

/// `a >= b` in sequence space.
#[inline]
pub fn ge(a: u32, b: u32) -> bool {
    le(b, a)
}

/// Signed distance `b - a`, positive when `b` is ahead of `a`.
#[inline]
pub fn diff(a: u32, b: u32) -> i64 {
    i64::from(b.wrapping_sub(a) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps() {
        assert!(lt(0xffff_fff0, 0x10));
        assert!(gt(0x10, 0xffff_fff0));
        assert_eq!(diff(0xffff_fff0, 0x10), 0x20);
        assert_eq!(diff(0x10, 0xffff_fff0), -0x20);
        assert!(le(5, 5) && ge(5, 5));
    }
}
