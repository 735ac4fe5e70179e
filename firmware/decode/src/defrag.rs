//! IPv4 and IPv6 fragment reassembly with hard memory caps.
//!
//! Fragments are copied into per-datagram trackers (the only copying this crate does). A
//! datagram is complete when the fragment without "more fragments" has arrived and every byte
//! before it is covered; it is then written into the caller's buffer as an ordinary,
//! unfragmented IP packet, which the pipeline decodes with [`crate::decode_ip_datagram`].
//!
//! Overlaps: the first copy of a byte wins (the behaviour of the BSD-derived stacks and of
//! Suricata's default `bsd` policy for the common "same data" case); an overlap with different
//! data raises `frag_overlap`. Caps: [`DefragConfig::memcap`] bytes buffered in all,
//! [`DefragConfig::max_trackers`] datagrams in progress, [`MAX_FRAGS_PER_DATAGRAM`] fragments per
//! datagram, and 65,535 bytes per datagram (`frag_pkt_too_large`). Trackers expire after
//! [`DefragConfig::timeout_secs`] of packet time. Anything over a cap is dropped and counted.

use std::collections::HashMap;

use types::{Addr, Timestamp};

use crate::events::DecodeEvent as E;
use crate::{Fragment, Packet, L3};

/// Most fragments one datagram may consist of (a 64 KiB datagram in 8-byte fragments would be
/// 8,192; real stacks send a few, attackers send many tiny ones).
pub const MAX_FRAGS_PER_DATAGRAM: usize = 1024;

/// Largest reassembled IP payload.
const MAX_DATAGRAM: u32 = 65_535;

/// Defragmenter settings (Suricata's `defrag:` section).
#[derive(Debug, Clone)]
pub struct DefragConfig {
    /// Bytes of fragment data held at once (`defrag.memcap`, default 32 MiB).
    pub memcap: usize,
    /// Datagrams in progress at once (`defrag.trackers`).
    pub max_trackers: usize,
    /// Seconds of packet time after which an incomplete datagram is dropped.
    pub timeout_secs: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            memcap: 32 << 20,
            max_trackers: 65_535,
            timeout_secs: 60,
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments accepted.
    pub fragments: u64,
    /// Datagrams reassembled.
    pub reassembled: u64,
    /// Fragments dropped over a cap.
    pub memcap_drops: u64,
    /// Trackers expired incomplete.
    pub timeouts: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: Addr,
    dst: Addr,
    id: u32,
    proto: u8,
    v6: bool,
    vlan: [u16; 2],
}

#[derive(Debug)]
struct Tracker {
    /// Unfragmentable header bytes (from the offset-0 fragment).
    header: Vec<u8>,
    /// Index of the IPv6 "next header" byte to rewrite, relative to `header`.
    nh_at: usize,
    next_proto: u8,
    frags: Vec<(u32, Vec<u8>)>,
    /// Total payload length, known once the last fragment has arrived.
    total: Option<u32>,
    last_seen: Timestamp,
    bytes: usize,
}

/// The defragmenter of one worker.
#[derive(Debug)]
pub struct Defrag {
    cfg: DefragConfig,
    trackers: HashMap<Key, Tracker>,
    memuse: usize,
    last_sweep: Timestamp,
    stats: DefragStats,
}

