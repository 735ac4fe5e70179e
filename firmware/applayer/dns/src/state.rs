//! Per-flow state: transactions, UDP datagrams, TCP framing and gaps.
//!
//! Suricata 7 keeps one transaction per *message*: a request and its response are two
//! transactions, numbered in arrival order across both directions (so a flow with query,
//! answer, query, answer prints query `tx_id`s 0 and 2). A transaction is logged as soon as the
//! parser call that created it returns. Events found while parsing a message normally belong
//! to that message's transaction; three (`malformed_data`, `not_request`, `not_response`)
//! belong to the *previous* transaction, and only if it was created by the same call, because
//! Suricata frees a transaction once it has been logged. That makes them TCP-only and
//! dependent on how segments cut the stream, exactly as in Suricata.
//!
//! Memory per flow: one partial TCP frame per direction (at most
//! [`MAX_TCP_FRAME`](crate::caps::MAX_TCP_FRAME) bytes), at most one transaction waiting for
//! the end of the call, and the transactions retained for detection (at most
//! [`DnsConfig::max_retained_transactions`]).

use std::collections::VecDeque;

use events::anomaly::AnomalyEve;
use events::app::{AppOutput, ParseStatus, Probe, StreamParser};
use events::inspect::TxBuffers;
use events::Body;
use types::Direction;

use crate::config::DnsConfig;
use crate::event::DnsEvent;
use crate::inspect::DnsTxBuffers;
use crate::wire::{self, DnsMessage, NameFlags, ParseError, HEADER_LEN};
use crate::{log, APP_PROTO};

/// One DNS message and what was noticed about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTransaction {
    /// Index within the flow, from 0, shared by both directions (EVE `tx_id`).
    pub id: u64,
    /// `ToServer` for a request, `ToClient` for a response.
    pub dir: Direction,
    /// The parsed message.
    pub message: DnsMessage,
    /// App-layer events, in the order they were raised (each at most once).
    pub events: Vec<DnsEvent>,
}

impl DnsTransaction {
    fn raise(&mut self, ev: DnsEvent) {
        if !self.events.contains(&ev) {
            self.events.push(ev);
        }
    }
}

/// What both transports share: numbering, the transaction still open in this call, logging and
/// retention.
#[derive(Debug)]
struct Session {
    cfg: DnsConfig,
    next_id: u64,
    /// The last transaction of the current call; it can still receive a late event.
    open: Option<DnsTransaction>,
    /// Transactions finished by the current (or last) call, for detection.
    retained: VecDeque<DnsTransaction>,
    retained_overflow: bool,
    /// Snapshots of transactions of the current call that logged no record (inspect mode).
    /// At most one per message of one call, and cleared when the next call begins.
    unlogged: Vec<DnsTxBuffers>,
    /// TCP data is parsed when the peer acknowledges it, so Suricata prints anomalies with the
    /// acknowledging packet's orientation: the opposite of the data's.
    anomaly_from_ack: bool,
}

impl Session {
    fn new(cfg: &DnsConfig, anomaly_from_ack: bool) -> Session {
        Session {
            cfg: cfg.clone(),
            next_id: 0,
            open: None,
            retained: VecDeque::new(),
            retained_overflow: false,
            unlogged: Vec::new(),
            anomaly_from_ack,
        }
    }

    fn begin_call(&mut self) {
        self.retained.clear();
        self.retained_overflow = false;
        self.unlogged.clear();
    }

    fn end_call(&mut self, out: &mut Vec<AppOutput>) {
        if let Some(tx) = self.open.take() {
            self.finish(tx, out);
        }
    }

    /// Raises `ev` on the transaction opened earlier in this call, if there is one.
    fn late_event(&mut self, ev: DnsEvent) {
        if let Some(tx) = self.open.as_mut() {
            tx.raise(ev);
        }
    }

