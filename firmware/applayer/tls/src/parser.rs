//! The per-flow TLS state machine: record framing (SSLv2 and SSLv3+), handshake message
//! defragmentation, heartbeat checks, and when the `tls` record is written.
//!
//! # Framing model
//! Suricata parses record headers as a stream and asks the engine to wait ("incomplete") until
//! a whole non-application record is available; application data is consumed as it comes.
//! We do the same with a small per-direction buffer: a header is decoded once all of it is
//! there, then the body of a handshake/alert/CCS/heartbeat record is parsed once all of it is
//! there, and application data passes through without being copied. The buffer never holds
//! more than one record (at most [`MAX_BUFFERED`] bytes), whatever the slicing of the input,
//! and what is parsed does not depend on how the stream is sliced — except where Suricata's
//! does too (see the crate docs: the end-of-call handshake check, and unknown record types in
//! TLS 1.0/1.1). Suricata's record loop also bounds records per call
//! (`TOO_MANY_RECORDS_IN_PACKET`) relative to the data at hand; we apply it to each
//! contiguous run we decode, which only matters for floods of tiny records.
//!
//! # When the `tls` record is written
//! Once per flow, like Suricata's single TLS transaction: at the end of the first `parse`
//! call after which the handshake is done (server certificate seen — or the client's, when the
//! server asked for one — or encrypted application data seen), or when the session finishes
//! (either side closes, a gap, a parse error, flow end). It is written only if there is
//! something to say: a server certificate, a resumed session (when `log_resumed`), or a TLS
//! 1.3 session (no certificate is ever visible). A session that showed only a ClientHello is
//! therefore not logged, unless its ClientHello offered a session ticket (Suricata then counts
//! it as resumed).

use events::anomaly::AnomalyEve;
use events::app::{AppOutput, ParseStatus, StreamParser};
use events::inspect::TxBuffers;
use events::Body;
use tls_parser::{parse_tls_record_header, TlsHandshakeType, TlsRecordType};
use types::Direction;

use crate::anomaly::TlsEvent;
use crate::config::{EncryptionHandling, TlsConfig};
use crate::eve;
use crate::hello::{self, CertState, EventSink, HelloCfg};
use crate::inspect::TlsTxBuffers;
use crate::session::{SslFlags, TlsSession};
use crate::version::{self, SSL_V2, TLS_V10, TLS_V11, TLS_V12, VERSION_UNKNOWN};
use crate::APP_PROTO;

/// Largest record Suricata accepts: 2^14 + 1024 (RFC 5246 6.2.2's TLSCompressed bound, which
/// Suricata uses for every record). A longer record is `INVALID_RECORD_LENGTH` and ends
/// parsing of the flow, as in Suricata.
pub const MAX_RECORD_LEN: u32 = (1 << 14) + 1024;

/// Most bytes the framing buffer holds per direction: the largest SSLv2 record (15-bit length
/// plus a 3-byte header and its type byte) which is larger than any accepted SSLv3+ record
/// (5-byte header plus [`MAX_RECORD_LEN`]).
pub const MAX_BUFFERED: usize = 0x7fff + 4;

/// Most anomaly events raised per flow. Suricata keeps app-layer events of a transaction in a
/// `u8`-counted list and drops them past 255; TLS has one transaction per flow.
pub const MAX_EVENTS: usize = 255;

const HDR_LEN: u32 = 5;

// Record and handshake types, from `tls-parser`'s IANA registries.
const CT_CHANGE_CIPHER_SPEC: u8 = TlsRecordType::ChangeCipherSpec.0;
const CT_ALERT: u8 = TlsRecordType::Alert.0;
const CT_HANDSHAKE: u8 = TlsRecordType::Handshake.0;
const CT_APPLICATION_DATA: u8 = TlsRecordType::ApplicationData.0;
const CT_HEARTBEAT: u8 = TlsRecordType::Heartbeat.0;

const HS_HELLO_REQUEST: u8 = TlsHandshakeType::HelloRequest.0;
const HS_CLIENT_HELLO: u8 = TlsHandshakeType::ClientHello.0;
const HS_SERVER_HELLO: u8 = TlsHandshakeType::ServerHello.0;
const HS_NEW_SESSION_TICKET: u8 = TlsHandshakeType::NewSessionTicket.0;
const HS_CERTIFICATE: u8 = TlsHandshakeType::Certificate.0;
const HS_SERVER_KEY_EXCHANGE: u8 = TlsHandshakeType::ServerKeyExchange.0;
const HS_CERTIFICATE_REQUEST: u8 = TlsHandshakeType::CertificateRequest.0;
const HS_SERVER_HELLO_DONE: u8 = TlsHandshakeType::ServerDone.0;
const HS_CERTIFICATE_VERIFY: u8 = TlsHandshakeType::CertificateVerify.0;
const HS_CLIENT_KEY_EXCHANGE: u8 = TlsHandshakeType::ClientKeyExchange.0;
const HS_FINISHED: u8 = TlsHandshakeType::Finished.0;
const HS_CERTIFICATE_URL: u8 = TlsHandshakeType::CertificateURL.0;
const HS_CERTIFICATE_STATUS: u8 = TlsHandshakeType::CertificateStatus.0;

