//! The connection parser: libhtp's request and response state machines, rewritten.
//!
//! Each direction is a state machine fed in-order bytes. A state either consumes bytes and moves
//! on, or asks for more data; partial lines are kept in a per-direction line buffer bounded by
//! [`HttpConfig::field_limit`]. Like libhtp, a few decisions look at "the rest of the current
//! chunk" (what follows a finished request or response in the same segment, whether anything
//! but a little whitespace follows a protocol-less request line, request bytes after an
//! HTTP/0.9 request, the chunk a failing decompressor restarts on): one `parse` call is one
//! chunk, exactly as one `htp_connp_req_data` call is in Suricata. Those decisions are the only
//! places where slicing matters; everything else gives the same result for any slicing.
//!
//! Transactions live in a deque indexed by id. The request side creates them; the response side
//! matches them in order, and creates an orphan transaction (URI
//! `/libhtp::request_uri_not_seen`) for a response nobody asked for.

use std::collections::VecDeque;
use std::sync::Arc;

use events::anomaly::AnomalyEve;
use events::app::{AppOutput, ParseStatus, StreamParser};
use events::fileinfo::{FileInfo, FileinfoEve};
use events::inspect::TxBuffers;
use events::{lossy_string, Body as EveBody};
use types::Direction;

use crate::config::HttpConfig;
use crate::decompress::{Chain, Coding as CeCoding, DecompressEvent};
use crate::event::HttpEvent;
use crate::files::{multipart_boundary, FileState, HttpFile, MpAction, Multipart};
use crate::inspect::HttpTxBuffers;
use crate::range::RangeBlock;
use crate::tx::{hflags, txflags, Coding, Header, HttpTx, Progress};
use crate::uri::{content_disposition_param, parse_header_hostport, parse_uri};
use crate::util::{
    chomp, eq_nocase_norzero, find_nocase, find_nocase_norzero, is_folding_char, is_line_folded,
    is_line_terminator, is_lws, is_space, is_token, method_number, parse_chunked_length,
    parse_content_length, parse_protocol, parse_status, proto, treat_response_line_as_body,
    ChunkLen, Method, CR, LF,
};
use crate::APP_PROTO;

/// Anomalies reported per flow (Suricata `HTP_MAX_MESSAGES`); past it, one
/// `TOO_MANY_WARNINGS` and silence.
pub const MAX_EVENTS_PER_FLOW: usize = 512;
/// Most request-side snapshots waiting for [`StreamParser::take_inspect`]; past it the
/// oldest is dropped (its side is still inspected from the snapshot of the logged
/// transaction).
pub const MAX_EARLY_INSPECT: usize = 64;
/// Repetitions of one header merged into its value (libhtp `HTP_MAX_HEADERS_REPETITIONS`).
pub const MAX_HEADER_REPETITIONS: u32 = 64;
/// Decoding layers ever chained, whatever the configuration says.
pub const MAX_DECOMPRESS_LAYERS: usize = 8;

/// Bytes after a protocol-less request line, in the same chunk, that still let it be
/// HTTP/0.9 when they are all whitespace (libhtp `HTTP09_MAX_JUNK_LEN`; checked against
/// Suricata 7.0.10: 16 spaces keep 0.9, 17 do not).
const HTTP09_MAX_JUNK_LEN: usize = 16;

/// URI libhtp gives a transaction created for a response without a request.
const REQUEST_URI_NOT_SEEN: &[u8] = b"/libhtp::request_uri_not_seen";

/// Stream status of one direction (libhtp `HTP_STREAM_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Data,
    DataOther,
    Tunnel,
    Error,
    Closed,
}

/// State-function outcome (libhtp `HTP_OK`, `HTP_DATA`, `HTP_DATA_OTHER`, `HTP_ERROR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rc {
    Ok,
    Data,
    DataOther,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqState {
    Idle,
    Line,
    Protocol,
    Headers,
    ConnectCheck,
    ConnectWaitResponse,
    ConnectProbeData,
    BodyDetermine,
    ChunkedLength,
    ChunkedData,
    ChunkedDataEnd,
    BodyIdentity,
    Finalize,
    Ignore09,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResState {
    Idle,
    Line,
    Headers,
    BodyDetermine,
    ChunkedLength,
    ChunkedData,
    ChunkedDataEnd,
    ClKnown,
    StreamClose,
    Finalize,
}

/// What the flow turned into after HTTP, for the pipeline to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upgrade {
    /// A CONNECT tunnel carries something that is not HTTP: detect the protocol again.
    Tunnel,
    /// `101 Switching Protocols` to WebSocket.
    WebSocket,
    /// `101 Switching Protocols` to HTTP/2 cleartext.
    H2c,
    /// `101` to something else: stop parsing.
    Other,
}

/// Which file of a transaction.
#[derive(Debug, Clone, Copy)]
enum FileSlot {
    Request(usize),
    Response,
    Range,
}

impl FileSlot {
    fn get(self, tx: &HttpTx) -> Option<&HttpFile> {
        match self {
            FileSlot::Request(i) => tx.request_files.get(i),
            FileSlot::Response => tx.response_file.as_ref(),
            FileSlot::Range => tx.range_file.as_ref(),
        }
    }
    fn get_mut(self, tx: &mut HttpTx) -> Option<&mut HttpFile> {
        match self {
            FileSlot::Request(i) => tx.request_files.get_mut(i),
            FileSlot::Response => tx.response_file.as_mut(),
            FileSlot::Range => tx.range_file.as_mut(),
        }
    }
}

/// Per-direction input cursor over one chunk.
struct Cur<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cur<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }
    fn rest(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.remaining());
        let s = self.data.get(self.pos..self.pos + n).unwrap_or(&[]);
        self.pos += n;
        s
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }
}

/// One direction's parser memory.
#[derive(Debug, Default)]
struct Side {
    /// Bytes of the current line buffered so far.
    line: Vec<u8>,
    /// Part of `line` that came from earlier chunks.
    line_prev: usize,
    /// Header waiting for possible folded continuation lines.
    header: Option<Vec<u8>>,
    /// The pending header already spans several lines.
    header_folded: bool,
    /// Bytes left in the current chunk / identity body.
    body_left: i64,
    /// Content-Length of the current message (-1 unknown).
    content_length: i64,
    /// Current transaction id.
    tx: Option<u64>,
}

impl Side {
    fn clear_line(&mut self) {
        self.line.clear();
        self.line_prev = 0;
    }
}

/// The HTTP/1.x parser state of one flow, and its live transactions.
#[derive(Debug)]
pub struct HttpState {
    cfg: Arc<HttpConfig>,
    txs: VecDeque<HttpTx>,
    first_id: u64,
    next_id: u64,
    req_state: ReqState,
    res_state: ResState,
    in_status: Status,
    out_status: Status,
    req: Side,
    res: Side,
    out_next_tx: u64,
    out_data_other_at_tx_end: bool,
    decomp: Option<Chain>,
    /// Request body decoder (Content-Encoding of the current request).
    req_decomp: Option<Chain>,
    /// The current response's share in a byte-range container.
    res_range: Option<RangeBlock>,
    multipart: Option<Multipart>,
    events: usize,
    dead: bool,
    upgrade: Option<Upgrade>,
    /// The first tunnel bytes of a CONNECT, for the caller to detect the tunnelled protocol.
    replay: Option<(Direction, Vec<u8>)>,
    req_gap: bool,
    res_gap: bool,
    /// With `inspect`: snapshots of transactions whose request completed before the
    /// transaction could be logged, for [`StreamParser::take_inspect`].
    early: Vec<AppOutput>,
    /// The transaction whose response head was last snapshotted.
    res_snapped: Option<u64>,
}

impl Default for HttpState {
    fn default() -> Self {
        HttpState::new(Arc::new(HttpConfig::default()))
    }
}

/// Output sink plus the direction of the data being parsed.
struct Out<'a> {
    out: &'a mut Vec<AppOutput>,
    dir: Direction,
}

impl HttpState {
    /// A parser for a new flow.
    pub fn new(cfg: Arc<HttpConfig>) -> HttpState {
        HttpState {
            cfg,
            txs: VecDeque::new(),
            first_id: 0,
            next_id: 0,
            req_state: ReqState::Idle,
            res_state: ResState::Idle,
            in_status: Status::Data,
            out_status: Status::Data,
            req: Side::default(),
            res: Side::default(),
            out_next_tx: 0,
            out_data_other_at_tx_end: false,
            decomp: None,
            req_decomp: None,
            res_range: None,
            multipart: None,
            events: 0,
            dead: false,
            upgrade: None,
            replay: None,
            req_gap: false,
            res_gap: false,
            early: Vec::new(),
            res_snapped: None,
        }
    }

    /// Live transactions, oldest first. Logged, finished transactions are dropped.
    pub fn txs(&self) -> impl Iterator<Item = &HttpTx> {
        self.txs.iter()
    }

    /// The transaction with this id, while it is live.
    pub fn tx(&self, id: u64) -> Option<&HttpTx> {
        let idx = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.txs.get(idx)
    }

    /// Transactions created so far (the next `tx_id`).
    pub fn tx_count(&self) -> u64 {
        self.next_id
    }

    /// Set when the connection stopped being HTTP (CONNECT tunnel, 101 upgrade).
    pub fn upgrade(&self) -> Option<Upgrade> {
        self.upgrade
    }

    fn tx_mut(&mut self, id: u64) -> Option<&mut HttpTx> {
        let idx = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.txs.get_mut(idx)
    }

    // ----- outputs -------------------------------------------------------------------------

    fn event(&mut self, tx: Option<u64>, ev: HttpEvent, o: &mut Out<'_>) {
        if self.events >= MAX_EVENTS_PER_FLOW {
            return;
        }
        self.events += 1;
        let ev = if self.events == MAX_EVENTS_PER_FLOW {
            HttpEvent::TooManyWarnings
        } else {
            ev
        };
        // Suricata (IDS mode) parses one direction when the other side's ACK arrives, so the
        // packet that logs a parser anomaly travels the opposite way.
        o.out.push(AppOutput {
            body: EveBody::Anomaly(AnomalyEve::applayer(APP_PROTO, ev.name())),
            tx_id: tx.or_else(|| self.fallback_tx()),
            dir: o.dir.flip(),
            inspect: None,
        });
    }

    fn fallback_tx(&self) -> Option<u64> {
        self.next_id.checked_sub(1)
    }

    fn req_event(&mut self, ev: HttpEvent, o: &mut Out<'_>) {
        let t = self.req.tx;
        self.event(t, ev, o);
    }

    fn res_event(&mut self, ev: HttpEvent, o: &mut Out<'_>) {
        let t = self.res.tx;
        self.event(t, ev, o);
    }

    fn log_file(&self, tx: &HttpTx, f: &HttpFile, dir: Direction, o: &mut Out<'_>) {
        let fi = FileinfoEve {
            http: Some(tx.to_eve(&self.cfg)),
            fileinfo: FileInfo {
                filename: lossy_string(&f.name),
                sid: Vec::new(),
                magic: None,
                gaps: f.gaps,
                state: f.state.as_str(),
                md5: f.md5.clone(),
                sha1: f.sha1.clone(),
                sha256: f.sha256.clone(),
                stored: false,
                size: f.size,
                start: f.range.map(|r| r.0),
                end: f.range.map(|r| r.1),
                tx_id: tx.id,
            },
        };
        o.out.push(AppOutput {
            body: EveBody::Fileinfo(Box::new(fi)),
            tx_id: Some(tx.id),
            dir,
            inspect: None,
        });
    }

