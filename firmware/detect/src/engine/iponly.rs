//! Address index of IP-only rules (Suricata keeps these in radix trees).
//!
//! ET Open has ~1,200 IP-only rules, most carrying hundreds of addresses (block lists).
//! Checking each on every new flow would be slow, so their address sets are flattened into
//! sorted segments, each listing the rules whose source (or, for rules with `any` source,
//! destination) set covers it. A lookup is two binary searches per address family; the
//! candidates are then evaluated in full like every other rule.

use types::Addr;

use crate::engine::compile::CRule;
use crate::netexpr::AddrSet;
use crate::ranges::{Bound, RangeSet};

/// Sorted, disjoint segments of one address family, each with its rules.
#[derive(Debug)]
struct Segs<T> {
    segs: Vec<(T, T, Vec<u32>)>,
}

impl<T: Bound + Into<u128> + FromU128> Segs<T> {
    fn build(entries: &[(u32, &RangeSet<T>)]) -> Segs<T> {
        // Sweep over range starts (+) and ends (-), positions as u128 so `hi + 1` never
        // overflows.
        let mut ev: Vec<(u128, bool, u32)> = Vec::new();
        for &(num, set) in entries {
            for &(lo, hi) in set.ranges() {
                ev.push((lo.into(), true, num));
                ev.push((hi.into().saturating_add(1), false, num));
            }
        }
        ev.sort_unstable_by_key(|e| (e.0, e.1));
        let mut segs = Vec::new();
        let mut active: Vec<u32> = Vec::new();
        let mut i = 0usize;
        while let Some(&(pos, _, _)) = ev.get(i) {
            while let Some(&(p, start, num)) = ev.get(i) {
                if p != pos {
                    break;
                }
                if start {
                    if let Err(k) = active.binary_search(&num) {
                        active.insert(k, num);
                    }
                } else if let Ok(k) = active.binary_search(&num) {
                    active.remove(k);
                }
                i += 1;
            }
            let next = ev.get(i).map(|e| e.0);
            if let (Some(next), false) = (next, active.is_empty()) {
                let lo = T::from_u128(pos);
                let hi = T::from_u128(next.saturating_sub(1));
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    segs.push((lo, hi, active.clone()));
                }
            }
        }
        Segs { segs }
    }

    fn lookup(&self, a: T) -> &[u32] {
        let i = self.segs.partition_point(|s| s.1 < a);
        self.segs
            .get(i)
            .filter(|s| s.0 <= a)
            .map(|s| s.2.as_slice())
            .unwrap_or(&[])
    }
}

/// Conversion back from the sweep's `u128` positions.
trait FromU128: Sized {
    fn from_u128(v: u128) -> Option<Self>;
}
impl FromU128 for u32 {
    fn from_u128(v: u128) -> Option<Self> {
        u32::try_from(v).ok()
    }
}
impl FromU128 for u128 {
    fn from_u128(v: u128) -> Option<Self> {
        Some(v)
    }
}

/// Index of one side (source or destination) for both families.
#[derive(Debug)]
struct Side {
    v4: Segs<u32>,
    v6: Segs<u128>,
}

impl Side {
    fn build(entries: &[(u32, AddrSet)]) -> Side {
        let v4: Vec<(u32, &RangeSet<u32>)> = entries.iter().map(|(n, s)| (*n, &s.v4)).collect();
        let v6: Vec<(u32, &RangeSet<u128>)> = entries.iter().map(|(n, s)| (*n, &s.v6)).collect();
        Side {
            v4: Segs::build(&v4),
            v6: Segs::build(&v6),
        }
    }

    fn lookup(&self, a: Addr) -> &[u32] {
        match a.v4_octets() {
            Some(o) => self.v4.lookup(u32::from_be_bytes(o)),
            None => self.v6.lookup(u128::from_be_bytes(a.0)),
        }
    }
}

/// IP-only rules by address.
#[derive(Debug)]
pub(crate) struct IpIndex {
    by_src: Side,
    by_dst: Side,
    always: Vec<u32>,
}

impl IpIndex {
    pub(crate) fn build(rules: &[CRule], nums: &[u32]) -> IpIndex {
        let (mut src, mut dst, mut always) = (Vec::new(), Vec::new(), Vec::new());
        for &n in nums {
            let Some(r) = rules.get(n as usize) else {
                continue;
            };
            let h = &r.header;
            match (&h.src, &h.dst) {
                (Some(s), d) => {
                    let key = match (h.bidir, d) {
                        (true, Some(d)) => union(s, d),
                        (true, None) => {
                            always.push(n);
                            continue;
                        }
                        (false, _) => s.clone(),
                    };
                    src.push((n, key));
                }
                (None, Some(d)) => {
                    if h.bidir {
                        always.push(n);
                    } else {
                        dst.push((n, d.clone()));
                    }
                }
                (None, None) => always.push(n),
            }
        }
        IpIndex {
            by_src: Side::build(&src),
            by_dst: Side::build(&dst),
            always,
        }
    }

    /// Candidate IP-only rules for a packet `src -> dst`.
    pub(crate) fn lookup(&self, src: Addr, dst: Addr, mut f: impl FnMut(u32)) {
        self.always.iter().for_each(|&n| f(n));
        self.by_src.lookup(src).iter().for_each(|&n| f(n));
        self.by_dst.lookup(dst).iter().for_each(|&n| f(n));
    }
}

fn union(a: &AddrSet, b: &AddrSet) -> AddrSet {
    AddrSet {
        v4: a.v4.union(&b.v4),
        v6: a.v6.union(&b.v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_list_overlapping_rules() {
        let a = RangeSet::range(10u32, 20);
        let b = RangeSet::range(15u32, 30);
        let s = Segs::build(&[(1, &a), (2, &b)]);
        assert_eq!(s.lookup(9), &[] as &[u32]);
        assert_eq!(s.lookup(10), &[1]);
        assert_eq!(s.lookup(15), &[1, 2]);
        assert_eq!(s.lookup(20), &[1, 2]);
        assert_eq!(s.lookup(21), &[2]);
        assert_eq!(s.lookup(31), &[] as &[u32]);
        let full = RangeSet::<u32>::full();
        let s = Segs::build(&[(3, &full)]);
        assert_eq!(s.lookup(u32::MAX), &[3]);
        assert_eq!(s.lookup(0), &[3]);
    }
}