    /// Parses one complete message travelling in `dir` and opens its transaction. An error
    /// means Suricata's parser would have returned failure for this message.
    fn on_message(
        &mut self,
        dir: Direction,
        msg: &[u8],
        out: &mut Vec<AppOutput>,
    ) -> Result<(), ParseError> {
        let cap = self.cfg.max_records_per_message;
        let parsed = match dir {
            Direction::ToServer => wire::parse_request(msg, cap),
            Direction::ToClient => wire::parse_response(msg, cap),
        };
        match parsed {
            Ok(m) => {
                if dir == Direction::ToClient && !m.header.is_response() {
                    self.late_event(DnsEvent::NotResponse);
                }
                self.open_tx(dir, m, out);
                Ok(())
            }
            Err(e) => {
                match e {
                    ParseError::NotRequest => self.late_event(DnsEvent::NotRequest),
                    ParseError::Incomplete | ParseError::Invalid => {
                        self.late_event(DnsEvent::MalformedData)
                    }
                    ParseError::Header => {}
                }
                Err(e)
            }
        }
    }

    fn open_tx(&mut self, dir: Direction, message: DnsMessage, out: &mut Vec<AppOutput>) {
        let mut tx = DnsTransaction {
            id: self.next_id,
            dir,
            message,
            events: Vec::new(),
        };
        // A u64 counter of messages cannot wrap in practice; wrapping keeps it panic-free.
        self.next_id = self.next_id.wrapping_add(1);
        let h = tx.message.header;
        let f = tx.message.name_flags;
        if h.z() {
            tx.raise(DnsEvent::ZFlagSet);
        }
        if h.opcode() >= 7 {
            tx.raise(DnsEvent::InvalidOpcode);
        }
        if f.contains(NameFlags::TRUNCATED) {
            tx.raise(DnsEvent::NameTooLong);
        }
        if f.contains(NameFlags::INFINITE_LOOP) {
            tx.raise(DnsEvent::InfiniteLoop);
        }
        if f.contains(NameFlags::LABEL_LIMIT) {
            tx.raise(DnsEvent::TooManyLabels);
        }
        if tx.message.records_truncated {
            tx.raise(DnsEvent::TooManyRecords);
        }
        if let Some(prev) = self.open.replace(tx) {
            self.finish(prev, out);
        }
    }

    fn finish(&mut self, tx: DnsTransaction, out: &mut Vec<AppOutput>) {
        let adir = if self.anomaly_from_ack {
            tx.dir.flip()
        } else {
            tx.dir
        };
        let first = out.len();
        log::render(&self.cfg, &tx, adir, out);
        if self.cfg.inspect {
            // The transaction is done: it moves into its snapshot, carried by its first `dns`
            // record (or kept for `take_unlogged_inspect` when it logs none).
            let snap = DnsTxBuffers::new(tx);
            let carrier = out
                .get_mut(first..)
                .and_then(|o| o.iter_mut().find(|o| matches!(o.body, Body::Dns(_))));
            match carrier {
                Some(o) => o.inspect = Some(Box::new(snap)),
                None => self.keep_unlogged(snap, adir, out),
            }
            return;
        }
        let cap = self.cfg.max_retained_transactions;
        if cap == 0 {
            return;
        }
        while self.retained.len() >= cap {
            self.retained.pop_front();
            if !self.retained_overflow {
                self.retained_overflow = true;
                out.push(AppOutput {
                    body: Body::Anomaly(AnomalyEve::applayer(
                        APP_PROTO,
                        DnsEvent::TooManyTransactions.name(),
                    )),
                    tx_id: None,
                    dir: adir,
                    inspect: None,
                });
            }
        }
        self.retained.push_back(tx);
    }

    /// Keeps the snapshot of a transaction that logged nothing, under the retention cap (the
    /// oldest goes first, with one `too_many_transactions` per call, as for retention).
    fn keep_unlogged(&mut self, snap: DnsTxBuffers, adir: Direction, out: &mut Vec<AppOutput>) {
        let cap = self.cfg.max_retained_transactions;
        if cap == 0 {
            return;
        }
        if self.unlogged.len() >= cap {
            self.unlogged.remove(0);
            if !self.retained_overflow {
                self.retained_overflow = true;
                out.push(AppOutput {
                    body: Body::Anomaly(AnomalyEve::applayer(
                        APP_PROTO,
                        DnsEvent::TooManyTransactions.name(),
                    )),
                    tx_id: None,
                    dir: adir,
                    inspect: None,
                });
            }
        }
        self.unlogged.push(snap);
    }

    fn take_unlogged(&mut self) -> Vec<Box<dyn TxBuffers>> {
        self.unlogged
            .drain(..)
            .map(|b| Box::new(b) as Box<dyn TxBuffers>)
            .collect()
    }