impl Defrag {
    /// An empty defragmenter.
    pub fn new(cfg: DefragConfig) -> Defrag {
        Defrag {
            cfg,
            trackers: HashMap::new(),
            memuse: 0,
            last_sweep: Timestamp::default(),
            stats: DefragStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }

    /// Bytes currently buffered.
    pub fn memuse(&self) -> usize {
        self.memuse
    }

    /// Adds fragment `f` of packet `p`. Returns true, with the reassembled IP packet in `out`,
    /// when the datagram is complete. Anomalies go into `events`.
    pub fn insert(
        &mut self,
        p: &Packet<'_>,
        f: &Fragment,
        ts: Timestamp,
        out: &mut Vec<u8>,
    ) -> Result<bool, crate::DecodeEvent> {
        self.sweep(ts);
        let v6 = matches!(p.l3, L3::V6 { .. });
        let key = Key {
            src: p.src,
            dst: p.dst,
            id: f.id,
            proto: if v6 { 0 } else { f.next_proto },
            v6,
            vlan: p.vlan,
        };
        let too_large = if v6 {
            E("ipv6.frag_pkt_too_large")
        } else {
            E("ipv4.frag_pkt_too_large")
        };
        let end = f.offset.saturating_add(f.data_len as u32);
        if end > MAX_DATAGRAM {
            return Err(too_large);
        }
        let data = p
            .data
            .get(f.data_offset..f.data_offset + f.data_len)
            .unwrap_or_default();
        if self.memuse + data.len() > self.cfg.memcap
            || (!self.trackers.contains_key(&key) && self.trackers.len() >= self.cfg.max_trackers)
        {
            self.stats.memcap_drops += 1;
            return Ok(false);
        }
        let t = self.trackers.entry(key).or_insert_with(|| Tracker {
            header: Vec::new(),
            nh_at: 0,
            next_proto: f.next_proto,
            frags: Vec::new(),
            total: None,
            last_seen: ts,
            bytes: 0,
        });
        t.last_seen = ts;
        if t.frags.len() >= MAX_FRAGS_PER_DATAGRAM {
            self.stats.memcap_drops += 1;
            return Ok(false);
        }
        let mut overlap = false;
        for (o, d) in &t.frags {
            let oe = o + d.len() as u32;
            if f.offset < oe && *o < end {
                // Compare the overlapping bytes.
                let s = f.offset.max(*o);
                let e = end.min(oe);
                let a = d.get((s - o) as usize..(e - o) as usize);
                let b = data.get((s - f.offset) as usize..(e - f.offset) as usize);
                if a != b {
                    overlap = true;
                }
            }
        }
        if f.offset == 0 && t.header.is_empty() {
            t.header = p
                .data
                .get(f.ip_offset..f.ip_offset + f.hdr_len)
                .unwrap_or_default()
                .to_vec();
            t.nh_at = f.nh_field.saturating_sub(f.ip_offset);
            t.next_proto = f.next_proto;
            self.memuse += t.header.len();
            t.bytes += t.header.len();
        }
        if !f.more {
            t.total = Some(end);
        }
        t.frags.push((f.offset, data.to_vec()));
        t.bytes += data.len();
        self.memuse += data.len();
        self.stats.fragments += 1;

        let complete = match t.total {
            Some(total) if !t.header.is_empty() => covered(&t.frags, total),
            _ => false,
        };
        if !complete {
            return if overlap {
                Err(if v6 {
                    E("ipv6.frag_overlap")
                } else {
                    E("ipv4.frag_overlap")
                })
            } else {
                Ok(false)
            };
        }
        let Some(t) = self.trackers.remove(&key) else {
            return Ok(false);
        };
        self.memuse = self.memuse.saturating_sub(t.bytes);
        self.stats.reassembled += 1;
        build(&t, v6, out);
        Ok(true)
    }

    /// Drops trackers idle for longer than the timeout (at most once per second of packet time).
    fn sweep(&mut self, now: Timestamp) {
        if now.since(self.last_sweep) < 1_000_000_000 {
            return;
        }
        self.last_sweep = now;
        let timeout = self.cfg.timeout_secs;
        let mut freed = 0usize;
        let mut expired = 0u64;
        self.trackers.retain(|_, t| {
            let keep = now.since(t.last_seen) < timeout * 1_000_000_000;
            if !keep {
                freed += t.bytes;
                expired += 1;
            }
            keep
        });
        self.memuse = self.memuse.saturating_sub(freed);
        self.stats.timeouts += expired;
    }
}

/// True when `frags` cover `0..total` without holes.
fn covered(frags: &[(u32, Vec<u8>)], total: u32) -> bool {
    let mut spans: Vec<(u32, u32)> = frags
        .iter()
        .map(|(o, d)| (*o, o + d.len() as u32))
        .collect();
    spans.sort_unstable();
    let mut reach = 0u32;
    for (s, e) in spans {
        if s > reach {
            return false;
        }
        reach = reach.max(e);
    }
    reach >= total
}

/// Writes the reassembled datagram: the header with lengths fixed, then the payload with the
/// first copy of every byte winning.
fn build(t: &Tracker, v6: bool, out: &mut Vec<u8>) {
    let total = t.total.unwrap_or(0) as usize;
    out.clear();
    out.extend_from_slice(&t.header);
    let hl = out.len();
    out.resize(hl + total, 0);
    let mut filled = vec![false; total];
    for (o, d) in &t.frags {
        for (i, &b) in d.iter().enumerate() {
            let at = *o as usize + i;
            if at < total && !filled[at] {
                filled[at] = true;
                out[hl + at] = b;
            }
        }
    }
    if v6 {
        let plen = (hl - 40 + total).min(0xffff) as u16;
        if let Some(x) = out.get_mut(4..6) {
            x.copy_from_slice(&plen.to_be_bytes());
        }
        if let Some(b) = out.get_mut(t.nh_at) {
            *b = t.next_proto;
        }
    } else {
        let tl = (hl + total).min(0xffff) as u16;
        if let Some(x) = out.get_mut(2..4) {
            x.copy_from_slice(&tl.to_be_bytes());
        }
        if let Some(x) = out.get_mut(6..8) {
            x.copy_from_slice(&[0, 0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode, decode_ip_datagram, DecodeConfig};

    fn frag4(id: u16, off: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let ff = (off / 8) | if more { 0x2000 } else { 0 };
        let mut v = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            (id >> 8) as u8,
            id as u8,
            (ff >> 8) as u8,
            ff as u8,
            64,
            17,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
        ];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut udp = vec![0x30, 0x39, 0x00, 0x35, 0x00, 24, 0, 0];
        udp.extend_from_slice(b"0123456789abcdef");
        let a = frag4(7, 0, true, &udp[..16]);
        let b = frag4(7, 16, false, &udp[16..]);
        let cfg = DecodeConfig::default();
        let mut d = Defrag::new(DefragConfig::default());
        let mut out = Vec::new();
        let pb = decode(101, &b, &cfg);
        assert_eq!(
            d.insert(&pb, &pb.fragment.unwrap(), Timestamp(1), &mut out),
            Ok(false)
        );
        let pa = decode(101, &a, &cfg);
        assert_eq!(
            d.insert(&pa, &pa.fragment.unwrap(), Timestamp(2), &mut out),
            Ok(true)
        );
        let p = decode_ip_datagram(&out, &cfg);
        assert_eq!(p.dport, 53);
        assert_eq!(p.payload(), b"0123456789abcdef");
        assert_eq!(d.memuse(), 0);
    }

    #[test]
    fn caps_hold() {
        let cfg = DecodeConfig::default();
        let mut d = Defrag::new(DefragConfig {
            memcap: 100,
            ..Default::default()
        });
        let mut out = Vec::new();
        for i in 0..50u16 {
            let f = frag4(i, 8, true, &[0u8; 16]);
            let p = decode(101, &f, &cfg);
            let _ = d.insert(&p, &p.fragment.unwrap(), Timestamp(1), &mut out);
        }
        assert!(d.memuse() <= 100);
        assert!(d.stats().memcap_drops > 0);
        // Too large.
        let f = frag4(1, 65528, false, &[0u8; 16]);
        let p = decode(101, &f, &cfg);
        assert_eq!(
            d.insert(&p, &p.fragment.unwrap(), Timestamp(1), &mut out),
            Err(E("ipv4.frag_pkt_too_large"))
        );
    }
}