const SSLV2_MT_ERROR: u8 = 0;
const SSLV2_MT_CLIENT_HELLO: u8 = 1;
const SSLV2_MT_CLIENT_MASTER_KEY: u8 = 2;
const SSLV2_MT_CLIENT_FINISHED: u8 = 3;
const SSLV2_MT_SERVER_HELLO: u8 = 4;
const SSLV2_MT_SERVER_VERIFY: u8 = 5;
const SSLV2_MT_SERVER_FINISHED: u8 = 6;
const SSLV2_MT_REQUEST_CERTIFICATE: u8 = 7;
const SSLV2_MT_CLIENT_CERTIFICATE: u8 = 8;

const HB_REQUEST: u8 = 1;
const HB_RESPONSE: u8 = 2;

/// Handshake message types that are parsed (the others are skipped with an event).
fn supported_handshake(t: u8) -> bool {
    matches!(
        t,
        HS_HELLO_REQUEST
            | HS_CLIENT_HELLO
            | HS_SERVER_HELLO
            | HS_NEW_SESSION_TICKET
            | HS_CERTIFICATE
            | HS_SERVER_KEY_EXCHANGE
            | HS_CERTIFICATE_REQUEST
            | HS_SERVER_HELLO_DONE
            | HS_CERTIFICATE_VERIFY
            | HS_CLIENT_KEY_EXCHANGE
            | HS_FINISHED
            | HS_CERTIFICATE_URL
            | HS_CERTIFICATE_STATUS
    )
}

/// A handshake message being collected across records.
#[derive(Debug, Default)]
struct HsFrag {
    msg_type: u8,
    size: usize,
    got: usize,
    data: Vec<u8>,
    /// More than the size cap arrived: count the rest, keep none, do not parse.
    skipping: bool,
}

/// Framing state of one direction.
#[derive(Debug, Default)]
struct DirState {
    /// Received bytes not yet consumed (part of a header or of a non-application record).
    buf: Vec<u8>,
    /// Decode again only once `buf` holds this many bytes.
    want: usize,
    /// Bytes of the current record consumed so far, header included (0: at a record start).
    bytes_processed: u32,
    /// Current record's length (body only for SSLv3+, type byte included for SSLv2).
    record_length: u32,
    /// SSLv2 header length (2 or 3) of the current record.
    rll: u32,
    /// Current record's content type (SSLv3+) or message type (SSLv2).
    content_type: u8,
    /// `buf` holds part of a record body (not just part of a header).
    want_body: bool,
    /// A handshake message spanning records.
    hs: Option<HsFrag>,
    /// Certificate message handling.
    certs: CertState,
}

impl DirState {
    fn reset_record(&mut self) {
        self.bytes_processed = 0;
    }
}

/// The framing state of `dir`.
fn pick(dirs: &mut [DirState; 2], dir: Direction) -> &mut DirState {
    let [ts, tc] = dirs;
    match dir {
        Direction::ToServer => ts,
        Direction::ToClient => tc,
    }
}

/// Outcome of one decode run over contiguous input.
enum Run {
    /// Consumed this much; everything given was used or the rest is a partial record header.
    Done { consumed: usize, need: usize },
    /// Consumed this much; waiting for the rest of a record body (`need` bytes from there).
    Incomplete { consumed: usize, need: usize },
    /// Drop whatever else this `parse` call brought for this direction.
    DropRest,
    /// Fatal parse error: the flow's TLS parsing stops.
    Error,
}

/// `(consumed, need, incomplete)`; `None` for [`Run::DropRest`].
fn run_parts(r: Run) -> Result<Option<(usize, usize, bool)>, ()> {
    Ok(Some(match r {
        Run::Error => return Err(()),
        Run::DropRest => return Ok(None),
        Run::Done { consumed, need } => (consumed, need, false),
        Run::Incomplete { consumed, need } => (consumed, need, true),
    }))
}

/// Result of decoding one record (or record part).
enum Rec {
    Ok(usize),
    /// A record header is not all there yet: decode again from the same point once `need`
    /// bytes are. `incomplete`: Suricata would report this as "incomplete" (it does for a
    /// partial SSLv2 header unless what it has already says "empty record").
    NeedHeader {
        need: usize,
        incomplete: bool,
    },
    NeedBody {
        consumed: usize,
        need: usize,
    },
    /// Unknown record type in a TLS 1.0/1.1 stream: drop the rest of this call's data.
    DropRest,
    Err,
}

/// Collects raised events, bounded by [`MAX_EVENTS`] per flow.
#[derive(Debug, Default)]
struct Events {
    /// Every event raised on the flow, in order (for `app-layer-event` matching).
    all: Vec<TlsEvent>,
    /// Raised but not yet emitted as `anomaly` records.
    pending: Vec<(TlsEvent, Direction)>,
    /// Direction of the data being parsed.
    dir: Option<Direction>,
}

impl EventSink for Events {
    fn raise(&mut self, ev: TlsEvent) {
        if self.all.len() >= MAX_EVENTS {
            return;
        }
        self.all.push(ev);
        self.pending
            .push((ev, self.dir.unwrap_or(Direction::ToServer)));
    }
}

