//! Rule groups (Suricata's signature group heads) and their multi-pattern prefilters.
//!
//! Rules are bucketed by inspection kind (packet, stream, transaction per app protocol),
//! transport (TCP, UDP, other) and flow direction. Inside a bucket the 65,536 port values
//! are cut into segments where the set of rules whose port field can match is constant
//! (the server-side port: destination port for to-server and flowless packets, source port
//! for to-client packets); equal rule sets share one group. A group holds:
//!
//! * one Aho-Corasick automaton per inspected buffer over the fast patterns of its rules
//!   (case-insensitive automaton; case-sensitive patterns are verified at each hit), and
//! * the rules without a usable fast pattern, always evaluated.
//!
//! The prefilter only proposes candidates: every candidate is evaluated in full, so the
//! grouping never changes results, only cost. At most [`MAX_PORT_GROUPS`] groups exist per
//! bucket; the remaining segments share one group with the union of their rules.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::caps::MAX_PORT_GROUPS;
use crate::engine::compile::CRule;
use crate::ranges::RangeSet;

/// One buffer's multi-pattern matcher.
#[derive(Debug)]
pub(crate) struct Prefilter {
    pub buf_id: u16,
    ac: AhoCorasick,
    /// The (lower-cased) patterns, for introspection and benchmarks.
    keys: Vec<Vec<u8>>,
    /// Per automaton pattern: (rule num, exact bytes when the pattern is case-sensitive).
    pats: Vec<PatRules>,
}

/// The rules behind one automaton pattern: (rule num, exact bytes when case-sensitive).
type PatRules = Vec<(u32, Option<Box<[u8]>>)>;

/// A fast pattern to add: (rule num, bytes, nocase).
type FastEntry<'a> = (u32, &'a [u8], bool);

impl Prefilter {
    fn build(buf_id: u16, list: &[FastEntry<'_>], dfa_max: usize) -> Option<Prefilter> {
        let mut ids: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut pats: Vec<PatRules> = Vec::new();
        for &(num, bytes, nocase) in list {
            let key = bytes.to_ascii_lowercase();
            let i = *ids.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                pats.push(Vec::new());
                keys.len() - 1
            });
            if let Some(p) = pats.get_mut(i) {
                p.push((num, (!nocase).then(|| bytes.to_vec().into_boxed_slice())));
            }
        }
        // A DFA scans 1.3-3x faster than the contiguous NFA but needs ~10 KiB per pattern:
        // used up to `dfa_max` patterns (see `EngineConfig::prefilter_dfa_max_patterns`).
        let kind = if keys.len() <= dfa_max {
            Some(AhoCorasickKind::DFA)
        } else {
            Some(AhoCorasickKind::ContiguousNFA)
        };
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(&keys)
            .ok()?;
        Some(Prefilter {
            buf_id,
            ac,
            keys,
            pats,
        })
    }

    /// The patterns (lower-cased; matched case-insensitively).
    pub(crate) fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }

    /// Number of distinct patterns.
    pub(crate) fn patterns(&self) -> usize {
        self.pats.len()
    }

    /// Heap bytes of the automaton.
    pub(crate) fn memory(&self) -> usize {
        self.ac.memory_usage()
            + self.keys.iter().map(|k| k.len() + 24).sum::<usize>()
            + self
                .pats
                .iter()
                .map(|p| {
                    p.len() * 24
                        + p.iter()
                            .map(|e| e.1.as_ref().map_or(0, |b| b.len()))
                            .sum::<usize>()
                })
                .sum::<usize>()
    }

    /// Mark the rules whose fast pattern occurs in `hay`. `mark[num] == epoch` means
    /// "already a candidate"; `pat_done` (same epoch) skips patterns fully resolved.
    pub(crate) fn scan(
        &self,
        hay: &[u8],
        epoch: u32,
        mark: &mut [u32],
        pat_done: &mut Vec<u32>,
        out: &mut Vec<u32>,
    ) {
        if pat_done.len() < self.pats.len() {
            pat_done.resize(self.pats.len(), 0);
        }
        for m in self.ac.find_overlapping_iter(hay) {
            let pid = m.pattern().as_usize();
            if pat_done.get(pid) == Some(&epoch) {
                continue;
            }
            let Some(entries) = self.pats.get(pid) else {
                continue;
            };
            let at = hay.get(m.start()..m.end()).unwrap_or(&[]);
            let mut all = true;
            for (num, exact) in entries {
                let slot = mark.get_mut(*num as usize);
                let Some(slot) = slot else { continue };
                if *slot == epoch {
                    continue;
                }
                match exact {
                    Some(e) if e.as_ref() != at => all = false,
                    _ => {
                        *slot = epoch;
                        out.push(*num);
                    }
                }
            }
            if all {
                if let Some(d) = pat_done.get_mut(pid) {
                    *d = epoch;
                }
            }
        }
    }
}