    fn transactions(&self) -> impl Iterator<Item = &DnsTransaction> {
        self.retained.iter()
    }
}

/// DNS over UDP for one flow: every datagram is one message.
#[derive(Debug)]
pub struct DnsUdp {
    s: Session,
}

impl DnsUdp {
    /// A new flow.
    pub fn new(cfg: &DnsConfig) -> DnsUdp {
        DnsUdp {
            s: Session::new(cfg, false),
        }
    }

    /// Parses one datagram travelling in `dir` (to the server: a request; to the client: a
    /// response) and logs it. Malformed datagrams are dropped silently, as Suricata does;
    /// the flow is never given up, so this always returns [`ParseStatus::Ok`].
    pub fn parse_datagram(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<AppOutput>,
    ) -> ParseStatus {
        self.s.begin_call();
        // A failure has no transaction to report on in UDP; nothing else to do.
        let _ = self.s.on_message(dir, data, out);
        self.s.end_call(out);
        ParseStatus::Ok
    }

    /// The flow ends. Everything is logged when parsed, so this only releases retained state.
    pub fn flush(&mut self, out: &mut Vec<AppOutput>) {
        self.s.end_call(out);
        self.s.begin_call();
    }

    /// Transactions completed by the most recent call, oldest first (for detection). Empty
    /// with [`DnsConfig::inspect`]: transactions move into their snapshots instead.
    pub fn transactions(&self) -> impl Iterator<Item = &DnsTransaction> {
        self.s.transactions()
    }

    /// With [`DnsConfig::inspect`]: the snapshots of transactions of the most recent call that
    /// logged no `dns` record (so no output carried them), oldest first. Call after each
    /// parse call; the next call drops what was not taken. At most
    /// [`DnsConfig::max_retained_transactions`].
    pub fn take_unlogged_inspect(&mut self) -> Vec<Box<dyn TxBuffers>> {
        self.s.take_unlogged()
    }

    /// Transactions created so far in this flow.
    pub fn tx_count(&self) -> u64 {
        self.s.next_id
    }
}

/// DNS over TCP for one flow: 2-byte length-prefixed messages, in any segmentation.
///
/// Once a message fails to parse, the flow is given up in both directions (every later call
/// returns [`ParseStatus::Error`]), as Suricata does. After a gap, data is skipped until a
/// call's data (from its start) probes as DNS again.
#[derive(Debug)]
pub struct DnsTcp {
    s: Session,
    /// Unconsumed bytes per direction, always starting at a frame boundary (or, in gap mode,
    /// at the first byte after the gap). Never longer than one frame.
    buf: [Vec<u8>; 2],
    gap: bool,
    failed: bool,
}

/// Bytes needed before the post-gap probe can decide: a length prefix and a header.
const RESYNC_PROBE_LEN: usize = 2 + HEADER_LEN;

impl DnsTcp {
    /// A new flow.
    pub fn new(cfg: &DnsConfig) -> DnsTcp {
        DnsTcp {
            s: Session::new(cfg, true),
            buf: [Vec::new(), Vec::new()],
            gap: false,
            failed: false,
        }
    }

    /// Transactions completed by the most recent call, oldest first (for detection). Empty
    /// with [`DnsConfig::inspect`]: transactions move into their snapshots instead.
    pub fn transactions(&self) -> impl Iterator<Item = &DnsTransaction> {
        self.s.transactions()
    }

    /// With [`DnsConfig::inspect`]: the snapshots of transactions of the most recent call that
    /// logged no `dns` record (so no output carried them), oldest first. Call after each
    /// parse call; the next call drops what was not taken. At most
    /// [`DnsConfig::max_retained_transactions`].
    pub fn take_unlogged_inspect(&mut self) -> Vec<Box<dyn TxBuffers>> {
        self.s.take_unlogged()
    }

    /// Transactions created so far in this flow.
    pub fn tx_count(&self) -> u64 {
        self.s.next_id
    }