/// The TLS parser state of one flow. Implements [`StreamParser`].
#[derive(Debug)]
pub struct TlsState {
    cfg: TlsConfig,
    session: TlsSession,
    dirs: [DirState; 2],
    hb_record_len: u32,
    events: Events,
    logged: bool,
    failed: bool,
    bypassed: bool,
    from_proto: Option<String>,
    /// The snapshot of an unlogged session, until taken (inspect mode; at most one per flow).
    unlogged: Option<Box<TlsTxBuffers>>,
}

impl TlsState {
    /// A fresh parser for one flow.
    pub fn new(cfg: &TlsConfig) -> TlsState {
        TlsState {
            cfg: *cfg,
            session: TlsSession::default(),
            dirs: [DirState::default(), DirState::default()],
            hb_record_len: 0,
            events: Events::default(),
            logged: false,
            failed: false,
            bypassed: false,
            from_proto: None,
            unlogged: None,
        }
    }

    /// Records the protocol the flow started as (STARTTLS, HTTP CONNECT): printed as
    /// `tls.from_proto`.
    pub fn set_from_proto(&mut self, proto: &str) {
        self.from_proto = Some(proto.to_owned());
    }

    /// What the session showed so far (for detection keywords).
    pub fn session(&self) -> &TlsSession {
        &self.session
    }

    /// Every anomaly raised on the flow so far, in order (at most [`MAX_EVENTS`]), for
    /// `app-layer-event:tls.*` matching. Includes those not written as `anomaly` records.
    pub fn events(&self) -> &[TlsEvent] {
        &self.events.all
    }

    /// True once the `tls` record has been written (or its moment passed without one).
    pub fn logged(&self) -> bool {
        self.logged
    }

    /// True while the parser still wants stream data. False after a fatal error or a gap, and
    /// after the handshake with `encryption_handling: bypass`; the pipeline may then stop
    /// reassembling the flow.
    pub fn wants_data(&self) -> bool {
        !self.failed && !self.bypassed
    }

    /// True once the session is encrypted (application data seen, or both SSLv2 sides
    /// encrypted): content inspection of the payload is pointless unless
    /// `encryption_handling: full`.
    pub fn encrypted(&self) -> bool {
        let f = self.session.flags;
        f.has(SslFlags::HANDSHAKE_DONE)
            || f.has(SslFlags::SSL_CLIENT_SSN_ENCRYPTED | SslFlags::SSL_SERVER_SSN_ENCRYPTED)
    }

    /// Emits the anomalies raised since the last call. Once the `tls` record's moment has
    /// passed, Suricata's transaction is fully logged and its later events are never written
    /// as `anomaly` records (Zeek's heartbleed traces show it); we do the same. They stay in
    /// [`TlsState::events`].
    fn drain_events(&mut self, out: &mut Vec<AppOutput>) {
        if self.logged {
            self.events.pending.clear();
            return;
        }
        self.emit_events(out);
    }

    fn emit_events(&mut self, out: &mut Vec<AppOutput>) {
        for (ev, dir) in self.events.pending.drain(..) {
            out.push(AppOutput {
                body: Body::Anomaly(AnomalyEve::applayer(APP_PROTO, ev.name())),
                tx_id: Some(0),
                dir,
                inspect: None,
            });
        }
    }

    fn raise(&mut self, ev: TlsEvent) {
        self.events.raise(ev);
    }

    /// Writes the `tls` record if it is due and was not written yet. `finished`: the session
    /// is over (EOF, error, gap, flush), so it is due whatever the handshake progress.
    /// Returns true when a record was written.
    fn maybe_log(&mut self, finished: bool, out: &mut Vec<AppOutput>) -> bool {
        if self.logged {
            return false;
        }
        let f = self.session.flags;
        if !finished && !f.has(SslFlags::HANDSHAKE_DONE) && !f.has(SslFlags::STATE_FINISHED) {
            return false;
        }
        // Like Suricata's transaction logger: the moment is used up even when there is
        // nothing worth logging.
        self.logged = true;
        if !eve::should_log(&self.session, &self.cfg) {
            if self.cfg.inspect {
                // Not logged, but Suricata's detection still saw the transaction.
                let alert = eve::build_for_alert(&self.session, &self.cfg);
                self.unlogged = Some(Box::new(
                    TlsTxBuffers::take(&mut self.session).with_alert_record(alert),
                ));
            }
            return false;
        }
        let rec = eve::build(&self.session, &self.cfg, self.from_proto.as_deref());
        let inspect = self.cfg.inspect.then(|| {
            let alert = eve::build_for_alert(&self.session, &self.cfg);
            Box::new(TlsTxBuffers::take(&mut self.session).with_alert_record(alert))
                as Box<dyn TxBuffers>
        });
        out.push(AppOutput {
            body: Body::Tls(Box::new(rec)),
            tx_id: Some(0),
            dir: Direction::ToServer,
            inspect,
        });
        true
    }

    /// With [`TlsConfig::inspect`]: the snapshot of a session whose moment to be logged passed
    /// without a `tls` record (no certificate, not resumed, not TLS 1.3), so that no output
    /// carried it. At most one per flow (the session is snapshotted once); take it after each
    /// call.
    pub fn take_unlogged_inspect(&mut self) -> Option<Box<dyn TxBuffers>> {
        self.unlogged.take().map(|b| b as Box<dyn TxBuffers>)
    }