/// Distinct port ranges of a bucket and the rules using exactly those.
type PortSet = (Vec<(u16, u16)>, Vec<u32>);

/// A signature group: prefilters plus rules always evaluated.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Rules without a prefilter pattern (sorted by num).
    pub nopf: Vec<u32>,
    pub pfs: Vec<Prefilter>,
}

/// Port segments of one bucket mapped to groups.
#[derive(Debug, Default)]
pub(crate) struct PortIndex {
    /// Group of the rules whose port field is `any` (inspected for every port).
    any: Option<u32>,
    /// (first port, last port, group index or `u32::MAX` for no rules), sorted, covering
    /// 0..=65535: rules with a specific port field.
    segs: Vec<(u16, u16, u32)>,
}

impl PortIndex {
    /// The groups to inspect for `port`: the any-port group and the port's own group.
    pub(crate) fn lookup(&self, port: u16) -> [Option<u32>; 2] {
        let i = self.segs.partition_point(|s| s.1 < port);
        let specific = self
            .segs
            .get(i)
            .filter(|s| s.0 <= port)
            .map(|s| s.2)
            .filter(|&g| g != u32::MAX);
        [self.any, specific]
    }
}

/// All groups of the engine plus their bucket indexes.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub groups: Vec<Group>,
    /// Largest pattern count built as a DFA.
    pub dfa_max: usize,
    dedup: HashMap<Vec<u32>, u32>,
}

impl Groups {
    fn group_for(&mut self, mut members: Vec<u32>, rules: &[CRule]) -> u32 {
        members.sort_unstable();
        members.dedup();
        if let Some(&g) = self.dedup.get(&members) {
            return g;
        }
        let mut nopf = Vec::new();
        let mut by_buf: HashMap<u16, Vec<FastEntry<'_>>> = HashMap::new();
        for &num in &members {
            let Some(r) = rules.get(num as usize) else {
                continue;
            };
            match &r.fast {
                Some(fp) => {
                    by_buf
                        .entry(fp.buf_id)
                        .or_default()
                        .push((num, fp.bytes.as_slice(), fp.nocase))
                }
                None => nopf.push(num),
            }
        }
        let mut pfs = Vec::new();
        let mut bufs: Vec<u16> = by_buf.keys().copied().collect();
        bufs.sort_unstable();
        for b in bufs {
            let list = by_buf.get(&b).map(Vec::as_slice).unwrap_or(&[]);
            match Prefilter::build(b, list, self.dfa_max) {
                Some(p) => pfs.push(p),
                // The automaton could not be built (size limits): evaluate those rules.
                None => nopf.extend(list.iter().map(|e| e.0)),
            }
        }
        nopf.sort_unstable();
        let g = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
        self.groups.push(Group { nopf, pfs });
        self.dedup.insert(members, g);
        g
    }

