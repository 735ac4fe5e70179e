//! Sorted, disjoint, inclusive integer range sets: the resolved form of address and port
//! expressions.

/// An integer type usable as a range-set domain.
pub trait Bound: Copy + Ord + std::fmt::Debug {
    /// Smallest value of the domain.
    const MIN: Self;
    /// Largest value of the domain.
    const MAX: Self;
    /// `self + 1`, or `None` at `MAX`.
    fn succ(self) -> Option<Self>;
    /// `self - 1`, or `None` at `MIN`.
    fn pred(self) -> Option<Self>;
}

macro_rules! bound {
    ($t:ty) => {
        impl Bound for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn pred(self) -> Option<Self> {
                self.checked_sub(1)
            }
        }
    };
}
bound!(u16);
bound!(u32);
bound!(u128);

/// A set of values stored as sorted, non-overlapping, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeSet<T: Bound> {
    ranges: Vec<(T, T)>,
}

impl<T: Bound> RangeSet<T> {
    /// The empty set.
    pub fn empty() -> Self {
        RangeSet { ranges: Vec::new() }
    }

    /// The whole domain.
    pub fn full() -> Self {
        RangeSet {
            ranges: vec![(T::MIN, T::MAX)],
        }
    }

    /// One range `[lo, hi]` (swapped if given backwards).
    pub fn range(lo: T, hi: T) -> Self {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        RangeSet {
            ranges: vec![(lo, hi)],
        }
    }

    /// The ranges, sorted and disjoint.
    pub fn ranges(&self) -> &[(T, T)] {
        &self.ranges
    }

    /// True when the set has no value.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when the set is the whole domain.
    pub fn is_full(&self) -> bool {
        self.ranges.len() == 1 && self.ranges.first() == Some(&(T::MIN, T::MAX))
    }

    /// True when `v` is in the set.
    pub fn contains(&self, v: T) -> bool {
        self.ranges
            .binary_search_by(|&(lo, hi)| {
                if hi < v {
                    std::cmp::Ordering::Less
                } else if lo > v {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }

    /// Set union.
    pub fn union(&self, other: &Self) -> Self {
        let mut all: Vec<(T, T)> = self
            .ranges
            .iter()
            .chain(other.ranges.iter())
            .copied()
            .collect();
        all.sort_unstable();
        let mut out: Vec<(T, T)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            if let Some(last) = out.last_mut() {
                let touches = match last.1.succ() {
                    Some(n) => lo <= n,
                    None => true,
                };
                if touches {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                    continue;
                }
            }
            out.push((lo, hi));
        }
        RangeSet { ranges: out }
    }

    /// Complement within the domain.
    pub fn complement(&self) -> Self {
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        let mut next = Some(T::MIN);
        for &(lo, hi) in &self.ranges {
            if let Some(n) = next {
                if lo > n {
                    if let Some(p) = lo.pred() {
                        out.push((n, p));
                    }
                }
            }
            next = hi.succ();
        }
        if let Some(n) = next {
            out.push((n, T::MAX));
        }
        RangeSet { ranges: out }
    }

    /// `self` minus `other`.
    pub fn subtract(&self, other: &Self) -> Self {
        self.intersect(&other.complement())
    }

    /// Set intersection.
    pub fn intersect(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        let (mut i, mut j) = (0usize, 0usize);
        while let (Some(&(alo, ahi)), Some(&(blo, bhi))) = (self.ranges.get(i), other.ranges.get(j))
        {
            let lo = alo.max(blo);
            let hi = ahi.min(bhi);
            if lo <= hi {
                out.push((lo, hi));
            }
            if ahi < bhi {
                i += 1;
            } else {
                j += 1;
            }
        }
        RangeSet { ranges: out }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algebra() {
        let a = RangeSet::<u16>::range(1, 10);
        let b = RangeSet::<u16>::range(5, 5);
        let d = a.subtract(&b);
        assert_eq!(d.ranges(), &[(1, 4), (6, 10)]);
        assert!(d.contains(6) && !d.contains(5));
        assert_eq!(d.union(&b).ranges(), &[(1, 10)]);
        assert!(RangeSet::<u16>::full().complement().is_empty());
        assert!(RangeSet::<u16>::empty().complement().is_full());
        let c = RangeSet::<u16>::range(0, 0).complement();
        assert_eq!(c.ranges(), &[(1, u16::MAX)]);
        let m = RangeSet::<u16>::range(u16::MAX, u16::MAX).complement();
        assert_eq!(m.ranges(), &[(0, u16::MAX - 1)]);
    }
}