    /// Stops parsing the flow (both directions), as Suricata does on a parser error or an
    /// unsupported gap: emits the anomalies of the failing call, then writes the record if
    /// one is pending (Suricata's anomaly logger runs before the TLS logger in that pass).
    fn fail(&mut self, out: &mut Vec<AppOutput>) {
        self.failed = true;
        for d in &mut self.dirs {
            d.buf = Vec::new();
            d.hs = None;
        }
        self.drain_events(out);
        let _ = self.maybe_log(true, out);
    }

    /// Feeds `data` to direction `dir`, buffering at most one record. `Ok(true)` when the
    /// data ends inside a record body that must be complete before it is parsed (Suricata's
    /// "incomplete": its end-of-call checks are skipped).
    fn feed(&mut self, dir: Direction, mut data: &[u8]) -> Result<bool, ()> {
        // Whether the last decode stopped inside a record body (even with nothing left over
        // to buffer: a header just consumed whose body has not started yet).
        let mut incomplete = false;
        loop {
            if pick(&mut self.dirs, dir).buf.is_empty() {
                if data.is_empty() {
                    return Ok(incomplete);
                }
                let Some((consumed, need, body)) = run_parts(self.decode(dir, data))? else {
                    return Ok(false);
                };
                let rest = data.get(consumed..).unwrap_or_default();
                if !rest.is_empty() {
                    let d = pick(&mut self.dirs, dir);
                    d.buf.extend_from_slice(rest);
                    d.want = need.min(MAX_BUFFERED);
                    d.want_body = body;
                }
                return Ok(body);
            }
            let d = pick(&mut self.dirs, dir);
            let missing = d.want.saturating_sub(d.buf.len());
            let (now, rest) = data.split_at(missing.min(data.len()));
            d.buf.extend_from_slice(now);
            data = rest;
            if d.buf.len() < d.want {
                return Ok(d.want_body);
            }
            let mut buf = std::mem::take(&mut d.buf);
            let Some((consumed, need, body)) = run_parts(self.decode(dir, &buf))? else {
                return Ok(false);
            };
            incomplete = body;
            buf.drain(..consumed.min(buf.len()));
            if !buf.is_empty() {
                // Less than `need` is left (the decoder only stops short of what it needs).
                let d = pick(&mut self.dirs, dir);
                d.want = need.min(MAX_BUFFERED);
                d.want_body = body;
                d.buf = buf;
            }
        }
    }

    /// Suricata's `SSLDecode` loop over contiguous input of one direction.
    fn decode(&mut self, dir: Direction, input: &[u8]) -> Run {
        let max_records = (input.len() / 6).max(1);
        let mut counter = 0usize;
        let mut pos = 0usize;
        while pos < input.len() {
            if counter > max_records {
                pick(&mut self.dirs, dir).reset_record();
                self.raise(TlsEvent::TooManyRecordsInPacket);
                return Run::Error;
            }
            let rest = input.get(pos..).unwrap_or_default();
            if pick(&mut self.dirs, dir).bytes_processed == 0 {
                let first = rest.first().copied().unwrap_or(0);
                let conn = self.session.side_mut(dir);
                if first & 0xc0 != 0 {
                    // Only SSLv2 framing sets one of the top two bits.
                    conn.version = SSL_V2;
                } else if conn.version == SSL_V2 {
                    conn.version = VERSION_UNKNOWN;
                }
            }
            let r = if self.session.side(dir).version == SSL_V2 {
                let r = self.sslv2(dir, rest);
                if matches!(r, Rec::Err) {
                    // Suricata adds this generic event to every SSLv2 record error.
                    self.raise(TlsEvent::InvalidSslRecord);
                }
                r
            } else {
                self.sslv3(dir, rest)
            };
            match r {
                Rec::Ok(n) => pos = pos.saturating_add(n),
                Rec::NeedHeader { need, incomplete } => {
                    return if incomplete {
                        Run::Incomplete {
                            consumed: pos,
                            need,
                        }
                    } else {
                        Run::Done {
                            consumed: pos,
                            need,
                        }
                    };
                }
                Rec::NeedBody { consumed, need } => {
                    return Run::Incomplete {
                        consumed: pos.saturating_add(consumed),
                        need,
                    }
                }
                Rec::DropRest => return Run::DropRest,
                Rec::Err => {
                    pick(&mut self.dirs, dir).reset_record();
                    return Run::Error;
                }
            }
            counter = counter.saturating_add(1);
        }
        Run::Done {
            consumed: pos,
            need: 0,
        }
    }