    /// True once the flow has been given up after a malformed message.
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn parse_inner(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<AppOutput>,
    ) -> ParseStatus {
        if !self.gap {
            return self.frames(dir, data, out);
        }
        let d = dir.idx();
        let have = self.buf[d].len().saturating_add(data.len());
        if have < RESYNC_PROBE_LEN {
            // Wait for enough bytes to decide, so the outcome does not depend on slicing.
            self.buf[d].extend_from_slice(data);
            return ParseStatus::Ok;
        }
        let mut input = std::mem::take(&mut self.buf[d]);
        input.extend_from_slice(data);
        if crate::tcp_verdict(&input) == wire::Verdict::NotDns {
            // Suricata drops the whole chunk and probes again on the next one.
            return ParseStatus::Ok;
        }
        self.gap = false;
        self.frames(dir, &input, out)
    }

    /// Frames messages out of `self.buf[dir] ++ data` and parses each.
    fn frames(&mut self, dir: Direction, mut data: &[u8], out: &mut Vec<AppOutput>) -> ParseStatus {
        let d = dir.idx();
        loop {
            if !self.buf[d].is_empty() {
                let buf = &mut self.buf[d];
                if buf.len() < 2 {
                    let (head, rest) = data.split_at(data.len().min(2 - buf.len()));
                    buf.extend_from_slice(head);
                    data = rest;
                    if buf.len() < 2 {
                        return ParseStatus::Ok;
                    }
                }
                let size = match buf.first_chunk::<2>() {
                    Some(p) => usize::from(u16::from_be_bytes(*p)),
                    None => return ParseStatus::Ok,
                };
                if size == 0 {
                    buf.clear();
                    continue;
                }
                // At most MAX_TCP_FRAME: the buffer never holds more than one frame.
                let frame_len = 2 + size;
                let want = frame_len.saturating_sub(buf.len());
                let (head, rest) = data.split_at(data.len().min(want));
                buf.extend_from_slice(head);
                data = rest;
                if buf.len() < frame_len {
                    return ParseStatus::Ok;
                }
                let frame = std::mem::take(buf);
                let ok = self
                    .s
                    .on_message(dir, frame.get(2..).unwrap_or(&[]), out)
                    .is_ok();
                if !ok {
                    return self.fail();
                }
                continue;
            }
            let Some(prefix) = data.first_chunk::<2>() else {
                self.buf[d].extend_from_slice(data);
                return ParseStatus::Ok;
            };
            let size = usize::from(u16::from_be_bytes(*prefix));
            if size == 0 {
                data = data.get(2..).unwrap_or(&[]);
                continue;
            }
            let Some(msg) = data.get(2..2 + size) else {
                // Partial frame: keep it (at most MAX_TCP_FRAME bytes) for the next call.
                self.buf[d].extend_from_slice(data);
                return ParseStatus::Ok;
            };
            data = data.get(2 + size..).unwrap_or(&[]);
            if self.s.on_message(dir, msg, out).is_err() {
                return self.fail();
            }
        }
    }

    fn fail(&mut self) -> ParseStatus {
        self.failed = true;
        self.buf = [Vec::new(), Vec::new()];
        ParseStatus::Error
    }
}

impl StreamParser for DnsTcp {
    fn parse(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppOutput>) -> ParseStatus {
        if self.failed {
            return ParseStatus::Error;
        }
        self.s.begin_call();
        let st = self.parse_inner(dir, data, out);
        self.s.end_call(out);
        st
    }

    fn gap(&mut self, dir: Direction, len: u64, _out: &mut Vec<AppOutput>) {
        if len > 0 && !self.failed {
            // Suricata keeps one gap flag for the flow; the partial frame of this direction
            // cannot be completed any more.
            self.gap = true;
            self.buf[dir.idx()].clear();
        }
    }

    fn eof(&mut self, dir: Direction, _out: &mut Vec<AppOutput>) {
        // A partial frame at end of stream is never logged (Suricata neither).
        self.buf[dir.idx()] = Vec::new();
    }

    fn flush(&mut self, out: &mut Vec<AppOutput>) {
        self.s.end_call(out);
        self.s.begin_call();
        self.buf = [Vec::new(), Vec::new()];
    }
}

/// Maps a probe verdict to the pipeline's [`Probe`].
pub(crate) fn to_probe(v: wire::Verdict) -> Probe {
    match v {
        wire::Verdict::Dns(_) => Probe::Match,
        wire::Verdict::NotDns => Probe::NoMatch,
        wire::Verdict::Incomplete => Probe::NeedMore,
    }
}