    /// Build a bucket from `(rule num, server-side port set or None for any)` entries.
    pub(crate) fn bucket(
        &mut self,
        entries: &[(u32, Option<&RangeSet<u16>>)],
        rules: &[CRule],
    ) -> PortIndex {
        if entries.is_empty() {
            return PortIndex::default();
        }
        // Rules valid for every port share one group; only port-specific rules are split
        // by port, so an any-port rule's pattern is stored once per bucket.
        let any_rules: Vec<u32> = entries
            .iter()
            .filter(|(_, ps)| ps.is_none_or(|s| s.is_full()))
            .map(|e| e.0)
            .collect();
        let any = (!any_rules.is_empty()).then(|| self.group_for(any_rules, rules));
        // Distinct port sets.
        let mut sets: Vec<PortSet> = Vec::new();
        let mut set_ix: HashMap<Vec<(u16, u16)>, usize> = HashMap::new();
        for &(num, ps) in entries {
            let key: Vec<(u16, u16)> = match ps {
                Some(s) if !s.is_full() => s.ranges().to_vec(),
                _ => continue,
            };
            let i = *set_ix.entry(key.clone()).or_insert_with(|| {
                sets.push((key, Vec::new()));
                sets.len() - 1
            });
            if let Some(s) = sets.get_mut(i) {
                s.1.push(num);
            }
        }
        // Segment boundaries.
        let mut starts: Vec<u32> = vec![0];
        for (ranges, _) in &sets {
            for &(lo, hi) in ranges {
                starts.push(u32::from(lo));
                starts.push(u32::from(hi) + 1);
            }
        }
        starts.sort_unstable();
        starts.dedup();
        starts.retain(|&s| s <= u32::from(u16::MAX));
        let contains = |ranges: &[(u16, u16)], p: u16| {
            let i = ranges.partition_point(|r| r.1 < p);
            ranges.get(i).is_some_and(|r| r.0 <= p)
        };
        // Membership per segment.
        let mut segs: Vec<(u16, u16, Vec<u16>)> = Vec::new();
        for (k, &s) in starts.iter().enumerate() {
            let lo = u16::try_from(s).unwrap_or(u16::MAX);
            let hi = starts
                .get(k + 1)
                .map(|&n| u16::try_from(n - 1).unwrap_or(u16::MAX))
                .unwrap_or(u16::MAX);
            let members: Vec<u16> = sets
                .iter()
                .enumerate()
                .filter(|(_, (r, _))| contains(r, lo))
                .map(|(i, _)| u16::try_from(i).unwrap_or(u16::MAX))
                .collect();
            match segs.last_mut() {
                Some(last) if last.2 == members && u32::from(last.1) + 1 == u32::from(lo) => {
                    last.1 = hi;
                }
                _ => segs.push((lo, hi, members)),
            }
        }
        // Distinct memberships; beyond the cap, the least specific ones (covering the most
        // ports) are merged into one residual group.
        let mut distinct: Vec<Vec<u16>> = Vec::new();
        let mut coverage: Vec<u64> = Vec::new();
        for (lo, hi, m) in &segs {
            if m.is_empty() {
                continue;
            }
            let span = u64::from(*hi) - u64::from(*lo) + 1;
            match distinct.iter().position(|d| d == m) {
                Some(i) => {
                    if let Some(c) = coverage.get_mut(i) {
                        *c += span;
                    }
                }
                None => {
                    distinct.push(m.clone());
                    coverage.push(span);
                }
            }
        }
        let mut order: Vec<usize> = (0..distinct.len()).collect();
        order.sort_by_key(|&i| coverage.get(i).copied().unwrap_or(0));
        let keep: Vec<usize> = order
            .iter()
            .copied()
            .take(MAX_PORT_GROUPS.saturating_sub(1).max(1))
            .collect();
        let merged: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| !keep.contains(i))
            .collect();
        let rules_of = |m: &[u16]| -> Vec<u32> {
            m.iter()
                .filter_map(|&s| sets.get(usize::from(s)))
                .flat_map(|(_, r)| r.iter().copied())
                .collect()
        };
        let mut gid_of: HashMap<usize, u32> = HashMap::new();
        for &i in &keep {
            let members = rules_of(distinct.get(i).map(Vec::as_slice).unwrap_or(&[]));
            let g = self.group_for(members, rules);
            gid_of.insert(i, g);
        }
        if !merged.is_empty() {
            let mut all: Vec<u32> = Vec::new();
            for &i in &merged {
                all.extend(rules_of(distinct.get(i).map(Vec::as_slice).unwrap_or(&[])));
            }
            let g = self.group_for(all, rules);
            for &i in &merged {
                gid_of.insert(i, g);
            }
        }
        let segs = segs
            .into_iter()
            .map(|(lo, hi, m)| {
                let g = if m.is_empty() {
                    u32::MAX
                } else {
                    distinct
                        .iter()
                        .position(|d| *d == m)
                        .and_then(|i| gid_of.get(&i).copied())
                        .unwrap_or(u32::MAX)
                };
                (lo, hi, g)
            })
            .collect();
        PortIndex { any, segs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_index_lookup_covers_all_ports() {
        let idx = PortIndex {
            any: Some(7),
            segs: vec![(0, 79, 0), (80, 80, 1), (81, 65535, u32::MAX)],
        };
        assert_eq!(idx.lookup(0), [Some(7), Some(0)]);
        assert_eq!(idx.lookup(80), [Some(7), Some(1)]);
        assert_eq!(idx.lookup(81), [Some(7), None]);
        assert_eq!(idx.lookup(65535), [Some(7), None]);
    }

    #[test]
    fn prefilter_verifies_case_sensitive_patterns() {
        let pf = Prefilter::build(
            0,
            &[(0, b"Abc", false), (1, b"abc", true), (2, b"zz", false)],
            10,
        )
        .unwrap();
        let mut mark = vec![0u32; 3];
        let mut done = Vec::new();
        let mut out = Vec::new();
        pf.scan(b"xxABCxx", 1, &mut mark, &mut done, &mut out);
        assert_eq!(out, vec![1]);
        out.clear();
        pf.scan(b"xxAbcxxzz", 2, &mut mark, &mut done, &mut out);
        out.sort_unstable();
        assert_eq!(out, vec![0, 1, 2]);
    }
}