    /// One SSLv2 record (or what is left of it).
    fn sslv2(&mut self, dir: Direction, input: &[u8]) -> Rec {
        let mut parsed = 0usize;
        let bp_entry = pick(&mut self.dirs, dir).bytes_processed;
        if bp_entry == 0 {
            let b0 = input.first().copied().unwrap_or(0);
            let rll: u32 = if b0 & 0x80 != 0 { 2 } else { 3 };
            let hdr: usize = if rll == 2 { 3 } else { 4 };
            // 2-byte header: 15-bit length; 3-byte header: 14-bit length and a padding byte.
            // The message type byte follows.
            let (len, ct) = match (rll, input) {
                (2, &[h0, h1, ct, ..]) => (u16::from_be_bytes([h0 & 0x7f, h1]), ct),
                (3, &[h0, h1, _, ct, ..]) => (u16::from_be_bytes([h0 & 0x3f, h1]), ct),
                _ => {
                    // Suricata parses these bytes as they come and then finds the record
                    // incomplete unless the length it has read so far is zero.
                    let mask = if rll == 2 { 0x7f } else { 0x3f };
                    let partial_len = match input {
                        [h0] => u32::from(h0 & mask) << 8,
                        [h0, h1, ..] => u32::from(u16::from_be_bytes([h0 & mask, *h1])),
                        [] => 0,
                    };
                    let have = u32::try_from(input.len()).unwrap_or(u32::MAX);
                    return Rec::NeedHeader {
                        need: hdr,
                        incomplete: rll.saturating_add(partial_len) > have,
                    };
                }
            };
            let len = u32::from(len);
            let d = pick(&mut self.dirs, dir);
            d.rll = rll;
            d.record_length = len;
            d.content_type = ct;
            d.bytes_processed = rll.saturating_add(1);
            self.session.side_mut(dir).version = SSL_V2;
            parsed = hdr;
        }
        let d = pick(&mut self.dirs, dir);
        let (rll, record_length, bp, ct) =
            (d.rll, d.record_length, d.bytes_processed, d.content_type);
        let avail = input.len().saturating_sub(parsed);
        let total = rll.saturating_add(record_length) as usize;
        if total > avail.saturating_add(bp as usize) {
            return Rec::NeedBody {
                consumed: parsed,
                need: total.saturating_sub(bp as usize),
            };
        }
        if avail == 0 {
            return Rec::Ok(parsed);
        }
        if ct == SSLV2_MT_CLIENT_HELLO && record_length != 0 && avail < 6 {
            // Suricata reads the hello's 6 fixed bytes even past a shorter record, so what it
            // finds depends on what data is at hand; waiting for them keeps the outcome
            // independent of slicing (identical whenever Suricata had them).
            return Rec::NeedBody {
                consumed: parsed,
                need: 6,
            };
        }
        if record_length == 0 {
            self.raise(TlsEvent::InvalidSslv2Header);
            return Rec::Err;
        }
        let body = input.get(parsed..).unwrap_or_default();
        let flags = &mut self.session.flags;
        match ct {
            SSLV2_MT_ERROR => self.events.raise(TlsEvent::ErrorMessageEncountered),
            SSLV2_MT_CLIENT_HELLO => {
                // version, cipher spec length, session id length (challenge length follows).
                let &[v0, v1, _, _, s0, s1, ..] = body else {
                    self.events.raise(TlsEvent::InvalidSslRecord);
                    return Rec::Err;
                };
                flags.set(SslFlags::STATE_CLIENT_HELLO | SslFlags::SSL_CLIENT_HS);
                self.session.current_state = SslFlags::STATE_CLIENT_HELLO;
                let version = u16::from_be_bytes([v0, v1]);
                let sid_len = u16::from_be_bytes([s0, s1]);
                if sid_len == 0 {
                    flags.set(SslFlags::SSL_NO_SESSION_ID);
                }
                self.session.side_mut(dir).version = version;
            }
            SSLV2_MT_CLIENT_MASTER_KEY => flags.set(SslFlags::SSL_CLIENT_MASTER_KEY),
            SSLV2_MT_CLIENT_CERTIFICATE
            | SSLV2_MT_SERVER_VERIFY
            | SSLV2_MT_SERVER_FINISHED
            | SSLV2_MT_CLIENT_FINISHED
            | SSLV2_MT_REQUEST_CERTIFICATE => {
                if ct == SSLV2_MT_CLIENT_CERTIFICATE && dir == Direction::ToServer {
                    flags.set(SslFlags::STATE_CLIENT_KEYX);
                    self.session.current_state = SslFlags::STATE_CLIENT_KEYX;
                }
                if flags.has(SslFlags::SSL_CLIENT_HS | SslFlags::SSL_SERVER_HS) {
                    match dir {
                        Direction::ToServer => {
                            if flags
                                .any(SslFlags::SSL_NO_SESSION_ID | SslFlags::SSL_CLIENT_MASTER_KEY)
                            {
                                flags.set(SslFlags::SSL_CLIENT_SSN_ENCRYPTED);
                            }
                        }
                        Direction::ToClient => flags.set(SslFlags::SSL_SERVER_SSN_ENCRYPTED),
                    }
                    if flags.has(
                        SslFlags::SSL_CLIENT_SSN_ENCRYPTED | SslFlags::SSL_SERVER_SSN_ENCRYPTED,
                    ) && self.cfg.encryption_handling == EncryptionHandling::Bypass
                    {
                        self.bypassed = true;
                    }
                }
            }
            SSLV2_MT_SERVER_HELLO => {
                flags.set(SslFlags::STATE_SERVER_HELLO | SslFlags::SSL_SERVER_HS);
                self.session.current_state = SslFlags::STATE_SERVER_HELLO;
            }
            _ => {}
        }
        // Skip to the end of the record.
        // Resume at the declared end of the record. When the fixed ClientHello fields ran past
        // a record shorter than them, Suricata's unsigned arithmetic wraps back to that same
        // point (its result is truncated to 32 bits), so the next record starts there too.
        let end = rll.saturating_add(record_length);
        parsed = end.saturating_sub(bp_entry) as usize;
        pick(&mut self.dirs, dir).reset_record();
        Rec::Ok(parsed)
    }

