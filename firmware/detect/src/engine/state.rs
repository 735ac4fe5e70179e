//! Mutable detection state: per flow ([`FlowState`]) and per worker thread ([`ThreadState`]).
//!
//! Every table here is bounded by a named cap (see [`crate::caps`]); hitting one is counted
//! in [`EngineStats`] and the operation is dropped (a flowbit not set, an alert not
//! thresholded), never an allocation without bound.

use std::collections::{HashMap, VecDeque};

use types::{Addr, Direction, Timestamp};

use crate::ast::{BitCmd, BitGroup, BitTrack, Threshold, ThresholdType, Track};
use crate::caps::{
    MAX_ALERTED_RULES_PER_TX, MAX_FLOWBITS_PER_FLOW, MAX_FLOWINTS_PER_FLOW, MAX_THRESHOLD_ENTRIES,
    MAX_TX_RECORDS_PER_FLOW, MAX_XBITS_ENTRIES,
};
use crate::engine::inspect::InspectStats;

/// Counters of one worker's engine: work done and caps hit.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineStats {
    /// Rules fully evaluated (after header and prefilter).
    pub rules_evaluated: u64,
    /// Rule matches (before thresholds, pass and the alert limit).
    pub matches: u64,
    /// Alerts discarded by `packet-alert-max`.
    pub alerts_discarded: u64,
    /// Alerts removed by threshold / detection_filter / suppress.
    pub alerts_suppressed: u64,
    /// Flowbit sets dropped because the flow held [`MAX_FLOWBITS_PER_FLOW`] bits.
    pub flowbits_full: u64,
    /// Flowint sets dropped because the flow held [`MAX_FLOWINTS_PER_FLOW`] variables.
    pub flowints_full: u64,
    /// Threshold entries not created because the table was full (alert let through).
    pub threshold_table_full: u64,
    /// xbits not set because the table was full.
    pub xbits_table_full: u64,
    /// Transaction dedup records dropped (oldest first) at [`MAX_TX_RECORDS_PER_FLOW`].
    pub tx_records_evicted: u64,
    /// Rules not remembered as alerted on a transaction ([`MAX_ALERTED_RULES_PER_TX`]).
    pub tx_alerted_full: u64,
    /// Buffer instances not inspected beyond [`crate::caps::MAX_BUFFER_INSTANCES`].
    pub buffer_instances_capped: u64,
    /// Buffers truncated to [`crate::caps::MAX_TRANSFORM_BUFFER`] before transforms.
    pub transform_truncated: u64,
    /// Inspection caps.
    pub inspect: InspectStats,
}

/// Detection state of one flow: flowbits, flowints, what was already inspected and alerted.
#[derive(Debug, Default)]
pub struct FlowState {
    /// Set flowbit ids, sorted.
    pub(crate) bits: Vec<u32>,
    /// Flowint (id, value), sorted by id.
    pub(crate) ints: Vec<(u32, u32)>,
    /// IP-only rules already inspected for this direction.
    pub(crate) iponly_done: [bool; 2],
    /// Protocol-detection-only rules already inspected for this direction.
    pub(crate) pd_done: [bool; 2],
    /// A pass rule matched on the stream, a transaction or IP-only: no more detection.
    pub(crate) passed: bool,
    /// Stream offset of the next byte `inspect_stream` expects, per direction.
    pub(crate) stream_next: [u64; 2],
    /// Stream bytes already inspected, per direction (matches must end beyond this).
    pub(crate) stream_inspected: [u64; 2],
    /// Rules that alerted per (transaction, direction).
    pub(crate) tx: VecDeque<(u64, u8, Vec<u32>)>,
    /// by_flow threshold entries (rule num, entry).
    pub(crate) thresholds: Vec<(u32, ThEntry)>,
}

impl FlowState {
    /// Stream offset of the next byte [`Engine::inspect_stream`](super::Engine::inspect_stream)
    /// expects in `dir`.
    pub fn stream_offset(&self, dir: Direction) -> u64 {
        self.stream_next.get(dir.idx()).copied().unwrap_or(0)
    }

    /// Moves the next expected stream offset of `dir` forward to `offset` (past a gap);
    /// never backwards.
    pub fn set_stream_offset(&mut self, dir: Direction, offset: u64) {
        if let Some(n) = self.stream_next.get_mut(dir.idx()) {
            *n = (*n).max(offset);
        }
    }

    /// True once a pass rule has stopped detection on this flow.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// Whether flowbit `id` is set.
    pub(crate) fn bit(&self, id: u32) -> bool {
        self.bits.binary_search(&id).is_ok()
    }

