//! HTTP/1.x app-layer parser: transactions, bodies, files and the EVE records Suricata 7.0.10
//! writes for them (`http` with `extended: yes`, `fileinfo`, and HTTP `anomaly` events).
//!
//! Layer: an app-layer parser under `firmware/applayer`, called by the pipeline through
//! [`events::app::StreamParser`] with the in-order byte stream of each direction of one TCP
//! flow. It owns the HTTP state of that flow ([`HttpState`]) and its live transactions
//! ([`HttpTx`]), which detection reads later (request line, method, raw and normalised URI,
//! headers, host, cookie, user agent, status, bodies...).
//!
//! # Behaviour
//! The parser reproduces libhtp 0.5 (IDS personality) as Suricata 7 drives it, oddities
//! included: leading blank lines are ignored; HTTP/0.9 requests (no protocol) have no headers
//! and their response is body until close; a first response line that does not start with
//! `HTTP` is body; responses without a request get a transaction with URI
//! `/libhtp::request_uri_not_seen`; pipelining, keep-alive, Content-Length, chunked bodies
//! (invalid response chunk sizes fall back to read-until-close), trailers, HEAD/1xx/204/304
//! without bodies, `100 Continue`, CONNECT (tunnel probing), `101` upgrades, folded and
//! repeated headers (values joined with `", "`), gzip/deflate decoding of response *and
//! request* bodies with libhtp's restart-then-passthrough fallback (zlib semantics), URIs
//! ending at the first space, UTF-8 best-fit file names, optional double decoding of paths,
//! multipart uploads, and byte-range reassembly across flows ([`range`]).
//!
//! # Slicing
//! Almost everything gives the same records for any slicing of the stream (the unit tests
//! feed every vector whole and byte by byte). Where libhtp itself looks at "the rest of the
//! current chunk", one [`events::app::StreamParser::parse`] call is one chunk, as one
//! `htp_connp_*_data` call is in Suricata: what follows a finished request or response (more body, or the next
//! message), a request line missing its protocol, a bare LF after a request, bytes after an
//! HTTP/0.9 request (Suricata then stops parsing the flow), and the body chunks a failing
//! decompressor restarts on. The pipeline hands over one TCP segment per call, which is
//! close to (though not always the same as) the acknowledged blocks Suricata parses.
//!
//! # Why a hand-written head parser
//! `httparse` is a strict, allocation-free parser for well-formed messages: it rejects what
//! libhtp accepts (bare LF, lone CR line ends, folded headers, NULs, missing protocol, junk
//! before the status line, spaces in URIs) and returns errors where libhtp returns data plus a
//! warning. An IDS must log what it saw, so the head parser is hand-written on libhtp's rules.
//!
//! # Detection
//! With [`HttpConfig::inspect`], the output that logs a transaction (its `http` record, also
//! when written at flow end) carries an [`HttpTxBuffers`] snapshot: Suricata 7.0.10's sticky
//! buffers (`http.uri`, `http.header`, `file.data` …) over that transaction, with the content
//! Suricata gives them (see [`inspect`]). The transaction moves into it when it leaves the
//! flow; otherwise only its head is copied and its bodies move. Request files then also keep
//! their content (up to the request body limit) for `file.data`. Off by default: outputs are
//! then exactly what they were.
//!
//! # Caps (every input-driven quantity is bounded)
//! - one header line plus its folded continuation: [`HttpConfig::field_limit`] (18000 bytes);
//!   past it the direction stops with `REQUEST_FIELD_TOO_LONG` / `RESPONSE_FIELD_TOO_LONG`;
//! - headers per message: [`HttpConfig::headers_limit`] (1024), then `*_TOO_MANY_HEADERS`;
//! - repetitions merged into one header: [`state::MAX_HEADER_REPETITIONS`];
//! - live transactions per flow: [`HttpConfig::max_tx`] (512);
//! - body bytes kept for inspection and stored in files: the body limits (100 KiB); a limit
//!   of 0 ("unlimited") still keeps at most [`MAX_BODY_KEPT`] (16 MiB,
//!   `BODY_KEPT_CAP_REACHED`);
//! - decoding: layers ([`HttpConfig::decompress_layer_limit`], at most
//!   [`MAX_DECOMPRESS_LAYERS`]) and a ratio/size bomb check
//!   ([`HttpConfig::decompress_limit`]); a huge Content-Length is a counter, never a buffer;
//! - chunk-size digits: [`util::MAX_CHUNK_LEN_DIGITS`] significant hex digits;
//! - anomalies per flow: [`state::MAX_EVENTS_PER_FLOW`];
//! - files per transaction and file-name length: [`files::MAX_FILES_PER_TX`],
//!   [`files::MAX_FILENAME`];
//! - byte ranges: [`range::MAX_RANGE_CONTAINERS`] URLs and [`range::RANGE_MEMCAP`] buffered
//!   out-of-order bytes, shared by the flows of one configuration.
//!
//! # Never
//! Panics on input, unbounded buffering, or trusting a length field for allocation.
//!
//! # Output orientation
//! `http` records print the client as source; `fileinfo` for response bodies prints the server
//! as source (request files the client); parser anomalies are oriented opposite to the data
//! that raised them, because Suricata in IDS mode parses one direction when the other side's
//! ACK arrives, and logs them on that packet.
#![forbid(unsafe_code)]