    /// One SSLv3+ record (or what is left of it).
    fn sslv3(&mut self, dir: Direction, input: &[u8]) -> Rec {
        let mut parsed = 0usize;
        let record_len: usize;
        if pick(&mut self.dirs, dir).bytes_processed < HDR_LEN {
            let Some(h) = input.get(..HDR_LEN as usize) else {
                return Rec::NeedHeader {
                    need: HDR_LEN as usize,
                    incomplete: false,
                };
            };
            let Ok((_, hdr)) = parse_tls_record_header(h) else {
                // Cannot happen with five bytes; Suricata's event for a header it cannot read.
                self.raise(TlsEvent::InvalidTlsHeader);
                return Rec::Err;
            };
            let (ct, ver, len) = (hdr.record_type.0, hdr.version.0, u32::from(hdr.len));
            let flags = self.session.flags;
            let prev_version = self.session.side(dir).version;
            // Once a hello set this side's version, record headers no longer change it.
            let hello_flag = match dir {
                Direction::ToServer => SslFlags::STATE_CLIENT_HELLO,
                Direction::ToClient => SslFlags::STATE_SERVER_HELLO,
            };
            let skip_version = flags.has(hello_flag) && prev_version != VERSION_UNKNOWN;
            if !skip_version {
                self.session.side_mut(dir).version = ver;
            }
            let d = pick(&mut self.dirs, dir);
            d.content_type = ct;
            d.record_length = len;
            d.bytes_processed = HDR_LEN;
            parsed = HDR_LEN as usize;
            record_len = input.len().saturating_sub(parsed).min(len as usize);

            let known = matches!(
                ct,
                CT_CHANGE_CIPHER_SPEC
                    | CT_ALERT
                    | CT_HANDSHAKE
                    | CT_APPLICATION_DATA
                    | CT_HEARTBEAT
            );
            if !known {
                self.raise(TlsEvent::InvalidRecordType);
                if prev_version == TLS_V10 || prev_version == TLS_V11 {
                    // Tolerated for TLS 1.0/1.1 (as Wireshark does): like Suricata, drop the
                    // rest of the data at hand and start over with the next data.
                    self.session.side_mut(dir).version = prev_version;
                    pick(&mut self.dirs, dir).reset_record();
                    return Rec::DropRest;
                }
                return Rec::Err;
            }
            if len == 0 {
                self.raise(TlsEvent::InvalidRecordLength);
                return Rec::Err;
            }
            if !version::is_valid(self.session.side(dir).version) {
                self.raise(TlsEvent::InvalidRecordVersion);
                return Rec::Err;
            }
            if len > MAX_RECORD_LEN {
                self.raise(TlsEvent::InvalidRecordLength);
                return Rec::Err;
            }
        } else {
            let d = pick(&mut self.dirs, dir);
            let left = d
                .record_length
                .saturating_add(HDR_LEN)
                .saturating_sub(d.bytes_processed) as usize;
            record_len = input.len().min(left);
        }
        let d = pick(&mut self.dirs, dir);
        let (ct, record_length) = (d.content_type, d.record_length);
        let avail = input.len().saturating_sub(parsed);
        if record_length as usize > avail && ct != CT_APPLICATION_DATA {
            return Rec::NeedBody {
                consumed: parsed,
                need: record_length as usize,
            };
        }
        if record_len == 0 {
            return Rec::Ok(parsed);
        }
        let body = input
            .get(parsed..parsed.saturating_add(record_len))
            .unwrap_or_default();
        match ct {
            CT_CHANGE_CIPHER_SPEC => {
                let side = match dir {
                    Direction::ToServer => SslFlags::CLIENT_CHANGE_CIPHER_SPEC,
                    Direction::ToClient => SslFlags::SERVER_CHANGE_CIPHER_SPEC,
                };
                self.session.flags.set(SslFlags::CHANGE_CIPHER_SPEC | side);
            }
            CT_ALERT => {}
            CT_APPLICATION_DATA => {
                let f = &mut self.session.flags;
                // 0-RTT data may come before the ServerHello: not a finished handshake.
                if !f.has(SslFlags::EARLY_DATA) || f.has(SslFlags::STATE_SERVER_HELLO) {
                    f.set(SslFlags::HANDSHAKE_DONE);
                    if self.cfg.encryption_handling == EncryptionHandling::Bypass {
                        self.bypassed = true;
                    }
                }
            }
            CT_HANDSHAKE => {
                if let Some(r) = self.handshake_record(dir, body, record_length) {
                    return r;
                }
            }
            CT_HEARTBEAT => {
                if self.heartbeat(dir, body, record_length).is_err() {
                    return Rec::Err;
                }
            }
            _ => return Rec::Err,
        }
        parsed = parsed.saturating_add(record_len);
        let d = pick(&mut self.dirs, dir);
        d.bytes_processed = d
            .bytes_processed
            .saturating_add(u32::try_from(record_len).unwrap_or(u32::MAX));
        if d.bytes_processed >= d.record_length.saturating_add(HDR_LEN) {
            d.reset_record();
        }
        Rec::Ok(parsed)
    }