    pub(crate) fn bits_check(&self, ids: &[u32], group: BitGroup, isset: bool) -> bool {
        let want = |id: &u32| self.bit(*id) == isset;
        match group {
            BitGroup::And => ids.iter().all(want),
            _ => ids.iter().any(want),
        }
    }

    pub(crate) fn bits_apply(&mut self, cmd: BitCmd, ids: &[u32], stats: &mut EngineStats) {
        for &id in ids {
            match (cmd, self.bits.binary_search(&id)) {
                (BitCmd::Set, Err(pos)) | (BitCmd::Toggle, Err(pos)) => {
                    if self.bits.len() >= MAX_FLOWBITS_PER_FLOW {
                        stats.flowbits_full += 1;
                    } else {
                        self.bits.insert(pos, id);
                    }
                }
                (BitCmd::Unset, Ok(pos)) | (BitCmd::Toggle, Ok(pos)) => {
                    self.bits.remove(pos);
                }
                _ => {}
            }
        }
    }

    pub(crate) fn int(&self, id: u32) -> Option<u32> {
        self.ints
            .binary_search_by_key(&id, |e| e.0)
            .ok()
            .and_then(|i| self.ints.get(i))
            .map(|e| e.1)
    }

    pub(crate) fn int_set(&mut self, id: u32, v: u32, stats: &mut EngineStats) {
        match self.ints.binary_search_by_key(&id, |e| e.0) {
            Ok(i) => {
                if let Some(e) = self.ints.get_mut(i) {
                    e.1 = v;
                }
            }
            Err(i) => {
                if self.ints.len() >= MAX_FLOWINTS_PER_FLOW {
                    stats.flowints_full += 1;
                } else {
                    self.ints.insert(i, (id, v));
                }
            }
        }
    }

    /// True when `rule` already alerted on transaction `tx` in direction `dir`.
    pub(crate) fn tx_alerted(&self, tx: u64, dir: u8, rule: u32) -> bool {
        self.tx
            .iter()
            .any(|(t, d, rules)| *t == tx && *d == dir && rules.binary_search(&rule).is_ok())
    }

    pub(crate) fn tx_record(&mut self, tx: u64, dir: u8, rule: u32, stats: &mut EngineStats) {
        if let Some((_, _, rules)) = self.tx.iter_mut().find(|(t, d, _)| *t == tx && *d == dir) {
            if let Err(pos) = rules.binary_search(&rule) {
                if rules.len() >= MAX_ALERTED_RULES_PER_TX {
                    stats.tx_alerted_full += 1;
                } else {
                    rules.insert(pos, rule);
                }
            }
            return;
        }
        if self.tx.len() >= MAX_TX_RECORDS_PER_FLOW {
            // Evict the oldest transaction (lowest id).
            if let Some(i) = self
                .tx
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.0)
                .map(|(i, _)| i)
            {
                self.tx.remove(i);
            }
            stats.tx_records_evicted += 1;
        }
        self.tx.push_back((tx, dir, vec![rule]));
    }
}

/// One threshold/detection_filter counter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThEntry {
    /// Start of the current window (seconds).
    pub tv1: u64,
    pub count: u32,
}

/// Threshold tracking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ThKey {
    Src(Addr),
    Dst(Addr),
    Rule,
    Both(Addr, Addr),
}