mod b64;
mod config;
mod decompress;
mod event;
pub mod files;
pub mod inspect;
pub mod range;
pub mod state;
mod tx;
mod uri;
pub mod util;

use events::app::Probe;
use types::Direction;

pub use config::{DumpHeaders, ForceHash, HttpConfig};
pub use event::HttpEvent;
pub use files::{FileState, HttpFile};
pub use inspect::HttpTxBuffers;
pub use range::RangeStore;
pub use state::{HttpState, Upgrade, MAX_DECOMPRESS_LAYERS};
pub use tx::{Body, Header, Headers, HttpTx, Progress, MAX_BODY_KEPT};
pub use util::Method;

/// The app-layer protocol name in EVE (`app_proto`).
pub const APP_PROTO: &str = "http";

/// Request methods Suricata registers as HTTP detection patterns (followed by SP or HT, at the
/// start of the to-server stream, case-insensitive).
const PROBE_METHODS: &[&[u8]] = &[
    b"GET",
    b"PUT",
    b"POST",
    b"HEAD",
    b"TRACE",
    b"OPTIONS",
    b"CONNECT",
    b"DELETE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"CHECKOUT",
    b"UNCHECKOUT",
    b"CHECKIN",
    b"UPDATE",
    b"LABEL",
    b"REPORT",
    b"MKWORKSPACE",
    b"MKACTIVITY",
    b"MERGE",
    b"INVALID",
    b"VERSION-CONTROL",
    b"BASELINE-CONTROL",
];

/// Response prefixes Suricata registers for the to-client stream (case-insensitive).
const PROBE_VERSIONS: &[&[u8]] = &[b"HTTP/0.9", b"HTTP/1.0", b"HTTP/1.1"];