    /// Logs closed, unlogged files of a transaction.
    fn log_closed_files(&mut self, id: u64, o: &mut Out<'_>) {
        let Some(idx) = id
            .checked_sub(self.first_id)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return;
        };
        let Some(tx) = self.txs.get(idx) else {
            return;
        };
        let mut pending: Vec<FileSlot> = Vec::new();
        for (i, f) in tx.request_files.iter().enumerate() {
            if !f.logged && f.state != FileState::Open {
                pending.push(FileSlot::Request(i));
            }
        }
        if tx
            .response_file
            .as_ref()
            .is_some_and(|f| !f.logged && f.state != FileState::Open)
        {
            pending.push(FileSlot::Response);
        }
        if tx
            .range_file
            .as_ref()
            .is_some_and(|f| !f.logged && f.state != FileState::Open)
        {
            pending.push(FileSlot::Range);
        }
        for slot in pending {
            let dir = match slot {
                FileSlot::Request(_) => Direction::ToServer,
                FileSlot::Response | FileSlot::Range => Direction::ToClient,
            };
            if let Some(tx) = self.txs.get(idx) {
                if let Some(f) = slot.get(tx) {
                    self.log_file(tx, f, dir, o);
                }
            }
            if let Some(f) = self.txs.get_mut(idx).and_then(|tx| slot.get_mut(tx)) {
                f.logged = true;
            }
        }
    }

    /// Closes the response file (`state` says how), hands its range to the byte-range
    /// container, attaches a whole file that range completed, and logs them.
    fn close_response_file(&mut self, id: u64, state: FileState, o: &mut Out<'_>) {
        let block = self.res_range.take();
        if let Some(tx) = self.tx_mut(id) {
            if let Some(f) = tx.response_file.as_mut() {
                f.close(state);
            }
        }
        if let Some(b) = block {
            if let Some(whole) = b.close(state == FileState::Truncated) {
                if let Some(tx) = self.tx_mut(id) {
                    if tx.range_file.is_none() {
                        tx.range_file = Some(whole);
                    }
                }
            }
        }
        self.log_closed_files(id, o);
    }

    /// Logs the transaction when both sides are complete.
    fn maybe_log_tx(&mut self, id: u64, o: &mut Out<'_>) {
        let cfg = Arc::clone(&self.cfg);
        let Some(tx) = self.tx_mut(id) else { return };
        if tx.logged || !tx.is_complete() {
            return;
        }
        tx.logged = true;
        let eve = tx.to_eve(&cfg);
        let at = o.out.len();
        o.out.push(AppOutput {
            body: EveBody::Http(Box::new(eve)),
            tx_id: Some(id),
            dir: Direction::ToServer,
            inspect: None,
        });
        let gone = self.retire_keeping(Some(id));
        if cfg.inspect {
            // The transaction moves into its snapshot when it just left the deque; otherwise
            // its bodies move and the head is copied.
            let snap = gone.or_else(|| self.tx_mut(id).map(HttpTx::inspection_copy));
            if let (Some(t), Some(out)) = (snap, o.out.get_mut(at)) {
                out.inspect = Some(Box::new(HttpTxBuffers::new(t)));
            }
        }
    }

    /// With `inspect`: once the current response's headers are in (its body may follow for
    /// long), snapshot the transaction so that rules on the status and response headers are
    /// inspected then, as Suricata does; once per response.
    fn snapshot_response_head(&mut self) {
        let Some(id) = self.res.tx else { return };
        if self.res_snapped == Some(id) {
            return;
        }
        let head_done = self
            .tx_mut(id)
            .is_some_and(|t| matches!(t.response_progress, Progress::Body | Progress::Trailer));
        if head_done {
            self.res_snapped = Some(id);
            self.snapshot_request(id);
        }
    }

    /// With `inspect`: Suricata inspects a request once it is complete, before its response;
    /// keep a snapshot of the transaction as it is now (a copy: the transaction goes on)
    /// unless it is about to be logged, which snapshots it anyway. Also used for a response
    /// whose head is complete.
    fn snapshot_request(&mut self, id: u64) {
        let cfg = Arc::clone(&self.cfg);
        if !cfg.inspect {
            return;
        }
        let Some(tx) = self.tx_mut(id) else { return };
        if tx.logged || tx.is_complete() {
            return;
        }
        let out = AppOutput {
            body: EveBody::Http(Box::new(tx.to_eve(&cfg))),
            tx_id: Some(id),
            dir: Direction::ToServer,
            inspect: Some(Box::new(HttpTxBuffers::new(tx.clone()))),
        };
        if self.early.len() >= MAX_EARLY_INSPECT {
            self.early.remove(0);
        }
        self.early.push(out);
    }

    /// Drops finished transactions from the front of the deque.
    fn retire(&mut self) {
        let _ = self.retire_keeping(None);
    }

    /// [`HttpState::retire`], handing back the transaction `keep` if it was dropped.
    fn retire_keeping(&mut self, keep: Option<u64>) -> Option<HttpTx> {
        let mut kept = None;
        while let Some(front) = self.txs.front() {
            let id = front.id;
            let busy = self.req.tx == Some(id) || self.res.tx == Some(id) || id >= self.out_next_tx;
            let files_done = front.files().all(|f| f.logged);
            if front.logged && !busy && files_done {
                let tx = self.txs.pop_front();
                self.first_id = id.saturating_add(1);
                if keep == Some(id) {
                    kept = tx;
                }
            } else {
                break;
            }
        }
        kept
    }

    /// Flow end (or parser failure): truncate open files, log everything not yet logged.
    fn flush_all(&mut self, o: &mut Out<'_>) {
        let cfg = Arc::clone(&self.cfg);
        if let Some(id) = self.req.tx {
            let pending = self.multipart.as_mut().and_then(Multipart::take_pending);
            if let (Some(d), Some(f)) = (
                pending,
                self.tx_mut(id).and_then(|t| t.request_files.last_mut()),
            ) {
                f.append(&d);
            }
        }
        // Suricata frees a pending range when the flow's transactions are freed: its bytes go to
        // the container, but a whole file completed then is never logged.
        if let Some(b) = self.res_range.take() {
            drop(b.close(true));
        }
        let ids: Vec<u64> = self.txs.iter().map(|t| t.id).collect();
        for id in ids {
            if let Some(tx) = self.tx_mut(id) {
                for f in tx.request_files.iter_mut() {
                    f.close(FileState::Truncated);
                }
                if let Some(f) = tx.response_file.as_mut() {
                    f.close(FileState::Truncated);
                }
            }
            self.log_closed_files(id, o);
            if let Some(tx) = self.tx_mut(id) {
                if !tx.logged {
                    tx.logged = true;
                    let eve = tx.to_eve(&cfg);
                    // The parser is done with the flow: the transaction moves into its
                    // snapshot, an empty logged placeholder keeps its place.
                    let inspect = cfg.inspect.then(|| {
                        let mut gone = HttpTx::new(id);
                        gone.logged = true;
                        let t = std::mem::replace(tx, gone);
                        Box::new(HttpTxBuffers::new(t)) as Box<dyn TxBuffers>
                    });
                    o.out.push(AppOutput {
                        body: EveBody::Http(Box::new(eve)),
                        tx_id: Some(id),
                        dir: Direction::ToServer,
                        inspect,
                    });
                }
            }
        }
    }

    /// A direction failed: Suricata disables the app layer for the flow and treats it as ended.
    fn fail(&mut self, o: &mut Out<'_>) {
        if self.dead {
            return;
        }
        self.dead = true;
        self.flush_all(o);
    }

    // ----- transactions --------------------------------------------------------------------

    fn create_tx(&mut self, o: &mut Out<'_>) -> Option<u64> {
        let _ = o;
        if self.txs.len() >= self.cfg.max_tx.max(1) {
            return None;
        }
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.txs.push_back(HttpTx::new(id));
        Some(id)
    }

    // ----- body handling (Suricata's callbacks) --------------------------------------------

    /// Raw request body bytes (libhtp `htp_tx_req_process_body_data_ex`): counted, decoded
    /// when the request has a Content-Encoding, then handed on.
    fn request_body_data(&mut self, data: &[u8], o: &mut Out<'_>) {
        let Some(id) = self.req.tx else { return };
        let Some(tx) = self.tx_mut(id) else { return };
        tx.request_message_len = tx.request_message_len.saturating_add(data.len() as u64);
        if data.is_empty() {
            return;
        }
        match self.req_decomp.as_mut() {
            Some(chain) if !chain.is_empty() => {
                let mut evs = Vec::new();
                let decoded = chain.feed(data, self.cfg.decompress_limit, &mut evs);
                self.decompress_events(evs, true, o);
                self.request_body_decoded(&decoded, o);
            }
            _ => self.request_body_decoded(data, o),
        }
    }

    fn decompress_events(&mut self, evs: Vec<DecompressEvent>, request: bool, o: &mut Out<'_>) {
        for e in evs {
            let ev = match e {
                DecompressEvent::Failed => HttpEvent::GzipDecompressionFailed,
                DecompressEvent::Bomb => HttpEvent::CompressionBomb,
            };
            if request {
                self.req_event(ev, o);
            } else {
                self.res_event(ev, o);
            }
        }
    }

    /// End of the request body: the request decoders hand over what they still buffer.
    fn request_body_end(&mut self, o: &mut Out<'_>) {
        if let Some(chain) = self.req_decomp.as_mut() {
            let mut evs = Vec::new();
            let rest = chain.finish(self.cfg.decompress_limit, &mut evs);
            self.decompress_events(evs, true, o);
            self.request_body_decoded(&rest, o);
        }
        self.req_decomp = None;
    }

    /// Decoded request body bytes: inspection buffer, PUT/POST files, multipart parts.
    fn request_body_decoded(&mut self, data: &[u8], o: &mut Out<'_>) {
        let Some(id) = self.req.tx else { return };
        if data.is_empty() {
            return;
        }
        let limit = self.cfg.request_body_limit;
        let Some(tx) = self.tx_mut(id) else { return };
        let before = tx.request_body.total;
        if tx.request_body.append(data, limit) {
            self.req_event(HttpEvent::BodyKeptCap, o);
        }
        let Some(tx) = self.tx_mut(id) else { return };
        // The part of this chunk inside the limit is stored; anything past it truncates.
        let within = if limit == 0 {
            data.len()
        } else {
            usize::try_from(u64::from(limit).saturating_sub(before))
                .unwrap_or(usize::MAX)
                .min(data.len())
        };
        // As for responses: the crossing chunk is cut, a later chunk truncates the file.
        let over = limit > 0 && before >= u64::from(limit);
        let first = before == 0;
        let method = tx.method_number;
        let mut acts: Vec<MpAction> = Vec::new();
        if first {
            if method == Method::Post {
                if let Some(b) = tx
                    .request_headers
                    .value("content-type")
                    .and_then(multipart_boundary)
                {
                    self.multipart = Some(Multipart::new(&b));
                } else {
                    self.multipart = None;
                    self.open_path_file(id, true, o);
                }
            } else if method == Method::Put {
                self.multipart = None;
                self.open_path_file(id, true, o);
            } else {
                self.multipart = None;
            }
        }
        let chunk = &data[..within];
        if let Some(mp) = self.multipart.as_mut() {
            if !chunk.is_empty() {
                mp.feed(chunk, false, &mut acts);
            }
            self.apply_multipart(id, acts, o);
            if over {
                self.multipart = None;
                if let Some(tx) = self.tx_mut(id) {
                    for f in tx.request_files.iter_mut() {
                        f.close(FileState::Truncated);
                    }
                }
                self.log_closed_files(id, o);
            }
        } else if let Some(tx) = self.tx_mut(id) {
            if let Some(f) = tx.request_files.last_mut() {
                if !chunk.is_empty() {
                    f.append(chunk);
                }
                if over {
                    f.close(FileState::Truncated);
                }
            }
            if over {
                self.log_closed_files(id, o);
            }
        }
    }

    fn apply_multipart(&mut self, id: u64, acts: Vec<MpAction>, o: &mut Out<'_>) {
        let hash = self.cfg.force_hash;
        for a in acts {
            match a {
                MpAction::Open(name) => {
                    if name.len() > crate::files::MAX_FILENAME {
                        self.req_event(HttpEvent::FileNameTooLong, o);
                    }
                    let keep = self.keep_file_content();
                    if let Some(tx) = self.tx_mut(id) {
                        if tx.request_files.len() < crate::files::MAX_FILES_PER_TX {
                            let f = HttpFile::new(&name, hash);
                            tx.request_files.push(match keep {
                                Some(cap) => f.keep_content(cap),
                                None => f,
                            });
                        }
                    }
                }
                MpAction::Data(d) => {
                    if let Some(f) = self.tx_mut(id).and_then(|t| t.request_files.last_mut()) {
                        f.append(&d);
                    }
                }
                MpAction::Close => {
                    if let Some(f) = self.tx_mut(id).and_then(|t| t.request_files.last_mut()) {
                        f.close(FileState::Closed);
                    }
                    self.log_closed_files(id, o);
                }
                MpAction::InvalidHeader => self.req_event(HttpEvent::MultipartInvalidHeader, o),
            }
        }
    }

    /// With `inspect`: request files keep their content for `file.data`, at most as much as
    /// the request body keeps.
    fn keep_file_content(&self) -> Option<usize> {
        self.cfg
            .inspect
            .then(|| crate::tx::kept_cap(self.cfg.request_body_limit))
    }

    /// Opens a file named after the URI path (or, for responses, Content-Disposition).
    fn open_path_file(&mut self, id: u64, request: bool, o: &mut Out<'_>) {
        let hash = self.cfg.force_hash;
        let ranges = Arc::clone(&self.cfg.ranges);
        let keep = self.keep_file_content();
        let Some(tx) = self.tx_mut(id) else { return };
        let mut name: Option<Vec<u8>> = None;
        if !request {
            if let Some(cd) = tx.response_headers.value("content-disposition") {
                if !cd.is_empty() {
                    name = content_disposition_param(cd, b"filename=").map(<[u8]>::to_vec);
                }
            }
        }
        if name.is_none() {
            name = tx.path().map(<[u8]>::to_vec);
        }
        let Some(name) = name else { return };
        let too_long = name.len() > crate::files::MAX_FILENAME;
        let mut f = HttpFile::new(&name, hash);
        let mut range_event = false;
        if request {
            tx.request_files.push(match keep {
                Some(cap) => f.keep_content(cap),
                None => f,
            });
        } else {
            // Suricata `HTPFileOpenWithRange`: a usable Content-Range gives the file a range
            // and a share in the byte-range container of host + file name.
            let cr = tx
                .response_headers
                .value("content-range")
                .map(check_content_range);
            let mut block = None;
            if let Some((usable, invalid)) = cr {
                range_event = invalid;
                if let Some((start, end, size)) = usable {
                    f.range = Some((start, end));
                    if let Some(host) = tx.hostname.as_deref() {
                        let mut key = host.to_vec();
                        key.extend_from_slice(&f.name);
                        block = RangeBlock::open(&ranges, &key, start, end, size, &f.name, hash);
                    }
                }
            }
            tx.response_file = Some(f);
            self.res_range = block;
        }
        if range_event {
            self.res_event(HttpEvent::RangeInvalid, o);
        }
        if too_long {
            if request {
                self.req_event(HttpEvent::FileNameTooLong, o);
            } else {
                self.res_event(HttpEvent::FileNameTooLong, o);
            }
        }
    }

    /// Decoded response body bytes (after decompression).
    fn response_body_decoded(&mut self, data: &[u8], o: &mut Out<'_>) {
        let Some(id) = self.res.tx else { return };
        if data.is_empty() {
            return;
        }
        let limit = self.cfg.response_body_limit;
        let Some(tx) = self.tx_mut(id) else { return };
        let before = tx.response_body.total;
        if tx.response_body.append(data, limit) {
            self.res_event(HttpEvent::BodyKeptCap, o);
        }
        let Some(tx) = self.tx_mut(id) else { return };
        let first = before == 0 && tx.response_file.is_none();
        if first {
            self.open_path_file(id, false, o);
        }
        // Suricata cuts the chunk that crosses the limit and truncates the file when a later
        // chunk arrives (so a body ending in the crossing chunk closes normally).
        let at_limit = limit > 0 && before >= u64::from(limit);
        let within = if limit == 0 {
            data.len()
        } else {
            usize::try_from(u64::from(limit).saturating_sub(before))
                .unwrap_or(usize::MAX)
                .min(data.len())
        };
        let Some(tx) = self.tx_mut(id) else { return };
        if let Some(f) = tx.response_file.as_mut() {
            if at_limit {
                if f.state == FileState::Open {
                    self.close_response_file(id, FileState::Truncated, o);
                }
            } else if within > 0 {
                f.append(&data[..within]);
                if let Some(b) = self.res_range.as_mut() {
                    b.append(&data[..within]);
                }
            }
        }
    }

    /// Raw response body bytes (libhtp `htp_tx_res_process_body_data_ex`). `None` flushes.
    fn response_body_data(&mut self, data: Option<&[u8]>, o: &mut Out<'_>) {
        let Some(id) = self.res.tx else { return };
        let Some(tx) = self.tx_mut(id) else { return };
        let len = data.map_or(0, <[u8]>::len);
        tx.response_message_len = tx.response_message_len.saturating_add(len as u64);
        let no_decomp = tx.compression_none;
        let Some(data) = data else {
            // End of body: the decoders hand over what they still buffer.
            if let Some(chain) = self.decomp.as_mut().filter(|_| !no_decomp) {
                let mut evs = Vec::new();
                let rest = chain.finish(self.cfg.decompress_limit, &mut evs);
                self.decompress_events(evs, false, o);
                self.response_body_decoded(&rest, o);
            }
            return;
        };
        if data.is_empty() {
            return;
        }
        match self.decomp.as_mut() {
            Some(chain) if !no_decomp && !chain.is_empty() => {
                let mut evs = Vec::new();
                let limit = self.cfg.decompress_limit;
                let decoded = chain.feed(data, limit, &mut evs);
                self.decompress_events(evs, false, o);
                self.response_body_decoded(&decoded, o);
            }
            _ => self.response_body_decoded(data, o),
        }
    }

    // ----- request side --------------------------------------------------------------------

    fn request_complete(&mut self, o: &mut Out<'_>) -> Rc {
        let Some(id) = self.req.tx else {
            self.req_state = ReqState::Idle;
            return Rc::Ok;
        };
        self.request_body_end(o);
        let mut acts = Vec::new();
        if let Some(mp) = self.multipart.as_mut() {
            mp.feed(&[], true, &mut acts);
        }
        self.multipart = None;
        self.apply_multipart(id, acts, o);
        let is09 = if let Some(tx) = self.tx_mut(id) {
            if tx.request_progress != Progress::Complete {
                tx.request_progress = Progress::Complete;
                for f in tx.request_files.iter_mut() {
                    f.close(FileState::Closed);
                }
            }
            tx.is_0_9
        } else {
            false
        };
        self.report_request_flags(id, o);
        self.log_closed_files(id, o);
        self.snapshot_request(id);
        self.req_state = if is09 {
            ReqState::Ignore09
        } else {
            ReqState::Idle
        };
        self.req.tx = None;
        self.maybe_log_tx(id, o);
        Rc::Ok
    }

    /// Suricata `HTPErrorCheckTxRequestFlags`: tx flags become events (once each).
    fn report_request_flags(&mut self, id: u64, o: &mut Out<'_>) {
        let Some(tx) = self.tx_mut(id) else { return };
        let new = tx.flags & !tx.flags_reported;
        tx.flags_reported |= new;
        let pairs = [
            (
                txflags::REQUEST_INVALID_T_E,
                HttpEvent::InvalidTransferEncodingValueInRequest,
            ),
            (
                txflags::REQUEST_INVALID_C_L,
                HttpEvent::InvalidContentLengthFieldInRequest,
            ),
            (txflags::HOST_MISSING, HttpEvent::MissingHostHeader),
            (txflags::HOST_AMBIGUOUS, HttpEvent::HostHeaderAmbiguous),
            (txflags::HOSTU_INVALID, HttpEvent::RequestUriHostInvalid),
            (txflags::HOSTH_INVALID, HttpEvent::RequestHeaderHostInvalid),
        ];
        for (f, ev) in pairs {
            if new & f != 0 {
                self.event(Some(id), ev, o);
            }
        }
    }

    fn req_buffer_check(&mut self, o: &mut Out<'_>) -> bool {
        let pending = self.req.header.as_ref().map_or(0, Vec::len);
        if self.req.line.len().saturating_add(pending) > self.cfg.field_limit {
            self.req_event(HttpEvent::RequestFieldTooLong, o);
            return false;
        }
        true
    }

    fn res_buffer_check(&mut self, o: &mut Out<'_>) -> bool {
        let pending = self.res.header.as_ref().map_or(0, Vec::len);
        if self.res.line.len().saturating_add(pending) > self.cfg.field_limit {
            self.res_event(HttpEvent::ResponseFieldTooLong, o);
            return false;
        }
        true
    }

    /// Reads into the request line buffer up to and including LF. True when a line is complete.
    fn req_read_line(&mut self, cur: &mut Cur<'_>) -> bool {
        let rest = cur.rest();
        match memchr::memchr(LF, rest) {
            Some(i) => {
                self.req.line.extend_from_slice(&rest[..=i]);
                cur.pos += i + 1;
                true
            }
            None => {
                self.req.line.extend_from_slice(rest);
                cur.pos = cur.data.len();
                false
            }
        }
    }

    fn run_request(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        loop {
            let rc = match self.req_state {
                ReqState::Idle => self.req_idle(cur, o),
                ReqState::Line => self.req_line(cur, o),
                ReqState::Protocol => self.req_protocol(cur, o),
                ReqState::Headers => self.req_headers(cur, o),
                ReqState::ConnectCheck => self.req_connect_check(),
                ReqState::ConnectWaitResponse => self.req_connect_wait(),
                ReqState::ConnectProbeData => self.req_connect_probe(cur, o),
                ReqState::BodyDetermine => self.req_body_determine(),
                ReqState::ChunkedLength => self.req_chunked_length(cur, o),
                ReqState::ChunkedData => self.req_chunked_data(cur, o),
                ReqState::ChunkedDataEnd => self.req_chunked_data_end(cur),
                ReqState::BodyIdentity => self.req_body_identity(cur, o),
                ReqState::Finalize => self.req_finalize(cur, o),
                ReqState::Ignore09 => {
                    // libhtp flags request bytes arriving after an HTTP/0.9 request
                    // (`HTP_CONN_HTTP_0_9_EXTRA`) and Suricata then stops parsing the flow in
                    // both directions: what is pending is logged as it stands.
                    if cur.at_end() {
                        Rc::Data
                    } else {
                        cur.pos = cur.data.len();
                        Rc::Error
                    }
                }
            };
            if rc != Rc::Ok {
                return rc;
            }
            if self.in_status == Status::Tunnel {
                return Rc::Data;
            }
        }
    }

    fn req_idle(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        if cur.at_end() {
            return Rc::Data;
        }
        let Some(id) = self.create_tx(o) else {
            self.req_event(HttpEvent::UnknownError, o);
            return Rc::Error;
        };
        self.req.tx = Some(id);
        self.req.content_length = -1;
        self.req.body_left = -1;
        self.req_decomp = None;
        if let Some(tx) = self.tx_mut(id) {
            tx.request_progress = Progress::Line;
        }
        self.req_state = ReqState::Line;
        Rc::Ok
    }

    fn req_line(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let closed = self.in_status == Status::Closed;
        if !self.req_read_line(cur) {
            if closed && !self.req.line.is_empty() {
                self.req_event(HttpEvent::RequestLineIncomplete, o);
                return self.req_line_complete(cur, o);
            }
            if !self.req_buffer_check(o) {
                return Rc::Error;
            }
            return Rc::Data;
        }
        self.req_line_complete(cur, o)
    }

    fn req_line_complete(&mut self, _cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let line = std::mem::take(&mut self.req.line);
        self.req.line_prev = 0;
        let Some(id) = self.req.tx else {
            return Rc::Error;
        };
        if is_line_terminator(&line, false) {
            if let Some(tx) = self.tx_mut(id) {
                tx.request_ignored_lines = tx.request_ignored_lines.saturating_add(1);
            }
            return Rc::Ok;
        }
        let (data, _) = chomp(&line);
        let data = data.to_vec();
        let allow_space = self.cfg.allow_space_uri;
        let (double_path, double_query) =
            (self.cfg.double_decode_path, self.cfg.double_decode_query);
        let mut warns: Vec<HttpEvent> = Vec::new();
        let Some(tx) = self.tx_mut(id) else {
            return Rc::Error;
        };
        parse_request_line(tx, &data, allow_space, &mut warns);
        tx.request_line = Some(data);
        // htp_tx_state_request_line
        if tx.method_number == Method::Connect {
            let uri = tx.uri.clone().unwrap_or_default();
            let hp = parse_header_hostport(&uri);
            tx.parsed_uri = crate::uri::ParsedUri::default();
            let mut n = crate::uri::NormalizedUri {
                port_number: hp.port,
                hostname: hp.hostname,
                ..Default::default()
            };
            if hp.invalid {
                n.host_invalid = true;
            }
            tx.norm_uri = Some(n);
        } else if let Some(u) = tx.uri.clone() {
            tx.parsed_uri = parse_uri(&u);
            let mut n = crate::uri::normalize(&tx.parsed_uri);
            if crate::uri::double_decode(&mut n, double_path, double_query) {
                warns.push(HttpEvent::DoubleEncodedUri);
            }
            tx.norm_uri = Some(n);
        } else {
            tx.norm_uri = Some(crate::uri::NormalizedUri {
                port_number: -1,
                ..Default::default()
            });
        }
        if let Some(n) = &tx.norm_uri {
            let mut bad = n.host_invalid;
            if let Some(h) = &n.hostname {
                if !crate::uri::validate_hostname(h) {
                    bad = true;
                }
            }
            if bad {
                tx.flags |= txflags::HOSTU_INVALID;
            }
        }
        for w in warns {
            self.req_event(w, o);
        }
        self.req_state = ReqState::Protocol;
        Rc::Ok
    }

    fn req_protocol(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let Some(id) = self.req.tx else {
            return Rc::Error;
        };
        let is09 = self.tx_mut(id).is_some_and(|t| t.is_0_9);
        if !is09 {
            self.req_state = ReqState::Headers;
            if let Some(tx) = self.tx_mut(id) {
                tx.request_progress = Progress::Headers;
            }
            return Rc::Ok;
        }
        // libhtp (since Suricata issue 6643): a 0.9-looking request line is HTTP/0.9 only
        // when what follows it in the same chunk is at most `HTTP09_MAX_JUNK_LEN` bytes of
        // whitespace; otherwise the protocol was just missing and headers follow.
        let rest = cur.rest();
        if rest.len() > HTTP09_MAX_JUNK_LEN || rest.iter().any(|&c| !is_space(c)) {
            self.req_event(HttpEvent::RequestLineMissingProtocol, o);
            if let Some(tx) = self.tx_mut(id) {
                tx.is_0_9 = false;
                tx.request_progress = Progress::Headers;
            }
            self.req_state = ReqState::Headers;
            return Rc::Ok;
        }
        self.req_state = ReqState::Finalize;
        Rc::Ok
    }

    fn req_headers(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let Some(id) = self.req.tx else {
            return Rc::Error;
        };
        loop {
            if self.in_status == Status::Closed && cur.at_end() {
                if let Some(h) = self.req.header.take() {
                    self.process_request_header(id, &h, o);
                }
                self.req.clear_line();
                if let Some(tx) = self.tx_mut(id) {
                    // The stream closed inside the header block: what arrived is the block.
                    if tx.request_progress <= Progress::Headers {
                        tx.request_headers_done = true;
                    }
                    tx.request_progress = Progress::Trailer;
                }
                return self.req_state_headers(id, o);
            }
            let start = self.req.line.len();
            if !self.req_read_line(cur) {
                self.add_raw_req(id, start);
                if !self.req_buffer_check(o) {
                    return Rc::Error;
                }
                return Rc::Data;
            }
            self.add_raw_req(id, start);
            let line = std::mem::take(&mut self.req.line);
            self.req.line_prev = 0;
            let next_no_lf = cur.peek().is_some_and(|c| c != LF);
            if is_line_terminator(&line, next_no_lf) {
                if let Some(h) = self.req.header.take() {
                    self.process_request_header(id, &h, o);
                }
                return self.req_state_headers(id, o);
            }
            let (data, _) = chomp(&line);
            if !is_line_folded(data) {
                if let Some(h) = self.req.header.take() {
                    self.process_request_header(id, &h, o);
                }
                self.req.header = Some(data.to_vec());
                self.req.header_folded = false;
                // libhtp processes the header at once when the next byte is known not to fold.
                if cur.peek().is_some_and(|c| !is_folding_char(c)) {
                    if let Some(h) = self.req.header.take() {
                        self.process_request_header(id, &h, o);
                    }
                }
            } else if let Some(h) = self.req.header.as_mut() {
                h.extend_from_slice(data);
                self.req.header_folded = true;
            } else {
                let first = self
                    .tx_mut(id)
                    .is_some_and(|t| t.flags & txflags::INVALID_FOLDING == 0);
                if first {
                    if let Some(tx) = self.tx_mut(id) {
                        tx.flags |= txflags::INVALID_FOLDING;
                    }
                    self.req_event(HttpEvent::InvalidRequestFieldFolding, o);
                }
                let trim = data.iter().take_while(|&&c| is_folding_char(c)).count();
                self.req.header = Some(data[trim..].to_vec());
                self.req.header_folded = false;
            }
        }
    }

    /// Keeps the raw header block (bounded by the field limit per line and the header count).
    fn add_raw_req(&mut self, id: u64, start: usize) {
        let cap = self.cfg.field_limit.saturating_mul(4);
        let Some(new) = self.req.line.get(start..) else {
            return;
        };
        let new = new.to_vec();
        if let Some(tx) = self.tx_mut(id) {
            let dst = if tx.request_progress == Progress::Trailer {
                &mut tx.request_trailers_raw
            } else {
                &mut tx.request_headers_raw
            };
            let room = cap.saturating_sub(dst.len());
            dst.extend_from_slice(&new[..new.len().min(room)]);
        }
    }

    fn req_state_headers(&mut self, id: u64, o: &mut Out<'_>) -> Rc {
        let progress = self
            .tx_mut(id)
            .map_or(Progress::Headers, |t| t.request_progress);
        if progress > Progress::Headers {
            self.req_state = ReqState::Finalize;
            return Rc::Ok;
        }
        if let Some(tx) = self.tx_mut(id) {
            tx.request_headers_done = true;
        }
        let rc = self.process_request_headers(id);
        self.report_request_flags(id, o);
        if rc != Rc::Ok {
            return rc;
        }
        self.req_setup_decompression(id, o);
        self.req_state = ReqState::ConnectCheck;
        Rc::Ok
    }

    /// libhtp `htp_tx_process_request_headers`.
    fn process_request_headers(&mut self, id: u64) -> Rc {
        let Some(tx) = self.tx_mut(id) else {
            return Rc::Error;
        };
        let cl = tx.request_headers.get("content-length").cloned();
        let te = tx.request_headers.get("transfer-encoding").cloned();
        if let Some(te) = &te {
            if !find_nocase_norzero(&te.value, b"chunked") {
                tx.request_coding = Coding::Invalid;
                tx.flags |= txflags::REQUEST_INVALID_T_E | txflags::REQUEST_INVALID;
            } else {
                if tx.protocol_number < proto::V1_1 {
                    tx.flags |= txflags::REQUEST_INVALID_T_E | txflags::REQUEST_SMUGGLING;
                }
                tx.request_coding = Coding::Chunked;
                if cl.is_some() {
                    tx.flags |= txflags::REQUEST_SMUGGLING;
                }
            }
        } else if let Some(cl) = &cl {
            if cl.flags & (hflags::FOLDED | hflags::REPEATED) != 0 {
                tx.flags |= txflags::REQUEST_SMUGGLING;
            }
            match parse_content_length(&cl.value).value {
                Some(v) => {
                    tx.request_content_length = v;
                    tx.request_coding = Coding::Identity;
                }
                None => {
                    tx.request_content_length = -1;
                    tx.request_coding = Coding::Invalid;
                    tx.flags |= txflags::REQUEST_INVALID_C_L | txflags::REQUEST_INVALID;
                }
            }
        } else {
            tx.request_coding = Coding::NoBody;
        }
        // Host.
        let n = tx.norm_uri.clone().unwrap_or_default();
        tx.hostname = n.hostname.clone();
        tx.port_number = n.port_number;
        match tx.request_headers.value("host").map(<[u8]>::to_vec) {
            None => {
                if tx.protocol_number >= proto::V1_1 {
                    tx.flags |= txflags::HOST_MISSING;
                }
            }
            Some(v) => {
                let hp = parse_header_hostport(&v);
                if hp.invalid {
                    tx.flags |= txflags::HOSTH_INVALID;
                }
                match hp.hostname {
                    Some(h) => {
                        if tx.hostname.is_none() {
                            tx.hostname = Some(h);
                            tx.port_number = hp.port;
                        } else {
                            if tx
                                .hostname
                                .as_deref()
                                .is_some_and(|x| !x.eq_ignore_ascii_case(&h))
                            {
                                tx.flags |= txflags::HOST_AMBIGUOUS;
                            }
                            if tx.port_number != -1 && hp.port != -1 && tx.port_number != hp.port {
                                tx.flags |= txflags::HOST_AMBIGUOUS;
                            }
                        }
                    }
                    None => {
                        if tx.hostname.is_some() {
                            tx.flags |= txflags::HOST_AMBIGUOUS;
                        }
                    }
                }
            }
        }
        let invalid = tx.flags & txflags::REQUEST_INVALID != 0;
        if invalid {
            return Rc::Error;
        }
        Rc::Ok
    }

    /// libhtp `htp_parse_request_header_generic` + `htp_process_request_header_generic`.
    fn process_request_header(&mut self, id: u64, data: &[u8], o: &mut Out<'_>) {
        let limit = self.cfg.headers_limit;
        let mut evs: Vec<HttpEvent> = Vec::new();
        let Some(tx) = self.tx_mut(id) else { return };
        tx.request_header_count = tx.request_header_count.saturating_add(1);
        if tx.request_header_count > limit {
            if tx.request_header_count == limit.saturating_add(1) {
                evs.push(HttpEvent::RequestTooManyHeaders);
            }
        } else {
            let (h, f) = parse_header(data, true);
            if f & txflags::FIELD_UNPARSEABLE != 0 && tx.flags & txflags::FIELD_UNPARSEABLE == 0 {
                tx.flags |= txflags::FIELD_UNPARSEABLE;
                evs.push(HttpEvent::RequestFieldMissingColon);
            }
            if f & txflags::FIELD_INVALID != 0 && tx.flags & txflags::FIELD_INVALID == 0 {
                tx.flags |= txflags::FIELD_INVALID;
                evs.push(HttpEvent::RequestHeaderInvalid);
            }
            add_header(
                &mut tx.request_headers,
                h,
                &mut tx.req_header_repetitions,
                true,
                &mut evs,
            );
        }
        for e in evs {
            self.event(Some(id), e, o);
        }
    }

    fn req_connect_check(&mut self) -> Rc {
        let Some(id) = self.req.tx else {
            return Rc::Error;
        };
        if self
            .tx(id)
            .is_some_and(|t| t.method_number == Method::Connect)
        {
            self.req_state = ReqState::ConnectWaitResponse;
            self.in_status = Status::DataOther;
            return Rc::DataOther;
        }
        self.req_state = ReqState::BodyDetermine;
        Rc::Ok
    }

    fn req_connect_wait(&mut self) -> Rc {
        let Some(id) = self.req.tx else {
            return Rc::Error;
        };
        let Some(tx) = self.tx(id) else {
            return Rc::Error;
        };
        if tx.response_progress <= Progress::Line {
            return Rc::DataOther;
        }
        if (200..=299).contains(&tx.response_status_number) {
            self.req_state = ReqState::ConnectProbeData;
        } else {
            self.req_state = ReqState::Finalize;
        }
        Rc::Ok
    }

    fn req_connect_probe(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        // Look at the first line of tunnel data; keep it for the request-line parser.
        let rest = cur.rest();
        match rest.iter().position(|&c| c == LF || c == 0) {
            None => {
                self.req.line.extend_from_slice(rest);
                cur.pos = cur.data.len();
                if !self.req_buffer_check(o) {
                    return Rc::Error;
                }
                return Rc::Data;
            }
            Some(i) => {
                self.req.line.extend_from_slice(&rest[..i]);
                cur.pos += i;
            }
        }
        let line = &self.req.line;
        let mut pos = 0;
        while pos < line.len() && is_space(line[pos]) {
            pos += 1;
        }
        let ms = pos;
        while pos < line.len() && !is_space(line[pos]) {
            pos += 1;
        }
        if method_number(&line[ms..pos]) != Method::Unknown {
            return self.request_complete(o);
        }
        // Not HTTP: a tunnel. libhtp only peeked at these bytes, so Suricata detects the
        // tunnelled protocol from them: keep them (and the rest of the chunk) for the caller.
        let mut replay = std::mem::take(&mut self.req.line);
        self.req.clear_line();
        replay.extend_from_slice(cur.rest());
        cur.pos = cur.data.len();
        self.replay = Some((Direction::ToServer, replay));
        self.in_status = Status::Tunnel;
        self.out_status = Status::Tunnel;
        self.upgrade = Some(Upgrade::Tunnel);
        Rc::Ok
    }

    fn req_body_determine(&mut self) -> Rc {
        let Some(id) = self.req.tx else {
            return Rc::Error;
        };
        let Some(tx) = self.tx_mut(id) else {
            return Rc::Error;
        };
        match tx.request_coding {
            Coding::Chunked => {
                tx.request_progress = Progress::Body;
                self.req_state = ReqState::ChunkedLength;
            }
            Coding::Identity => {
                let cl = tx.request_content_length;
                if cl != 0 {
                    tx.request_progress = Progress::Body;
                    self.req_state = ReqState::BodyIdentity;
                } else {
                    self.req_state = ReqState::Finalize;
                }
                self.req.content_length = cl;
                self.req.body_left = cl;
            }
            Coding::NoBody => self.req_state = ReqState::Finalize,
            Coding::Unknown | Coding::Invalid => return Rc::Error,
        }
        Rc::Ok
    }

    fn req_chunked_length(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        loop {
            if !self.req_read_line(cur) {
                if !self.req_buffer_check(o) {
                    return Rc::Error;
                }
                return Rc::Data;
            }
            let line = std::mem::take(&mut self.req.line);
            self.req.line_prev = 0;
            let Some(id) = self.req.tx else {
                return Rc::Error;
            };
            if let Some(tx) = self.tx_mut(id) {
                tx.request_message_len = tx.request_message_len.saturating_add(line.len() as u64);
            }
            let (len, ext) = parse_chunked_length(&line);
            if ext {
                self.req_event(HttpEvent::RequestChunkExtension, o);
            }
            match len {
                ChunkLen::Empty => continue,
                ChunkLen::Len(0) => {
                    self.req_state = ReqState::Headers;
                    if let Some(tx) = self.tx_mut(id) {
                        tx.request_progress = Progress::Trailer;
                    }
                    return Rc::Ok;
                }
                ChunkLen::Len(n) => {
                    self.req.body_left = i64::try_from(n).unwrap_or(i64::MAX);
                    self.req_state = ReqState::ChunkedData;
                    return Rc::Ok;
                }
                ChunkLen::Invalid => {
                    self.req_event(HttpEvent::InvalidRequestChunkLen, o);
                    return Rc::Error;
                }
            }
        }
    }

    fn body_take(left: i64, cur: &mut Cur<'_>) -> Vec<u8> {
        let n = usize::try_from(left.max(0))
            .unwrap_or(usize::MAX)
            .min(cur.remaining());
        cur.take(n).to_vec()
    }

    fn req_chunked_data(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let d = Self::body_take(self.req.body_left, cur);
        if d.is_empty() {
            return Rc::Data;
        }
        self.req.body_left = self.req.body_left.saturating_sub(d.len() as i64);
        self.request_body_data(&d, o);
        if self.req.body_left == 0 {
            self.req_state = ReqState::ChunkedDataEnd;
            return Rc::Ok;
        }
        Rc::Data
    }

    fn req_chunked_data_end(&mut self, cur: &mut Cur<'_>) -> Rc {
        let id = self.req.tx;
        while let Some(c) = cur.next() {
            if let Some(tx) = id.and_then(|i| self.tx_mut(i)) {
                tx.request_message_len = tx.request_message_len.saturating_add(1);
            }
            if c == LF {
                self.req_state = ReqState::ChunkedLength;
                return Rc::Ok;
            }
        }
        Rc::Data
    }

    fn req_body_identity(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let d = Self::body_take(self.req.body_left, cur);
        if d.is_empty() {
            return Rc::Data;
        }
        self.req.body_left = self.req.body_left.saturating_sub(d.len() as i64);
        self.request_body_data(&d, o);
        if self.req.body_left == 0 {
            self.req_state = ReqState::Finalize;
            return Rc::Ok;
        }
        Rc::Data
    }

    /// libhtp `htp_connp_REQ_FINALIZE`: what follows a request in the same chunk is either the
    /// next request (a known method) or more body ("Unexpected request body"). A line that
    /// starts with a bare LF ends the request without being consumed: the LF then opens the
    /// next transaction as an ignored line (Suricata logs that transaction, empty, if nothing
    /// follows), while `\r\n` or `xyz\n` lines are body.
    fn req_finalize(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        if self.in_status != Status::Closed {
            if self.req.line.is_empty() && matches!(cur.peek(), None | Some(LF)) {
                return self.request_complete(o);
            }
            if !self.req_read_line(cur) {
                if !self.req_buffer_check(o) {
                    return Rc::Error;
                }
                return Rc::Data;
            }
        }
        let line = std::mem::take(&mut self.req.line);
        let prev = self.req.line_prev;
        self.req.line_prev = 0;
        if line.is_empty() {
            return self.request_complete(o);
        }
        let mut pos = 0;
        while pos < line.len() && is_space(line[pos]) {
            pos += 1;
        }
        if pos == line.len() {
            self.request_body_data(&line, o);
            return Rc::Ok;
        }
        let ms = pos;
        while pos < line.len() && !is_space(line[pos]) {
            pos += 1;
        }
        if method_number(&line[ms..pos]) == Method::Unknown {
            self.req_event(HttpEvent::RequestBodyUnexpected, o);
            self.request_body_data(&line, o);
            return Rc::Ok;
        }
        // A new request: give the bytes back to the request-line parser.
        let from_cur = line.len().saturating_sub(prev);
        cur.pos = cur.pos.saturating_sub(from_cur);
        self.req.line = line[..prev.min(line.len())].to_vec();
        self.req.line_prev = self.req.line.len();
        self.request_complete(o)
    }

    // ----- response side -------------------------------------------------------------------

    fn run_response(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        loop {
            let rc = match self.res_state {
                ResState::Idle => self.res_idle(cur, o),
                ResState::Line => self.res_line(cur, o),
                ResState::Headers => self.res_headers(cur, o),
                ResState::BodyDetermine => self.res_body_determine(o),
                ResState::ChunkedLength => self.res_chunked_length(cur, o),
                ResState::ChunkedData => self.res_chunked_data(cur, o),
                ResState::ChunkedDataEnd => self.res_chunked_data_end(cur),
                ResState::ClKnown => self.res_cl_known(cur, o),
                ResState::StreamClose => self.res_stream_close(cur, o),
                ResState::Finalize => self.res_finalize(cur, o),
            };
            if rc != Rc::Ok {
                return rc;
            }
            if self.out_status == Status::Tunnel {
                return Rc::Data;
            }
        }
    }

    fn res_idle(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        if cur.at_end() {
            return Rc::Data;
        }
        let id = self.out_next_tx;
        let exists = self.tx(id).is_some() && id < self.next_id;
        let id = if exists {
            self.out_next_tx = self.out_next_tx.saturating_add(1);
            self.res.content_length = -1;
            self.res.body_left = -1;
            id
        } else {
            // A response nobody asked for.
            let Some(nid) = self.create_tx(o) else {
                self.res_event(HttpEvent::UnknownError, o);
                return Rc::Error;
            };
            self.event(Some(nid), HttpEvent::UnableToMatchResponseToRequest, o);
            if let Some(tx) = self.tx_mut(nid) {
                tx.uri = Some(REQUEST_URI_NOT_SEEN.to_vec());
                tx.parsed_uri.path = Some(REQUEST_URI_NOT_SEEN.to_vec());
                tx.norm_uri = Some(crate::uri::NormalizedUri {
                    path: Some(REQUEST_URI_NOT_SEEN.to_vec()),
                    port_number: -1,
                    ..Default::default()
                });
                tx.request_progress = Progress::Complete;
            }
            self.out_next_tx = nid.saturating_add(1);
            nid
        };
        self.res.tx = Some(id);
        // htp_tx_state_response_start
        let is09 = self.tx(id).is_some_and(|t| t.is_0_9);
        self.decomp = None;
        if let Some(tx) = self.tx_mut(id) {
            if is09 {
                tx.response_coding = Coding::Identity;
                tx.compression_none = true;
                tx.response_progress = Progress::Body;
            } else {
                tx.response_progress = Progress::Line;
            }
        }
        if is09 {
            self.res_state = ResState::StreamClose;
            self.res.body_left = -1;
        } else {
            self.res_state = ResState::Line;
        }
        Rc::Ok
    }

    /// Reads a response line: ends at LF, or at a CR not followed by LF (libhtp treats a lone
    /// CR as a line end in responses). False = the chunk ended first (bytes are buffered; a CR at
    /// the very end is resolved when the next chunk shows what follows it). With `crcr`, a CR
    /// followed by another CR does not end the line (libhtp's header loop).
    fn res_read_line_cr(&mut self, cur: &mut Cur<'_>, crcr: bool) -> bool {
        if self.res.line.last() == Some(&CR) {
            match cur.peek() {
                None => return false,
                Some(LF) => {}
                Some(CR) if crcr => {}
                Some(_) => return true,
            }
        }
        loop {
            let rest = cur.rest();
            let Some(i) = rest.iter().position(|&c| c == LF || c == CR) else {
                self.res.line.extend_from_slice(rest);
                cur.pos = cur.data.len();
                return false;
            };
            let c = rest[i];
            self.res.line.extend_from_slice(&rest[..=i]);
            cur.pos += i + 1;
            if c == LF {
                return true;
            }
            match cur.peek() {
                None => return false,
                Some(LF) => continue,
                Some(CR) if crcr => continue,
                Some(_) => return true,
            }
        }
    }

    fn res_line(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let closed = self.out_status == Status::Closed;
        if !(closed && cur.at_end() || self.res_read_line_cr(cur, false)) {
            if !self.res_buffer_check(o) {
                return Rc::Error;
            }
            return Rc::Data;
        }
        let line = std::mem::take(&mut self.res.line);
        self.res.line_prev = 0;
        let Some(id) = self.res.tx else {
            return Rc::Error;
        };
        if line.is_empty() && closed {
            self.res_state = ResState::Finalize;
            return Rc::Ok;
        }
        if is_line_terminator(&line, false) {
            if closed {
                self.res_state = ResState::Finalize;
            }
            return Rc::Ok;
        }
        let (data, chomped) = chomp(&line);
        if treat_response_line_as_body(data) {
            // libhtp: skip it when the next line starts with 'H' (or it is tiny).
            if cur.remaining() >= 2 && (cur.peek() == Some(b'H') || data.len() <= 2) {
                return Rc::Ok;
            }
            if let Some(tx) = self.tx_mut(id) {
                tx.compression_none = true;
            }
            let body = line[..data.len() + chomped].to_vec();
            self.response_body_data(Some(&body), o);
            if cur.at_end() {
                if let Some(tx) = self.tx_mut(id) {
                    tx.response_coding = Coding::Identity;
                    tx.response_progress = Progress::Body;
                }
                self.res.body_left = -1;
                self.res_state = ResState::Finalize;
            }
            return Rc::Ok;
        }
        let data = data.to_vec();
        let mut evs = Vec::new();
        let raw_cap = self.cfg.field_limit.saturating_mul(4);
        if let Some(tx) = self.tx_mut(id) {
            if tx.seen_100continue > 0 {
                // After a `100 Continue` the raw header buffer also gets this status line.
                let room = raw_cap.saturating_sub(tx.response_headers_raw.len());
                tx.response_headers_raw
                    .extend_from_slice(&line[..line.len().min(room)]);
            }
            parse_response_line(tx, &data);
            tx.response_line = Some(data);
            if tx.response_protocol_number == proto::INVALID {
                evs.push(HttpEvent::ResponseInvalidProtocol);
            }
            if tx.response_status_number < 100 || tx.response_status_number > 999 {
                evs.push(HttpEvent::ResponseInvalidStatus);
                tx.flags |= txflags::STATUS_LINE_INVALID;
            }
            tx.response_progress = Progress::Headers;
        }
        for e in evs {
            self.res_event(e, o);
        }
        self.res_state = ResState::Headers;
        Rc::Ok
    }

    fn res_headers(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let Some(id) = self.res.tx else {
            return Rc::Error;
        };
        loop {
            if self.out_status == Status::Closed && cur.at_end() {
                if let Some(h) = self.res.header.take() {
                    self.process_response_header(id, &h, o);
                }
                self.res.clear_line();
                self.res_state = ResState::Finalize;
                return Rc::Ok;
            }
            let start = self.res.line.len();
            let r = self.res_read_line_cr(cur, true);
            self.add_raw_res(id, start);
            if !r {
                if !self.res_buffer_check(o) {
                    return Rc::Error;
                }
                return Rc::Data;
            }
            let line = std::mem::take(&mut self.res.line);
            self.res.line_prev = 0;
            // A lone CR line is not an empty line (libhtp: "CRCRLF is not an empty line").
            if line == b"\r" {
                continue;
            }
            let next_no_lf = cur.peek().is_some_and(|c| c != LF);
            if is_line_terminator(&line, next_no_lf) {
                if let Some(h) = self.res.header.take() {
                    self.process_response_header(id, &h, o);
                }
                let progress = self
                    .tx(id)
                    .map_or(Progress::Headers, |t| t.response_progress);
                if progress == Progress::Headers {
                    if let Some(tx) = self.tx_mut(id) {
                        tx.response_headers_done = true;
                    }
                    self.res_state = ResState::BodyDetermine;
                } else {
                    self.res_state = ResState::Finalize;
                }
                return Rc::Ok;
            }
            let (data, _) = chomp(&line);
            if !is_line_folded(data) {
                if let Some(h) = self.res.header.take() {
                    self.process_response_header(id, &h, o);
                }
                self.res.header = Some(data.to_vec());
                if cur.peek().is_some_and(|c| !is_folding_char(c)) {
                    if let Some(h) = self.res.header.take() {
                        self.process_response_header(id, &h, o);
                    }
                }
            } else if self.res.header.is_none() {
                let first = self
                    .tx(id)
                    .is_some_and(|t| t.flags & txflags::RES_INVALID_FOLDING == 0);
                if first {
                    if let Some(tx) = self.tx_mut(id) {
                        tx.flags |= txflags::RES_INVALID_FOLDING;
                    }
                    self.res_event(HttpEvent::InvalidResponseFieldFolding, o);
                }
                let trim = data.iter().take_while(|&&c| is_folding_char(c)).count();
                self.res.header = Some(data[trim..].to_vec());
            } else {
                let http11 = self
                    .tx(id)
                    .is_some_and(|t| t.response_protocol_number == proto::V1_1);
                let has_colon = data.contains(&b':');
                let prev_colon = self.res.header.as_ref().is_some_and(|h| h.contains(&b':'));
                if has_colon && prev_colon && http11 {
                    let first = self
                        .tx(id)
                        .is_some_and(|t| t.flags & txflags::RES_INVALID_FOLDING == 0);
                    if first {
                        if let Some(tx) = self.tx_mut(id) {
                            tx.flags |= txflags::RES_INVALID_FOLDING;
                        }
                        self.res_event(HttpEvent::InvalidResponseFieldFolding, o);
                    }
                    if let Some(h) = self.res.header.take() {
                        self.process_response_header(id, &h, o);
                    }
                    self.res.header = Some(data[1..].to_vec());
                } else if let Some(h) = self.res.header.as_mut() {
                    h.extend_from_slice(data);
                }
            }
        }
    }

    fn add_raw_res(&mut self, id: u64, start: usize) {
        let cap = self.cfg.field_limit.saturating_mul(4);
        let Some(new) = self.res.line.get(start..) else {
            return;
        };
        let new = new.to_vec();
        if let Some(tx) = self.tx_mut(id) {
            // Like Suricata's raw header buffer, trailers are appended to the header block.
            if !matches!(tx.response_progress, Progress::Headers | Progress::Trailer) {
                return;
            }
            let room = cap.saturating_sub(tx.response_headers_raw.len());
            tx.response_headers_raw
                .extend_from_slice(&new[..new.len().min(room)]);
        }
    }

    fn process_response_header(&mut self, id: u64, data: &[u8], o: &mut Out<'_>) {
        let limit = self.cfg.headers_limit;
        let mut evs: Vec<HttpEvent> = Vec::new();
        let Some(tx) = self.tx_mut(id) else { return };
        tx.response_header_count = tx.response_header_count.saturating_add(1);
        if tx.response_header_count > limit {
            if tx.response_header_count == limit.saturating_add(1) {
                evs.push(HttpEvent::ResponseTooManyHeaders);
            }
        } else {
            let (h, f) = parse_header(data, false);
            if f & txflags::FIELD_UNPARSEABLE != 0 && tx.flags & txflags::RES_FIELD_UNPARSEABLE == 0
            {
                tx.flags |= txflags::RES_FIELD_UNPARSEABLE;
                evs.push(HttpEvent::ResponseFieldMissingColon);
            }
            if f & txflags::FIELD_INVALID != 0 && tx.flags & txflags::RES_FIELD_INVALID == 0 {
                tx.flags |= txflags::RES_FIELD_INVALID;
                evs.push(HttpEvent::ResponseHeaderInvalid);
            }
            add_header(
                &mut tx.response_headers,
                h,
                &mut tx.res_header_repetitions,
                false,
                &mut evs,
            );
        }
        for e in evs {
            self.event(Some(id), e, o);
        }
    }

    /// libhtp `htp_connp_RES_BODY_DETERMINE`.
    fn res_body_determine(&mut self, o: &mut Out<'_>) -> Rc {
        let Some(id) = self.res.tx else {
            return Rc::Error;
        };
        let Some(tx) = self.tx(id) else {
            return Rc::Error;
        };
        let status = tx.response_status_number;
        let method = tx.method_number;
        let cl = tx.response_headers.get("content-length").cloned();
        let te = tx.response_headers.get("transfer-encoding").cloned();
        let up = tx.response_headers.value("upgrade").map(<[u8]>::to_vec);
        let req_in_this_tx = self.req.tx == Some(id);

        if method == Method::Connect {
            if (200..=299).contains(&status) {
                self.res_state = ResState::Finalize;
                return self.res_state_headers(id, o);
            } else if status == 407 {
                if self.in_status != Status::Error {
                    self.in_status = Status::Data;
                }
            } else {
                if self.in_status != Status::Error {
                    self.in_status = Status::Data;
                }
                self.out_data_other_at_tx_end = true;
            }
        }
        if status == 101 && te.is_none() && cl.is_none() {
            {
                self.res_state = ResState::Finalize;
                if self.in_status != Status::Error {
                    self.in_status = Status::Tunnel;
                }
                self.out_status = Status::Tunnel;
                self.upgrade = Some(match up {
                    Some(u) if u == b"h2c" => Upgrade::H2c,
                    Some(u) if u.eq_ignore_ascii_case(b"websocket") => Upgrade::WebSocket,
                    _ => Upgrade::Other,
                });
                return self.res_state_headers(id, o);
            }
        }
        if status == 100 && te.is_none() {
            let cl_pos = cl
                .as_ref()
                .and_then(|c| parse_content_length(&c.value).value)
                .is_some_and(|v| v > 0);
            if !cl_pos {
                if let Some(tx) = self.tx_mut(id) {
                    if tx.seen_100continue != 0 {
                        // libhtp logs "Already seen 100-Continue" (an error-level message).
                        self.event(Some(id), HttpEvent::ContinueAlreadySeen, o);
                    }
                }
                if let Some(tx) = self.tx_mut(id) {
                    tx.response_headers.clear();
                    tx.response_header_count = 0;
                    tx.response_headers_done = false;
                    // The raw header buffer is not reset: libhtp keeps feeding Suricata's
                    // header-data callback, so it goes on with the next status line and the
                    // final response's headers.
                    tx.response_progress = Progress::Line;
                    tx.seen_100continue = tx.seen_100continue.saturating_add(1);
                }
                self.res_state = ResState::Line;
                return Rc::Ok;
            }
        }
        // Expect: 100-continue answered with 4xx: the request body will not come.
        if (400..=499).contains(&status)
            && self.req.content_length > 0
            && self.req.body_left == self.req.content_length
            && req_in_this_tx
        {
            let exp = self
                .tx(id)
                .and_then(|t| t.request_headers.value("expect"))
                .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
            if exp {
                self.req_state = ReqState::Finalize;
            }
        }
        let mut evs = Vec::new();
        let mut rc = Rc::Ok;
        if method == Method::Head {
            if let Some(tx) = self.tx_mut(id) {
                tx.response_coding = Coding::NoBody;
            }
            self.res_state = ResState::Finalize;
        } else if ((100..=199).contains(&status) || status == 204 || status == 304)
            && te.is_none()
            && cl.is_none()
        {
            {
                if let Some(tx) = self.tx_mut(id) {
                    tx.response_coding = Coding::NoBody;
                }
                self.res_state = ResState::Finalize;
            }
        }
        let mut new_cl: Option<i64> = None;
        if self.res_state != ResState::Finalize {
            let Some(tx) = self.tx_mut(id) else {
                return Rc::Error;
            };
            if let Some(te) = te
                .as_ref()
                .filter(|t| find_nocase_norzero(&t.value, b"chunked"))
            {
                if !te.value.eq_ignore_ascii_case(b"chunked") {
                    evs.push(HttpEvent::ResponseAbnormalTransferEncoding);
                }
                if tx.response_protocol_number < proto::V1_1 {
                    evs.push(HttpEvent::ResponseChunkedOldProto);
                }
                tx.response_coding = Coding::Chunked;
                if cl.is_some() {
                    tx.flags |= txflags::REQUEST_SMUGGLING;
                }
                tx.response_progress = Progress::Body;
                self.res_state = ResState::ChunkedLength;
            } else if let Some(cl) = &cl {
                tx.response_coding = Coding::Identity;
                if cl.flags & hflags::REPEATED != 0 {
                    tx.flags |= txflags::REQUEST_SMUGGLING;
                }
                match parse_content_length(&cl.value).value {
                    None => {
                        evs.push(HttpEvent::InvalidContentLengthFieldInResponse);
                        rc = Rc::Error;
                    }
                    Some(v) => {
                        tx.response_content_length = v;
                        if v != 0 {
                            tx.response_progress = Progress::Body;
                            self.res_state = ResState::ClKnown;
                        } else {
                            self.res_state = ResState::Finalize;
                        }
                        new_cl = Some(v);
                    }
                }
            } else {
                let byteranges = tx
                    .response_headers
                    .value("content-type")
                    .is_some_and(|ct| find_nocase(ct, b"multipart/byteranges").is_some());
                if byteranges {
                    evs.push(HttpEvent::ResponseMultipartByteranges);
                    rc = Rc::Error;
                } else {
                    tx.response_coding = Coding::Identity;
                    tx.response_progress = Progress::Body;
                    self.res_state = ResState::StreamClose;
                    self.res.body_left = -1;
                }
            }
        }
        if let Some(v) = new_cl {
            self.res.content_length = v;
            self.res.body_left = v;
        }
        for e in evs {
            self.res_event(e, o);
        }
        if rc != Rc::Ok {
            return rc;
        }
        self.res_state_headers(id, o)
    }

    /// libhtp `htp_tx_state_response_headers`: set up decompression.
    fn res_state_headers(&mut self, id: u64, o: &mut Out<'_>) -> Rc {
        let Some(tx) = self.tx(id) else {
            return Rc::Error;
        };
        let ce = tx
            .response_headers
            .value("content-encoding")
            .map(<[u8]>::to_vec);
        self.decomp = None;
        let Some(ce) = ce else {
            return Rc::Ok;
        };
        if !self.cfg.decompression {
            return Rc::Ok;
        }
        let (codings, evs) = content_encodings(&ce, self.cfg.decompress_layer_limit);
        if !codings.is_empty() {
            self.decomp = Some(Chain::new(&codings));
        }
        for e in evs {
            self.res_event(e, o);
        }
        Rc::Ok
    }

    /// Request bodies are decoded too: Suricata turns on libhtp's `request_decompression`, so
    /// files uploaded with `Content-Encoding: gzip` are stored decoded (same rules and limits
    /// as responses).
    fn req_setup_decompression(&mut self, id: u64, o: &mut Out<'_>) {
        self.req_decomp = None;
        if !self.cfg.decompression {
            return;
        }
        let Some(ce) = self
            .tx(id)
            .and_then(|t| t.request_headers.value("content-encoding"))
            .map(<[u8]>::to_vec)
        else {
            return;
        };
        let (codings, evs) = content_encodings(&ce, self.cfg.decompress_layer_limit);
        if !codings.is_empty() {
            self.req_decomp = Some(Chain::new(&codings));
        }
        for e in evs {
            self.req_event(e, o);
        }
    }

    fn res_chunked_length(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        loop {
            // Read until LF, or until the line clearly is not a chunk size (libhtp probes the
            // first 8 buffered bytes of the current chunk).
            let mut done = false;
            while let Some(c) = cur.next() {
                self.res.line.push(c);
                if c == LF {
                    done = true;
                    break;
                }
                let ctl = matches!(c, 0x0d | 0x0a | 0x20 | 0x09 | 0x0b | 0x0c);
                let cur_part = self.res.line.len().saturating_sub(self.res.line_prev);
                if !ctl && cur_part >= 8 {
                    let probe = &self.res.line[self.res.line_prev..];
                    let first = probe
                        .iter()
                        .find(|&&b| !matches!(b, 0x0d | 0x0a | 0x20 | 0x09 | 0x0b | 0x0c));
                    if first.is_some_and(|b| !b.is_ascii_hexdigit()) {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                if !self.res_buffer_check(o) {
                    return Rc::Error;
                }
                return Rc::Data;
            }
            let line = std::mem::take(&mut self.res.line);
            let prev = self.res.line_prev;
            self.res.line_prev = 0;
            let Some(id) = self.res.tx else {
                return Rc::Error;
            };
            if let Some(tx) = self.tx_mut(id) {
                tx.response_message_len = tx.response_message_len.saturating_add(line.len() as u64);
            }
            let (len, _ext) = parse_chunked_length(&line);
            match len {
                ChunkLen::Empty => continue,
                ChunkLen::Invalid => {
                    // Not chunked after all: the rest is body until the stream closes. Bytes
                    // of this line from earlier chunks are lost, as in libhtp.
                    let from_cur = line.len().saturating_sub(prev);
                    cur.pos = cur.pos.saturating_sub(from_cur);
                    self.res_state = ResState::StreamClose;
                    if let Some(tx) = self.tx_mut(id) {
                        tx.response_coding = Coding::Identity;
                    }
                    self.res_event(HttpEvent::InvalidResponseChunkLen, o);
                    return Rc::Ok;
                }
                ChunkLen::Len(0) => {
                    self.res_state = ResState::Headers;
                    if let Some(tx) = self.tx_mut(id) {
                        tx.response_progress = Progress::Trailer;
                    }
                    return Rc::Ok;
                }
                ChunkLen::Len(n) => {
                    self.res.body_left = i64::try_from(n).unwrap_or(i64::MAX);
                    self.res_state = ResState::ChunkedData;
                    return Rc::Ok;
                }
            }
        }
    }

    fn res_chunked_data(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let d = Self::body_take(self.res.body_left, cur);
        if d.is_empty() {
            return Rc::Data;
        }
        self.res.body_left = self.res.body_left.saturating_sub(d.len() as i64);
        self.response_body_data(Some(&d), o);
        if self.res.body_left == 0 {
            self.res_state = ResState::ChunkedDataEnd;
            return Rc::Ok;
        }
        Rc::Data
    }

    fn res_chunked_data_end(&mut self, cur: &mut Cur<'_>) -> Rc {
        let id = self.res.tx;
        while let Some(c) = cur.next() {
            if let Some(tx) = id.and_then(|i| self.tx_mut(i)) {
                tx.response_message_len = tx.response_message_len.saturating_add(1);
            }
            if c == LF {
                self.res_state = ResState::ChunkedLength;
                return Rc::Ok;
            }
        }
        Rc::Data
    }

    fn res_cl_known(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        if self.out_status == Status::Closed && cur.at_end() {
            self.res_state = ResState::Finalize;
            return Rc::Ok;
        }
        let d = Self::body_take(self.res.body_left, cur);
        if d.is_empty() {
            return Rc::Data;
        }
        self.res.body_left = self.res.body_left.saturating_sub(d.len() as i64);
        self.response_body_data(Some(&d), o);
        if self.res.body_left == 0 {
            self.res_state = ResState::Finalize;
            return Rc::Ok;
        }
        Rc::Data
    }

    fn res_stream_close(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        let n = cur.remaining();
        if n > 0 {
            let d = cur.take(n).to_vec();
            self.response_body_data(Some(&d), o);
        }
        if self.out_status == Status::Closed {
            self.res_state = ResState::Finalize;
            return Rc::Ok;
        }
        Rc::Data
    }

    /// libhtp `htp_connp_RES_FINALIZE`: what follows a response in the same chunk is either the
    /// next response or more body ("Unexpected response body").
    fn res_finalize(&mut self, cur: &mut Cur<'_>, o: &mut Out<'_>) -> Rc {
        if self.out_status != Status::Closed {
            if cur.at_end() && self.res.line.is_empty() {
                return self.response_complete(o);
            }
            let rest = cur.rest();
            match memchr::memchr(LF, rest) {
                Some(i) => {
                    self.res.line.extend_from_slice(&rest[..=i]);
                    cur.pos += i + 1;
                }
                None => {
                    self.res.line.extend_from_slice(rest);
                    cur.pos = cur.data.len();
                    if !self.res_buffer_check(o) {
                        return Rc::Error;
                    }
                    return Rc::Data;
                }
            }
        }
        let line = std::mem::take(&mut self.res.line);
        let prev = self.res.line_prev;
        self.res.line_prev = 0;
        if line.is_empty() {
            return self.response_complete(o);
        }
        if treat_response_line_as_body(&line) {
            self.response_body_data(Some(&line), o);
            return Rc::Ok;
        }
        let from_cur = line.len().saturating_sub(prev);
        cur.pos = cur.pos.saturating_sub(from_cur);
        self.res.line = line[..prev.min(line.len())].to_vec();
        self.res.line_prev = self.res.line.len();
        self.response_complete(o)
    }

    fn response_complete(&mut self, o: &mut Out<'_>) -> Rc {
        let Some(id) = self.res.tx else {
            self.res_state = ResState::Idle;
            return Rc::Ok;
        };
        let first = self
            .tx(id)
            .is_some_and(|t| t.response_progress != Progress::Complete);
        if first {
            let has_body = self
                .tx(id)
                .is_some_and(|t| t.response_coding != Coding::NoBody);
            if has_body {
                self.response_body_data(None, o);
            }
            if let Some(tx) = self.tx_mut(id) {
                tx.response_progress = Progress::Complete;
            }
            self.close_response_file(id, FileState::Closed, o);
        }
        if self.in_status == Status::DataOther && self.req.tx == Some(id) {
            return Rc::DataOther;
        }
        if self.out_data_other_at_tx_end {
            self.out_data_other_at_tx_end = false;
            // libhtp yields here; the transaction stays attached until the next call.
            self.finish_response(id, o);
            return Rc::DataOther;
        }
        self.finish_response(id, o);
        Rc::Ok
    }

    fn finish_response(&mut self, id: u64, o: &mut Out<'_>) {
        self.decomp = None;
        self.res.tx = None;
        self.res_state = ResState::Idle;
        self.maybe_log_tx(id, o);
    }

    // ----- gaps ----------------------------------------------------------------------------

    fn req_gap(&mut self, len: u64, o: &mut Out<'_>) {
        let id = self.req.tx;
        if let Some(tx) = id.and_then(|i| self.tx_mut(i)) {
            for f in tx.request_files.iter_mut() {
                f.gaps = true;
            }
        }
        match self.req_state {
            ReqState::BodyIdentity => {
                let n = i64::try_from(len)
                    .unwrap_or(i64::MAX)
                    .min(self.req.body_left);
                self.req.body_left -= n;
                if let Some(tx) = id.and_then(|i| self.tx_mut(i)) {
                    let n = u64::try_from(n).unwrap_or(0);
                    tx.request_message_len = tx.request_message_len.saturating_add(n);
                    if let Some(f) = tx.request_files.last_mut() {
                        f.append_gap(n);
                    }
                }
                if self.req.body_left == 0 {
                    self.req_state = ReqState::Finalize;
                }
            }
            ReqState::Idle | ReqState::Ignore09 => {}
            _ => {
                // libhtp: "Gaps are not allowed during this state": stop parsing requests.
                self.req_gap = true;
                self.in_status = Status::Error;
                let _ = o;
            }
        }
    }

    fn res_gap(&mut self, len: u64, o: &mut Out<'_>) {
        let id = self.res.tx;
        if let Some(tx) = id.and_then(|i| self.tx_mut(i)) {
            if let Some(f) = tx.response_file.as_mut() {
                f.gaps = true;
            }
        }
        match self.res_state {
            ResState::ClKnown | ResState::StreamClose => {
                let n = if self.res_state == ResState::ClKnown {
                    i64::try_from(len)
                        .unwrap_or(i64::MAX)
                        .min(self.res.body_left)
                } else {
                    i64::try_from(len).unwrap_or(i64::MAX)
                };
                if self.res_state == ResState::ClKnown {
                    self.res.body_left -= n;
                }
                // A body that starts with missing bytes still opens its file (Suricata passes
                // the gap to the body callback), which then records the gap.
                let unopened = id
                    .and_then(|i| self.tx(i))
                    .is_some_and(|t| t.response_body.total == 0 && t.response_file.is_none());
                if unopened && n > 0 {
                    if let Some(i) = id {
                        self.open_path_file(i, false, o);
                    }
                }
                if let Some(tx) = id.and_then(|i| self.tx_mut(i)) {
                    let n = u64::try_from(n).unwrap_or(0);
                    tx.response_message_len = tx.response_message_len.saturating_add(n);
                    if let Some(f) = tx.response_file.as_mut() {
                        f.append_gap(n);
                        if let Some(b) = self.res_range.as_mut() {
                            b.gap(n);
                        }
                    }
                }
                // Decompression cannot continue across missing bytes.
                self.decomp = None;
                if let Some(tx) = id.and_then(|i| self.tx_mut(i)) {
                    tx.compression_none = true;
                }
                if self.res_state == ResState::ClKnown && self.res.body_left == 0 {
                    self.res_state = ResState::Finalize;
                    let _ = self.response_complete(o);
                }
            }
            ResState::Finalize => {
                let _ = self.response_complete(o);
            }
            ResState::Idle => {}
            _ => {
                self.res_gap = true;
                self.out_status = Status::Error;
            }
        }
    }

    fn drive(&mut self, dir: Direction, data: &[u8], o: &mut Out<'_>) -> ParseStatus {
        if self.dead {
            return ParseStatus::Error;
        }
        let mut cur = Cur { data, pos: 0 };
        match dir {
            Direction::ToServer => {
                if matches!(self.in_status, Status::Error | Status::Tunnel) {
                    return ParseStatus::Ok;
                }
                if data.is_empty() && self.in_status != Status::Closed {
                    return ParseStatus::Ok;
                }
                if self.out_status == Status::DataOther {
                    self.out_status = Status::Data;
                }
                self.req.line_prev = self.req.line.len();
                let rc = self.run_request(&mut cur, o);
                match rc {
                    Rc::Error => {
                        self.in_status = Status::Error;
                        self.fail(o);
                        return ParseStatus::Error;
                    }
                    Rc::DataOther => {
                        // Suricata drops what libhtp did not consume while it waits.
                        if self.in_status != Status::Closed {
                            self.in_status = Status::DataOther;
                        }
                    }
                    _ => {
                        if !matches!(self.in_status, Status::Tunnel | Status::Closed) {
                            self.in_status = Status::Data;
                        }
                    }
                }
            }
            Direction::ToClient => {
                if matches!(self.out_status, Status::Error | Status::Tunnel) {
                    return ParseStatus::Ok;
                }
                if data.is_empty() && self.out_status != Status::Closed {
                    return ParseStatus::Ok;
                }
                self.res.line_prev = self.res.line.len();
                let rc = self.run_response(&mut cur, o);
                match rc {
                    Rc::Error => {
                        self.out_status = Status::Error;
                        self.fail(o);
                        return ParseStatus::Error;
                    }
                    Rc::DataOther => {
                        if self.out_status != Status::Closed {
                            self.out_status = Status::DataOther;
                        }
                    }
                    _ => {
                        if !matches!(self.out_status, Status::Tunnel | Status::Closed) {
                            self.out_status = Status::Data;
                        }
                    }
                }
            }
        }
        self.retire();
        ParseStatus::Ok
    }
}

/// Suricata `HTPParseAndCheckContentRange`: `(Some((start, end, size)), _)` for a range that
/// names part of a file of known size; `None` for `*`, unknown sizes and whole-file ranges
/// (the file is then a plain one). The flag asks for `RANGE_INVALID`: unparsable, or a range
/// that is reversed or past the size.
fn check_content_range(v: &[u8]) -> (Option<(u64, u64, u64)>, bool) {
    let Some(r) = crate::uri::parse_content_range(v) else {
        return (None, true);
    };
    if r.end <= 0 || r.size <= 0 {
        return (None, false);
    }
    if r.start == 0 && r.end == r.size - 1 {
        return (None, false);
    }
    if r.start > r.end || r.end > r.size - 1 {
        return (None, true);
    }
    match (
        u64::try_from(r.start),
        u64::try_from(r.end),
        u64::try_from(r.size),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (Some((a, b, c)), false),
        _ => (None, true),
    }
}

/// libhtp's Content-Encoding handling (`htp_tx_state_response_headers` and its request twin):
/// the plain `gzip`/`x-gzip`, `deflate`/`x-deflate` values take the fast path; `inflate`,
/// `none` and `lzma` (off in Suricata's configuration) decode nothing; anything else is split
/// on commas and spaces into layers, bounded by `layer_limit` (0 = unbounded) and
/// [`MAX_DECOMPRESS_LAYERS`], with `ABNORMAL_CE_HEADER` for odd spellings.
fn content_encodings(ce: &[u8], layer_limit: u32) -> (Vec<CeCoding>, Vec<HttpEvent>) {
    let layer_limit = layer_limit as usize;
    let mut evs = Vec::new();
    let mut codings: Vec<CeCoding> = Vec::new();
    if eq_nocase_norzero(ce, b"gzip") || eq_nocase_norzero(ce, b"x-gzip") {
        codings.push(CeCoding::Gzip);
    } else if eq_nocase_norzero(ce, b"deflate") || eq_nocase_norzero(ce, b"x-deflate") {
        codings.push(CeCoding::Deflate);
    } else if eq_nocase_norzero(ce, b"inflate")
        || eq_nocase_norzero(ce, b"none")
        || eq_nocase_norzero(ce, b"lzma")
    {
        // nothing to decode (LZMA is disabled in Suricata's default configuration)
    } else {
        let mut layers = 0usize;
        for tok in ce
            .split(|&c| c == b',' || c == b' ')
            .filter(|t| !t.is_empty())
        {
            layers += 1;
            if (layer_limit != 0 && layers > layer_limit) || layers > MAX_DECOMPRESS_LAYERS {
                evs.push(HttpEvent::TooManyEncodingLayers);
                break;
            }
            if find_nocase(tok, b"gzip").is_some() {
                if !(tok == b"gzip" || tok == b"x-gzip") {
                    evs.push(HttpEvent::AbnormalCeHeader);
                }
                codings.push(CeCoding::Gzip);
            } else if find_nocase(tok, b"deflate").is_some() {
                if !(tok == b"deflate" || tok == b"x-deflate") {
                    evs.push(HttpEvent::AbnormalCeHeader);
                }
                codings.push(CeCoding::Deflate);
            } else if tok == b"lzma" || tok == b"inflate" || tok == b"none" {
            } else {
                evs.push(HttpEvent::AbnormalCeHeader);
            }
        }
    }
    (codings, evs)
}

/// libhtp `htp_parse_request_line_generic_ex` (IDS personality, `allow_space_uri` as
/// configured).
fn parse_request_line(tx: &mut HttpTx, data: &[u8], allow_space: bool, warns: &mut Vec<HttpEvent>) {
    let len = data.len();
    let mut pos = 0usize;
    while pos < len && is_space(data[pos]) {
        pos += 1;
    }
    if pos > 0 {
        warns.push(HttpEvent::RequestLineLeadingWhitespace);
    }
    let mstart = pos;
    while pos < len && !is_space(data[pos]) {
        pos += 1;
    }
    let method = data[mstart..pos].to_vec();
    tx.method_number = method_number(&method);
    tx.method = Some(method);
    let mut bad = false;
    while pos < len && is_space(data[pos]) {
        if data[pos] != b' ' {
            bad = true;
        }
        pos += 1;
    }
    if bad {
        warns.push(HttpEvent::MethodDelimNonCompliant);
    }
    if pos == len {
        tx.is_0_9 = true;
        tx.protocol_number = proto::V0_9;
        return;
    }
    let start = pos;
    let mut bad_delim = false;
    if allow_space {
        let mut p = len - 1;
        while p > start && is_space(data[p]) {
            p -= 1;
        }
        while p > start && data[p] != b' ' {
            if !bad_delim && is_space(data[p]) {
                bad_delim = true;
            }
            p -= 1;
        }
        if bad_delim && p == start {
            p = len - 1;
            while p > start && !is_space(data[p]) {
                p -= 1;
            }
        } else {
            bad_delim = data[start..p].iter().any(|&c| c != b' ' && is_space(c));
        }
        if p == start {
            p = len;
        }
        pos = p;
    } else {
        while pos < len && data[pos] != b' ' {
            if !bad_delim && is_space(data[pos]) {
                bad_delim = true;
            }
            pos += 1;
        }
        if bad_delim && pos == len {
            pos = start;
            while pos < len && !is_space(data[pos]) {
                pos += 1;
            }
        }
    }
    if bad_delim {
        warns.push(HttpEvent::UriDelimNonCompliant);
    }
    tx.uri = Some(data[start..pos].to_vec());
    while pos < len && is_space(data[pos]) {
        pos += 1;
    }
    if pos == len {
        tx.is_0_9 = true;
        tx.protocol_number = proto::V0_9;
        return;
    }
    let p = data[pos..].to_vec();
    tx.protocol_number = parse_protocol(&p);
    tx.protocol = Some(p);
}

/// libhtp `htp_parse_response_line_generic`.
fn parse_response_line(tx: &mut HttpTx, data: &[u8]) {
    tx.response_protocol = None;
    tx.response_protocol_number = proto::INVALID;
    tx.response_status = None;
    tx.response_status_number = -1;
    tx.response_message = None;
    let len = data.len();
    let mut pos = 0;
    while pos < len && is_space(data[pos]) {
        pos += 1;
    }
    let start = pos;
    while pos < len && !is_space(data[pos]) {
        pos += 1;
    }
    if pos == start {
        return;
    }
    let p = data[start..pos].to_vec();
    tx.response_protocol_number = parse_protocol(&p);
    tx.response_protocol = Some(p);
    while pos < len && is_space(data[pos]) {
        pos += 1;
    }
    if pos == len {
        return;
    }
    let start = pos;
    while pos < len && !is_space(data[pos]) {
        pos += 1;
    }
    if pos == start {
        return;
    }
    let s = data[start..pos].to_vec();
    tx.response_status_number = parse_status(&s);
    tx.response_status = Some(s);
    while pos < len && is_space(data[pos]) {
        pos += 1;
    }
    if pos == len {
        return;
    }
    tx.response_message = Some(data[pos..].to_vec());
}

/// libhtp's generic header parser (request or response flavour). Returns the header and the
/// `txflags::FIELD_*` problems found.
fn parse_header(data: &[u8], request: bool) -> (Header, u32) {
    let (data, _) = chomp(data);
    let len = data.len();
    let mut flags = 0u32;
    let mut hf = 0u8;
    let colon = memchr::memchr(b':', data);
    let (name_end, value_start) = match colon {
        None => {
            hf |= hflags::UNPARSEABLE;
            flags |= txflags::FIELD_UNPARSEABLE;
            if !request {
                hf |= hflags::INVALID;
            }
            (0, 0)
        }
        Some(c) => {
            if c == 0 {
                hf |= hflags::INVALID;
                flags |= txflags::FIELD_INVALID;
            }
            let mut ne = c;
            while ne > 0 && is_lws(data[ne - 1]) {
                ne -= 1;
                hf |= hflags::INVALID;
                flags |= txflags::FIELD_INVALID;
            }
            (ne, c + 1)
        }
    };
    if colon.is_none() && request {
        // The whole line is the value of a header with an empty name.
        return (
            Header {
                name: Vec::new(),
                value: data.to_vec(),
                flags: hf,
            },
            flags,
        );
    }
    let mut vs = value_start.min(len);
    while vs < len && is_lws(data[vs]) {
        vs += 1;
    }
    let mut ve = len;
    while ve > vs && is_lws(data[ve - 1]) {
        ve -= 1;
    }
    if data[..name_end].iter().any(|&c| !is_token(c)) {
        hf |= hflags::INVALID;
        flags |= txflags::FIELD_INVALID;
    }
    (
        Header {
            name: data[..name_end].to_vec(),
            value: data[vs..ve].to_vec(),
            flags: hf,
        },
        flags,
    )
}

/// libhtp `htp_process_*_header_generic`: repeated headers join with `", "`, except
/// Content-Length (kept once; differing values are "ambiguous").
fn add_header(
    headers: &mut crate::tx::Headers,
    h: Header,
    reps: &mut u32,
    request: bool,
    evs: &mut Vec<HttpEvent>,
) {
    let Some(existing) = headers.get_mut(&h.name) else {
        headers.push(h);
        return;
    };
    if existing.flags & hflags::REPEATED != 0 {
        if *reps < MAX_HEADER_REPETITIONS {
            *reps += 1;
        } else {
            if *reps == MAX_HEADER_REPETITIONS {
                *reps += 1;
                evs.push(if request {
                    HttpEvent::RequestHeaderRepetition
                } else {
                    HttpEvent::ResponseHeaderRepetition
                });
            }
            return;
        }
    }
    existing.flags |= hflags::REPEATED;
    if h.name.eq_ignore_ascii_case(b"content-length") {
        let a = parse_content_length(&existing.value).value;
        let b = parse_content_length(&h.value).value;
        if a.is_none() || b.is_none() || a != b {
            evs.push(if request {
                HttpEvent::DuplicateContentLengthFieldInRequest
            } else {
                HttpEvent::DuplicateContentLengthFieldInResponse
            });
        }
    } else {
        // Bounded: at most MAX_HEADER_REPETITIONS joins of values each bounded by the field limit.
        existing.value.extend_from_slice(b", ");
        existing.value.extend_from_slice(&h.value);
    }
}

impl StreamParser for HttpState {
    fn take_inspect(&mut self, out: &mut Vec<AppOutput>) {
        out.append(&mut self.early);
    }

    fn parse(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppOutput>) -> ParseStatus {
        let mut o = Out { out, dir };
        let rc = self.drive(dir, data, &mut o);
        if dir == Direction::ToClient {
            self.snapshot_response_head();
        }
        rc
    }

    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<AppOutput>) {
        if self.dead || len == 0 {
            return;
        }
        let mut o = Out { out, dir };
        match dir {
            Direction::ToServer => self.req_gap(len, &mut o),
            Direction::ToClient => self.res_gap(len, &mut o),
        }
        self.retire();
    }

    fn eof(&mut self, dir: Direction, out: &mut Vec<AppOutput>) {
        if self.dead {
            return;
        }
        let mut o = Out { out, dir };
        match dir {
            Direction::ToServer => {
                if matches!(
                    self.in_status,
                    Status::Error | Status::Tunnel | Status::Closed
                ) {
                    return;
                }
                self.in_status = Status::Closed;
                let _ = self.drive(dir, &[], &mut o);
            }
            Direction::ToClient => {
                if matches!(
                    self.out_status,
                    Status::Error | Status::Tunnel | Status::Closed
                ) {
                    return;
                }
                self.out_status = Status::Closed;
                let _ = self.drive(dir, &[], &mut o);
            }
        }
    }

    /// A CONNECT tunnel carrying something else than HTTP hands the stream over (Suricata
    /// detects the protocol again, `app_proto_orig: http`). `101` upgrades do not: they need
    /// a known protocol (HTTP/2, WebSocket), which this pipeline does not parse.
    fn handoff(&self) -> Option<&'static str> {
        (self.upgrade == Some(Upgrade::Tunnel)).then_some(APP_PROTO)
    }

    fn take_replay(&mut self) -> Option<(Direction, Vec<u8>)> {
        self.replay.take()
    }

    fn flush(&mut self, out: &mut Vec<AppOutput>) {
        // Flow end closes both directions first (a body-until-close response completes).
        self.eof(Direction::ToServer, out);
        self.eof(Direction::ToClient, out);
        let mut o = Out {
            out,
            dir: Direction::ToServer,
        };
        if !self.dead {
            self.dead = true;
            self.flush_all(&mut o);
        }
    }
}