/// Decide one alert against a threshold entry (Suricata 7 semantics). Returns whether the
/// alert is kept. `entry` is `None` when there is no counter yet; the new counter is returned
/// through `out`.
pub(crate) fn threshold_step(
    t: &Threshold,
    entry: Option<&mut ThEntry>,
    now: u64,
    out: &mut Option<ThEntry>,
) -> bool {
    let secs = u64::from(t.seconds);
    match entry {
        Some(e) => {
            let within = now.saturating_sub(e.tv1) < secs;
            match t.kind {
                ThresholdType::Limit => {
                    if within {
                        e.count = e.count.saturating_add(1);
                        e.count <= t.count
                    } else {
                        e.tv1 = now;
                        e.count = 1;
                        true
                    }
                }
                ThresholdType::Threshold => {
                    if within {
                        e.count = e.count.saturating_add(1);
                        if e.count >= t.count {
                            e.count = 0;
                            true
                        } else {
                            false
                        }
                    } else {
                        e.tv1 = now;
                        e.count = 1;
                        t.count <= 1
                    }
                }
                ThresholdType::Both => {
                    if within {
                        e.count = e.count.saturating_add(1);
                        e.count == t.count
                    } else {
                        e.tv1 = now;
                        e.count = 1;
                        t.count == 1
                    }
                }
                ThresholdType::DetectionFilter => {
                    if within {
                        e.count = e.count.saturating_add(1);
                        e.count > t.count
                    } else {
                        e.tv1 = now;
                        e.count = 1;
                        t.count == 0
                    }
                }
                ThresholdType::Backoff => {
                    e.count = e.count.saturating_add(1);
                    let first = t.count.max(1);
                    let mult = t.multiplier.unwrap_or(10).max(2);
                    // Alert on the first `count` hits, then every time the count reaches
                    // the next multiple step.
                    if e.count <= first {
                        true
                    } else {
                        let mut step = u64::from(first);
                        while step < u64::from(e.count) {
                            step = step.saturating_mul(u64::from(mult));
                        }
                        step == u64::from(e.count)
                    }
                }
                #[allow(unreachable_patterns)]
                _ => true,
            }
        }
        None => {
            *out = Some(ThEntry { tv1: now, count: 1 });
            match t.kind {
                ThresholdType::Limit | ThresholdType::Backoff => true,
                ThresholdType::Threshold | ThresholdType::Both => t.count <= 1,
                ThresholdType::DetectionFilter => t.count == 0,
                #[allow(unreachable_patterns)]
                _ => true,
            }
        }
    }
}

/// The key of an alert for a threshold tracking mode.
pub(crate) fn th_key(track: Track, src: Addr, dst: Addr) -> Option<ThKey> {
    Some(match track {
        Track::BySrc => ThKey::Src(src),
        Track::ByDst => ThKey::Dst(dst),
        Track::ByRule => ThKey::Rule,
        Track::ByBoth => ThKey::Both(src, dst),
        Track::ByFlow => return None,
        #[allow(unreachable_patterns)]
        _ => ThKey::Rule,
    })
}

/// xbits key: name id and tracked address(es).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct XKey {
    pub id: u32,
    pub a: Addr,
    pub b: Option<Addr>,
}

pub(crate) fn x_key(id: u32, track: BitTrack, src: Addr, dst: Addr) -> XKey {
    match track {
        BitTrack::IpSrc => XKey {
            id,
            a: src,
            b: None,
        },
        BitTrack::IpDst => XKey {
            id,
            a: dst,
            b: None,
        },
        _ => {
            let (a, b) = if src <= dst { (src, dst) } else { (dst, src) };
            XKey { id, a, b: Some(b) }
        }
    }
}

/// Per-worker tables: thresholds and xbits.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub thresholds: HashMap<(u32, ThKey), ThEntry>,
    pub xbits: HashMap<XKey, u64>,
}