/// Content-based HTTP detection, like Suricata's pattern registration: a known method followed
/// by SP/HT at the start of the to-server stream, `HTTP/0.9|1.0|1.1` at the start of the
/// to-client stream. `NeedMore` while the bytes are a prefix of a pattern.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    let mut need_more = false;
    let mut check = |pat: &[u8], sep: Option<&[u8]>| -> bool {
        let plen = pat.len() + usize::from(sep.is_some());
        let n = data.len().min(plen);
        let Some(head) = data.get(..n) else {
            return false;
        };
        let pat_part = &head[..n.min(pat.len())];
        if !pat_part.eq_ignore_ascii_case(&pat[..pat_part.len()]) {
            return false;
        }
        if n < plen {
            need_more = true;
            return false;
        }
        match sep {
            Some(s) => head.get(pat.len()).is_some_and(|c| s.contains(c)),
            None => true,
        }
    };
    let hit = match dir {
        Direction::ToServer => PROBE_METHODS.iter().any(|m| check(m, Some(b" \t"))),
        Direction::ToClient => PROBE_VERSIONS.iter().any(|v| check(v, None)),
    };
    if hit {
        Probe::Match
    } else if need_more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// Fuzzing entry points (used by `firmware/fuzz`). Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use std::sync::Arc;

    use events::app::StreamParser;
    use types::Direction;

    use crate::{HttpConfig, HttpState};

    /// Drives one flow (or two sharing a configuration) through every parser state: byte 0
    /// picks chunk sizes, byte 1 picks the configuration (small limits to reach caps); the rest
    /// is split into segments whose first byte chooses direction, gap or EOF.
    pub fn fuzz_http(data: &[u8]) {
        let Some((&seed, rest)) = data.split_first() else {
            return;
        };
        let (cfgb, rest) = rest.split_first().unwrap_or((&0, &[]));
        let mut cfg = HttpConfig::default();
        if cfgb & 1 != 0 {
            cfg.field_limit = 64;
            cfg.headers_limit = 4;
            cfg.max_tx = 3;
            cfg.request_body_limit = 16;
            cfg.response_body_limit = 16;
            cfg.decompress_limit = 64;
        }
        if cfgb & 2 != 0 {
            cfg.allow_space_uri = true;
        }
        if cfgb & 4 != 0 {
            cfg.force_hash.md5 = true;
            cfg.force_hash.sha256 = true;
        }
        if cfgb & 8 != 0 {
            cfg.dump_all_headers = crate::DumpHeaders::Both;
        }
        if cfgb & 16 != 0 {
            cfg.double_decode_path = true;
            cfg.double_decode_query = true;
            // The derived base64 fields scan URIs, headers and bodies.
            cfg.base64 = true;
        }
        if cfgb & 64 != 0 {
            cfg.inspect = true;
        }
        // Bit 5: the same input a second time on another flow of the same configuration, so
        // byte ranges meet across flows.
        let cfg = Arc::new(cfg);
        let flows = if cfgb & 32 != 0 { 2 } else { 1 };
        for _ in 0..flows {
            run_flow(&cfg, seed, rest);
        }
    }

    fn run_flow(cfg: &Arc<HttpConfig>, seed: u8, rest: &[u8]) {
        let mut st = HttpState::new(Arc::clone(cfg));
        let mut out = Vec::new();
        let chunk = usize::from(seed % 31) + 1;
        let mut pos = 0;
        while pos < rest.len() {
            let ctl = rest[pos];
            pos += 1;
            let n = chunk.min(rest.len() - pos);
            let seg = &rest[pos..pos + n];
            pos += n;
            let dir = if ctl & 1 == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            match ctl >> 5 {
                6 => st.gap(dir, u64::from(ctl & 0x1f) + 1, &mut out),
                7 if ctl & 2 != 0 => st.eof(dir, &mut out),
                _ => {
                    let _ = st.parse(dir, seg, &mut out);
                }
            }
            for tx in st.txs() {
                let _ = tx.to_eve(&HttpConfig::default());
                let _ = tx.normalized_uri();
            }
            for o in &out {
                if let Some(s) = o.inspect.as_deref() {
                    exercise(s);
                }
            }
            if out.len() > 4096 {
                out.clear();
            }
        }
        st.eof(Direction::ToServer, &mut out);
        st.eof(Direction::ToClient, &mut out);
        st.flush(&mut out);
    }

    /// Reads every buffer and number of a snapshot (bounded: a few indices per buffer).
    fn exercise(s: &dyn events::inspect::TxBuffers) {
        use crate::inspect::{NUMBERS, REQUEST_BUFFERS, RESPONSE_BUFFERS};
        for (dir, names) in [
            (Direction::ToServer, REQUEST_BUFFERS),
            (Direction::ToClient, RESPONSE_BUFFERS),
        ] {
            for name in names {
                for i in 0..4 {
                    let _ = s.buffer(name, dir, i);
                }
            }
            let _ = s.complete(dir);
        }
        for n in NUMBERS {
            let _ = s.number(n);
        }
    }

    /// Probes arbitrary bytes in both directions.
    pub fn fuzz_probe(data: &[u8]) {
        let _ = crate::probe(Direction::ToServer, data);
        let _ = crate::probe(Direction::ToClient, data);
    }
}

#[cfg(test)]
mod inspect_tests;
#[cfg(test)]
mod tests;