    /// A whole handshake record. `Some` ends the record with that result.
    fn handshake_record(&mut self, dir: Direction, body: &[u8], record_length: u32) -> Option<Rec> {
        let f = self.session.flags;
        if f.has(SslFlags::CHANGE_CIPHER_SPEC) {
            // After ChangeCipherSpec handshake records are encrypted, except in TLS 1.3 where
            // CCS is only middlebox camouflage before the ServerHello.
            let tls13_ccs = f.has(SslFlags::STATE_CLIENT_HELLO)
                && self.session.client.version > TLS_V12
                && !f.has(SslFlags::STATE_SERVER_HELLO);
            if !tls13_ccs {
                return None;
            }
        }
        if record_length < 4 {
            pick(&mut self.dirs, dir).reset_record();
            self.raise(TlsEvent::InvalidSslRecord);
            return Some(Rec::Err);
        }
        if self.handshake_messages(dir, body).is_err() {
            self.raise(TlsEvent::InvalidHandshakeMessage);
            return Some(Rec::Err);
        }
        None
    }

    /// The handshake messages of one record, with defragmentation across records.
    fn handshake_messages(&mut self, dir: Direction, mut input: &[u8]) -> Result<(), ()> {
        while !input.is_empty() {
            let cap = self.cfg.caps.max_handshake_message;
            if let Some(frag) = pick(&mut self.dirs, dir).hs.as_mut() {
                let need = frag.size.saturating_sub(frag.got);
                let add = need.min(input.len());
                let (now, rest) = input.split_at(add);
                frag.got = frag.got.saturating_add(add);
                input = rest;
                let mut overflow = false;
                if !frag.skipping {
                    if frag.got > cap {
                        // The cap is hit only when that much data really arrived.
                        frag.skipping = true;
                        frag.data = Vec::new();
                        overflow = true;
                    } else {
                        frag.data.extend_from_slice(now);
                    }
                }
                let done = frag.got >= frag.size;
                if overflow {
                    self.raise(TlsEvent::HandshakeMessageTooLong);
                }
                if done {
                    if let Some(frag) = pick(&mut self.dirs, dir).hs.take() {
                        if !frag.skipping {
                            self.handshake_message(dir, frag.msg_type, &frag.data);
                        }
                    }
                }
                continue;
            }
            let &[msg_type, l0, l1, l2, ref body @ ..] = input else {
                self.raise(TlsEvent::InvalidSslRecord);
                return Err(());
            };
            let len = u32::from_be_bytes([0, l0, l1, l2]) as usize;
            input = body;
            if !supported_handshake(msg_type) {
                let skip = len.min(input.len());
                input = input.get(skip..).unwrap_or_default();
                let ccs = match dir {
                    Direction::ToServer => SslFlags::CLIENT_CHANGE_CIPHER_SPEC,
                    Direction::ToClient => SslFlags::SERVER_CHANGE_CIPHER_SPEC,
                };
                // After ChangeCipherSpec this is an encrypted message, not an anomaly.
                if !self.session.flags.has(ccs) {
                    self.raise(TlsEvent::InvalidHandshakeMessage);
                }
                continue;
            }
            if len > input.len() {
                // The message continues in later records: collect it. The buffer grows with
                // the data actually received, never past the cap.
                let cap = self.cfg.caps.max_handshake_message;
                let skipping = input.len() > cap;
                if skipping {
                    self.raise(TlsEvent::HandshakeMessageTooLong);
                }
                let data = if skipping { Vec::new() } else { input.to_vec() };
                pick(&mut self.dirs, dir).hs = Some(HsFrag {
                    msg_type,
                    size: len,
                    got: input.len(),
                    data,
                    skipping,
                });
                return Ok(());
            }
            let (msg, rest) = input.split_at(len);
            self.handshake_message(dir, msg_type, msg);
            input = rest;
        }
        Ok(())
    }

    /// One complete handshake message.
    fn handshake_message(&mut self, dir: Direction, msg_type: u8, msg: &[u8]) {
        if msg.is_empty() {
            // Suricata ignores an empty message body entirely (not even its state flag).
            return;
        }
        let hcfg = HelloCfg {
            ja3: self.cfg.ja3,
            ja4: self.cfg.ja4 || self.cfg.inspect,
        };
        self.events.dir = Some(dir);
        match msg_type {
            HS_CLIENT_HELLO => {
                self.session.current_state = SslFlags::STATE_CLIENT_HELLO;
                hello::parse_hello(&mut self.session, dir, false, hcfg, &mut self.events, msg);
                self.session.flags.set(SslFlags::STATE_CLIENT_HELLO);
            }
            HS_SERVER_HELLO => {
                self.session.current_state = SslFlags::STATE_SERVER_HELLO;
                hello::parse_hello(&mut self.session, dir, true, hcfg, &mut self.events, msg);
                self.session.flags.set(SslFlags::STATE_SERVER_HELLO);
            }
            HS_SERVER_KEY_EXCHANGE => {
                self.session.current_state = SslFlags::STATE_SERVER_KEYX;
                self.session.flags.set(SslFlags::STATE_SERVER_KEYX);
            }
            HS_CLIENT_KEY_EXCHANGE => {
                self.session.current_state = SslFlags::STATE_CLIENT_KEYX;
                self.session.flags.set(SslFlags::STATE_CLIENT_KEYX);
            }
            HS_CERTIFICATE => {
                let caps = self.cfg.caps;
                let conn = match dir {
                    Direction::ToServer => &mut self.session.client,
                    Direction::ToClient => &mut self.session.server,
                };
                let st = &mut pick(&mut self.dirs, dir).certs;
                hello::parse_certificates(conn, st, &caps, &mut self.events, msg);
            }
            HS_CERTIFICATE_REQUEST if dir == Direction::ToClient => {
                self.session.flags.set(SslFlags::NEED_CLIENT_CERT);
            }
            _ => {}
        }
    }