impl Tables {
    /// Apply threshold `t` of rule `num` to an alert at `ts`; `flow` holds by_flow entries.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn threshold(
        &mut self,
        num: u32,
        t: &Threshold,
        src: Addr,
        dst: Addr,
        ts: Timestamp,
        flow: Option<&mut FlowState>,
        stats: &mut EngineStats,
    ) -> bool {
        let now = ts.secs();
        let Some(key) = th_key(t.track, src, dst) else {
            let Some(f) = flow else {
                return true;
            };
            let mut new = None;
            let keep = match f.thresholds.iter_mut().find(|(n, _)| *n == num) {
                Some((_, e)) => threshold_step(t, Some(e), now, &mut new),
                None => threshold_step(t, None, now, &mut new),
            };
            if let Some(e) = new {
                f.thresholds.push((num, e));
            }
            return keep;
        };
        let mut new = None;
        let keep = match self.thresholds.get_mut(&(num, key)) {
            Some(e) => threshold_step(t, Some(e), now, &mut new),
            None => threshold_step(t, None, now, &mut new),
        };
        if let Some(e) = new {
            if self.thresholds.len() >= MAX_THRESHOLD_ENTRIES {
                let max_window = 3600u64.max(u64::from(t.seconds));
                self.thresholds
                    .retain(|_, e| now.saturating_sub(e.tv1) < max_window);
            }
            if self.thresholds.len() >= MAX_THRESHOLD_ENTRIES {
                stats.threshold_table_full += 1;
                return true;
            }
            self.thresholds.insert((num, key), e);
        }
        keep
    }

    pub(crate) fn xbit_isset(&self, k: &XKey, now: u64) -> bool {
        self.xbits.get(k).is_some_and(|&exp| exp > now)
    }

    pub(crate) fn xbit_apply(
        &mut self,
        cmd: BitCmd,
        k: XKey,
        expire: u32,
        now: u64,
        stats: &mut EngineStats,
    ) {
        let set = match cmd {
            BitCmd::Set => true,
            BitCmd::Unset => false,
            BitCmd::Toggle => !self.xbit_isset(&k, now),
            _ => return,
        };
        if !set {
            self.xbits.remove(&k);
            return;
        }
        if !self.xbits.contains_key(&k) && self.xbits.len() >= MAX_XBITS_ENTRIES {
            self.xbits.retain(|_, &mut exp| exp > now);
            if self.xbits.len() >= MAX_XBITS_ENTRIES {
                stats.xbits_table_full += 1;
                return;
            }
        }
        self.xbits.insert(k, now.saturating_add(u64::from(expire)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: ThresholdType, count: u32, seconds: u32) -> Threshold {
        Threshold {
            kind,
            track: Track::BySrc,
            count,
            seconds,
            multiplier: None,
        }
    }

    fn run(th: &Threshold, times: &[u64]) -> Vec<bool> {
        let mut tables = Tables::default();
        let mut stats = EngineStats::default();
        let a = Addr::v4([1, 2, 3, 4]);
        times
            .iter()
            .map(|&s| {
                tables.threshold(
                    0,
                    th,
                    a,
                    a,
                    Timestamp::from_secs_nanos(s, 0),
                    None,
                    &mut stats,
                )
            })
            .collect()
    }

    #[test]
    fn threshold_limit_alerts_first_n_per_window() {
        let r = run(&t(ThresholdType::Limit, 2, 60), &[0, 1, 2, 3, 61, 62, 63]);
        assert_eq!(r, vec![true, true, false, false, true, true, false]);
    }

    #[test]
    fn threshold_threshold_alerts_every_nth() {
        let r = run(&t(ThresholdType::Threshold, 3, 60), &[0, 1, 2, 3, 4, 5]);
        assert_eq!(r, vec![false, false, true, false, false, true]);
    }

    #[test]
    fn threshold_both_alerts_once_at_count() {
        let r = run(&t(ThresholdType::Both, 2, 60), &[0, 1, 2, 3, 70, 71]);
        assert_eq!(r, vec![false, true, false, false, false, true]);
    }

    #[test]
    fn detection_filter_alerts_above_count() {
        let r = run(&t(ThresholdType::DetectionFilter, 2, 60), &[0, 1, 2, 3]);
        assert_eq!(r, vec![false, false, true, true]);
    }

    #[test]
    fn flowbits_groups_and_cap() {
        let mut f = FlowState::default();
        let mut s = EngineStats::default();
        f.bits_apply(BitCmd::Set, &[3, 1], &mut s);
        assert!(f.bits_check(&[1, 2], BitGroup::Or, true));
        assert!(!f.bits_check(&[1, 2], BitGroup::And, true));
        assert!(f.bits_check(&[1, 2], BitGroup::Or, false));
        f.bits_apply(BitCmd::Toggle, &[1], &mut s);
        assert!(!f.bit(1));
        for i in 0..(MAX_FLOWBITS_PER_FLOW as u32 + 10) {
            f.bits_apply(BitCmd::Set, &[100 + i], &mut s);
        }
        assert_eq!(f.bits.len(), MAX_FLOWBITS_PER_FLOW);
        assert!(s.flowbits_full > 0);
    }

    #[test]
    fn tx_records_are_bounded() {
        let mut f = FlowState::default();
        let mut s = EngineStats::default();
        for tx in 0..(MAX_TX_RECORDS_PER_FLOW as u64 + 5) {
            f.tx_record(tx, 0, 7, &mut s);
        }
        assert_eq!(f.tx.len(), MAX_TX_RECORDS_PER_FLOW);
        assert!(!f.tx_alerted(0, 0, 7));
        assert!(f.tx_alerted(MAX_TX_RECORDS_PER_FLOW as u64 + 4, 0, 7));
        assert_eq!(s.tx_records_evicted, 5);
    }

    #[test]
    fn xbits_expire() {
        let mut tb = Tables::default();
        let mut s = EngineStats::default();
        let a = Addr::v4([1, 1, 1, 1]);
        let b = Addr::v4([2, 2, 2, 2]);
        let k = x_key(1, BitTrack::IpPair, a, b);
        tb.xbit_apply(BitCmd::Set, k, 10, 100, &mut s);
        assert!(tb.xbit_isset(&x_key(1, BitTrack::IpPair, b, a), 105));
        assert!(!tb.xbit_isset(&k, 111));
    }
}