    /// A whole heartbeat record (RFC 6520), with Suricata's heartbleed checks.
    fn heartbeat(&mut self, dir: Direction, input: &[u8], record_length: u32) -> Result<(), ()> {
        let &[hb_type, p0, p1, ..] = input else {
            return Ok(());
        };
        let f = &mut self.session.flags;
        let ccs = f.has(SslFlags::CHANGE_CIPHER_SPEC);
        if !ccs && hb_type != HB_REQUEST && hb_type != HB_RESPONSE {
            self.events.raise(TlsEvent::InvalidHeartbeat);
            return Err(());
        }
        let this_init = match dir {
            Direction::ToServer => SslFlags::HB_CLIENT_INIT,
            Direction::ToClient => SslFlags::HB_SERVER_INIT,
        };
        if !f.has(SslFlags::HB_INFLIGHT) {
            f.set(SslFlags::HB_INFLIGHT | this_init);
            if ccs {
                // Encrypted request: remember its size to compare with the response.
                self.hb_record_len = record_length;
                return Ok(());
            }
            let payload_len = u32::from(u16::from_be_bytes([p0, p1]));
            let Some(padding) = record_length.checked_sub(payload_len.saturating_add(3)) else {
                self.events.raise(TlsEvent::OverflowHeartbeat);
                return Err(());
            };
            if padding < 16 {
                self.events.raise(TlsEvent::InvalidHeartbeat);
                return Err(());
            }
        } else if f.has(this_init) {
            // A second heartbeat from the same side while one is in flight.
            self.events.raise(TlsEvent::InvalidHeartbeat);
            return Err(());
        } else {
            f.clear(SslFlags::HB_INFLIGHT | SslFlags::HB_CLIENT_INIT | SslFlags::HB_SERVER_INIT);
            if ccs && self.hb_record_len > 0 && self.hb_record_len < record_length {
                // Response larger than the request: heartbleed.
                self.events.raise(TlsEvent::DataleakHeartbeatMismatch);
                self.hb_record_len = 0;
                return Err(());
            }
            self.hb_record_len = 0;
        }
        Ok(())
    }

    /// Suricata's end-of-`SSLDecode` check: the handshake is done once the certificate that
    /// completes it (the client's when the server asked for one, else the server's) is in.
    fn check_handshake_done(&mut self) {
        let s = &mut self.session;
        let done = if s.flags.has(SslFlags::NEED_CLIENT_CERT) {
            s.client.cert.is_some()
        } else {
            s.server.cert.is_some()
        };
        if done {
            s.flags.set(SslFlags::HANDSHAKE_DONE);
        }
    }
}

impl StreamParser for TlsState {
    fn take_inspect(&mut self, out: &mut Vec<AppOutput>) {
        if let Some(snap) = self.unlogged.take() {
            let body = snap.alert_tls().cloned().map(|t| Body::Tls(Box::new(t)));
            if let Some(body) = body {
                out.push(AppOutput {
                    body,
                    tx_id: Some(0),
                    dir: Direction::ToServer,
                    inspect: Some(snap as Box<dyn TxBuffers>),
                });
            }
        }
    }

    fn parse(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppOutput>) -> ParseStatus {
        if self.failed {
            return ParseStatus::Error;
        }
        if self.bypassed || data.is_empty() {
            return ParseStatus::Ok;
        }
        self.events.dir = Some(dir);
        let r = self.feed(dir, data);
        self.events.dir = None;
        match r {
            Ok(incomplete) => {
                if !incomplete {
                    self.check_handshake_done();
                }
                self.drain_events(out);
                let _ = self.maybe_log(false, out);
                ParseStatus::Ok
            }
            Err(()) => {
                self.fail(out);
                ParseStatus::Error
            }
        }
    }

    fn gap(&mut self, _dir: Direction, _len: u64, out: &mut Vec<AppOutput>) {
        // Suricata's TLS parser does not accept gaps: the flow's app-layer parsing stops (no
        // anomaly of its own), and the pending record is written if there is one.
        if self.failed {
            return;
        }
        self.fail(out);
    }

    fn eof(&mut self, _dir: Direction, out: &mut Vec<AppOutput>) {
        // Suricata marks the session finished when either side closes, and its logger then
        // writes the pending record.
        if self.failed {
            return;
        }
        self.session.flags.set(SslFlags::STATE_FINISHED);
        let _ = self.maybe_log(true, out);
    }

    fn flush(&mut self, out: &mut Vec<AppOutput>) {
        self.drain_events(out);
        let _ = self.maybe_log(true, out);
    }
}
