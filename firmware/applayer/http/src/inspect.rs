//! What the signature engine may inspect in an HTTP transaction (Suricata 7.0.10's sticky
//! buffers over libhtp's transaction).
//!
//! With [`HttpConfig::inspect`](crate::HttpConfig::inspect) on, the output that logs a
//! transaction (its `http` record, also when written at flow end) carries an
//! [`HttpTxBuffers`]. Cost: when the transaction can leave the flow's deque at that moment
//! (the usual case, and always at flow end) it *moves* into the snapshot; when it cannot (its
//! files are not all logged yet, or the request side still points at it), its bodies and
//! captured file data move and only the head (lines and headers, bounded by the field and
//! header limits) is copied. Buffers that are not stored as such (`http.header`,
//! `http.start`, …) are built when asked for.
//!
//! The buffers, with the content Suricata 7.0.10 gives them (each checked against Suricata
//! with Lua-dumping rules, over the corpus captures and crafted ones; see the tests):
//!
//! Request side (`ToServer`):
//! - `http.uri`: the normalised URI: decoded, dot-segment-free path, then `?` and the query
//!   %-decoded once (`+` and `%u` kept), then `#fragment` ([`HttpTx::normalized_uri`]);
//!   absent for CONNECT and for a transaction made up for a response without a request;
//! - `http.uri.raw`, `http.method`, `http.request_line` (no line end), `http.protocol`: as
//!   sent;
//! - `http.host`: the URI's host (normalised), else the Host header's host as libhtp keeps it:
//!   lowercased only when no port follows, trailing dots kept;
//! - `http.host.raw`: the host of libhtp's parsed URI (normalised for an absolute URI, the
//!   authority's for CONNECT), else the whole Host header value, port included;
//! - `http.user_agent`, `http.referer`, `http.accept`, `http.accept_enc`,
//!   `http.accept_lang`, `http.cookie`: that header's value;
//! - `http.request_body`: dechunked, decompressed body, up to `request-body-limit`;
//! - `http.request_header` (by index): each header as `Name: value`;
//! - `file.data` (by index): the content of each request file (PUT/POST body, multipart part
//!   with a file name), up to the request body limit.
//!
//! Response side (`ToClient`):
//! - `http.stat_code`, `http.stat_msg`, `http.response_line`, `http.protocol`: as sent;
//! - `http.cookie` (`Set-Cookie`), `http.location`, `http.server`: that header's value;
//! - `http.response_body` and `file.data`: dechunked, decompressed body, up to
//!   `response-body-limit`;
//! - `http.response_header` (by index): each header as `Name: value`.
//!
//! Both sides:
//! - `http.connection`, `http.content_type`, `http.content_len`: that header's value;
//! - `http.header`: every header but `Cookie` / `Set-Cookie`, each `Name: value\r\n`, once the
//!   header block is complete;
//! - `http.header.raw`: the header block as sent, trailers appended (after a `100 Continue`,
//!   the final status line and headers follow the interim block, as libhtp feeds them);
//! - `http.header_names`: `\r\n`, then each name followed by `\r\n`, then `\r\n`;
//! - `http.start`: first line, `\r\n`, each header as `Name: value\r\n`, and a final `\r\n`
//!   only when there is at least one header.
//!
//! Empty buffers are absent: Suricata does not inspect a zero-length buffer.
//!
//! Headers repeated in a message are one header with values joined by `", "`, as libhtp keeps
//! them. `number("http.stat_code")` is the parsed status code; `number("urilen")` and
//! `number("urilen.raw")` the lengths of the normalised and raw URI.
//!
//! Suricata inspects bodies through a sliding window as they arrive; a snapshot holds the
//! whole kept body at once, so a pattern straddling two of Suricata's windows can match here
//! and not there.

use std::borrow::Cow;

use events::inspect::TxBuffers;
use types::Direction;

use crate::tx::{Header, Headers, HttpTx, Progress};

/// The buffers a snapshot may hold for the request side (`ToServer`), in Suricata's names.
pub const REQUEST_BUFFERS: &[&str] = &[
    "http.uri",
    "http.uri.raw",
    "http.method",
    "http.request_line",
    "http.protocol",
    "http.host",
    "http.host.raw",
    "http.user_agent",
    "http.cookie",
    "http.referer",
    "http.accept",
    "http.accept_enc",
    "http.accept_lang",
    "http.connection",
    "http.content_type",
    "http.content_len",
    "http.header",
    "http.header.raw",
    "http.header_names",
    "http.start",
    "http.request_body",
    "http.request_header",
    "file.data",
];

/// The buffers a snapshot may hold for the response side (`ToClient`).
pub const RESPONSE_BUFFERS: &[&str] = &[
    "http.protocol",
    "http.cookie",
    "http.connection",
    "http.content_type",
    "http.content_len",
    "http.header",
    "http.header.raw",
    "http.header_names",
    "http.start",
    "http.stat_code",
    "http.stat_msg",
    "http.response_line",
    "http.location",
    "http.server",
    "http.response_body",
    "file.data",
    "http.response_header",
];

/// The numbers a snapshot answers ([`TxBuffers::number`]).
pub const NUMBERS: &[&str] = &["http.stat_code", "urilen", "urilen.raw"];

/// The inspection snapshot of one HTTP transaction.
#[derive(Debug)]
pub struct HttpTxBuffers {
    tx: HttpTx,
}

impl HttpTxBuffers {
    /// Wraps a logged transaction.
    pub(crate) fn new(tx: HttpTx) -> HttpTxBuffers {
        HttpTxBuffers { tx }
    }

    /// The transaction.
    pub fn tx(&self) -> &HttpTx {
        &self.tx
    }

    fn headers(&self, dir: Direction) -> &Headers {
        match dir {
            Direction::ToServer => &self.tx.request_headers,
            Direction::ToClient => &self.tx.response_headers,
        }
    }

    /// The header block of `dir` is complete.
    fn headers_done(&self, dir: Direction) -> bool {
        match dir {
            Direction::ToServer => self.tx.request_headers_done,
            Direction::ToClient => {
                self.tx.response_headers_done || self.tx.response_progress > Progress::Headers
            }
        }
    }

    fn value(&self, dir: Direction, name: &str) -> Option<Cow<'_, [u8]>> {
        self.headers(dir).value(name).map(Cow::Borrowed)
    }

    /// `http.header`: every header but the cookie one, `Name: value\r\n`.
    fn header_buffer(&self, dir: Direction) -> Option<Cow<'_, [u8]>> {
        if !self.headers_done(dir) {
            return None;
        }
        let skip: &[u8] = match dir {
            Direction::ToServer => b"cookie",
            Direction::ToClient => b"set-cookie",
        };
        let mut out = Vec::new();
        for h in self.headers(dir).iter() {
            if h.name.eq_ignore_ascii_case(skip) {
                continue;
            }
            push_header(&mut out, h);
            out.extend_from_slice(b"\r\n");
        }
        Some(Cow::Owned(out))
    }

    /// `http.header_names`: `\r\n`, each name followed by `\r\n`, then `\r\n`.
    fn header_names(&self, dir: Direction) -> Option<Cow<'_, [u8]>> {
        let hs = self.headers(dir);
        if hs.is_empty() {
            return None;
        }
        let mut out = b"\r\n".to_vec();
        for h in hs.iter() {
            out.extend_from_slice(&h.name);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Some(Cow::Owned(out))
    }

    /// `http.start`: first line, `\r\n`, all headers as `Name: value\r\n`, `\r\n`.
    fn start(&self, dir: Direction) -> Option<Cow<'_, [u8]>> {
        let line = match dir {
            Direction::ToServer => self.tx.request_line.as_deref()?,
            Direction::ToClient => self.tx.response_line.as_deref()?,
        };
        let mut out = line.to_vec();
        out.extend_from_slice(b"\r\n");
        let hs = self.headers(dir);
        for h in hs.iter() {
            push_header(&mut out, h);
            out.extend_from_slice(b"\r\n");
        }
        // The blank line only follows headers: Suricata ends a header-less start line there.
        if !hs.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
        Some(Cow::Owned(out))
    }

    /// `http.header.raw`: the raw header block (plus trailers for requests).
    fn header_raw(&self, dir: Direction) -> Option<Cow<'_, [u8]>> {
        match dir {
            Direction::ToServer => {
                let h = &self.tx.request_headers_raw;
                let t = &self.tx.request_trailers_raw;
                if h.is_empty() && t.is_empty() {
                    None
                } else if t.is_empty() {
                    Some(Cow::Borrowed(h))
                } else {
                    let mut out = h.clone();
                    out.extend_from_slice(t);
                    Some(Cow::Owned(out))
                }
            }
            Direction::ToClient => {
                let h = &self.tx.response_headers_raw;
                (!h.is_empty()).then_some(Cow::Borrowed(h.as_slice()))
            }
        }
    }

    /// `http.host.raw`: the host of libhtp's parsed URI (normalised for an absolute URI, the
    /// authority's host for CONNECT), else the whole Host header value.
    fn host_raw(&self) -> Option<Cow<'_, [u8]>> {
        let uri_host = self
            .tx
            .norm_uri
            .as_ref()
            .and_then(|n| n.hostname.as_deref());
        match uri_host {
            Some(h) => Some(Cow::Borrowed(h)),
            None => self.value(Direction::ToServer, "host"),
        }
    }

    /// Header `index` as `Name: value`.
    fn header_at(&self, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>> {
        let h = self.headers(dir).iter().nth(index)?;
        let mut out = Vec::with_capacity(h.name.len() + h.value.len() + 2);
        push_header(&mut out, h);
        Some(Cow::Owned(out))
    }

    /// `file.data` to server: the kept content of request file `index`.
    fn request_file(&self, index: usize) -> Option<Cow<'_, [u8]>> {
        let f = self.tx.request_files.get(index)?;
        f.inspect_data().map(Cow::Borrowed)
    }
}

/// Appends `Name: value`.
fn push_header(out: &mut Vec<u8>, h: &Header) {
    out.extend_from_slice(&h.name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(&h.value);
}

fn non_empty(b: &[u8]) -> Option<Cow<'_, [u8]>> {
    (!b.is_empty()).then_some(Cow::Borrowed(b))
}

impl TxBuffers for HttpTxBuffers {
    fn app_proto(&self) -> &'static str {
        crate::APP_PROTO
    }

    /// Empty buffers are reported as absent: Suricata does not inspect a zero-length buffer.
    fn buffer(&self, name: &str, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>> {
        self.lookup(name, dir, index).filter(|b| !b.is_empty())
    }

    fn number(&self, name: &str) -> Option<u64> {
        let tx = &self.tx;
        match name {
            "http.stat_code" => tx.status_number().map(u64::from),
            "urilen" => tx
                .normalized_uri()
                .and_then(|u| u64::try_from(u.len()).ok()),
            "urilen.raw" => tx.uri.as_ref().and_then(|u| u64::try_from(u.len()).ok()),
            _ => None,
        }
    }

    fn complete(&self, dir: Direction) -> bool {
        match dir {
            Direction::ToServer => self.tx.request_progress == Progress::Complete,
            Direction::ToClient => self.tx.response_progress == Progress::Complete,
        }
    }

    /// A side is worth inspecting once its head (line and headers) is in.
    fn ready(&self, dir: Direction) -> bool {
        let p = match dir {
            Direction::ToServer => self.tx.request_progress,
            Direction::ToClient => self.tx.response_progress,
        };
        p > Progress::Headers
    }
}

impl HttpTxBuffers {
    fn lookup(&self, name: &str, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>> {
        use Direction::{ToClient, ToServer};
        // Buffers that occur several times.
        match (name, dir) {
            ("http.request_header", ToServer) | ("http.response_header", ToClient) => {
                return self.header_at(dir, index);
            }
            ("file.data", ToServer) => return self.request_file(index),
            _ => {}
        }
        if index != 0 {
            return None;
        }
        let tx = &self.tx;
        match (name, dir) {
            // A transaction made up for a response without a request has the raw URI
            // `/libhtp::request_uri_not_seen`, but Suricata never normalised it.
            ("http.uri", ToServer) if tx.request_line.is_some() => {
                tx.normalized_uri().map(Cow::Owned)
            }
            ("http.uri.raw", ToServer) => tx.uri.as_deref().map(Cow::Borrowed),
            ("http.method", ToServer) => tx.method.as_deref().map(Cow::Borrowed),
            ("http.request_line", ToServer) => tx.request_line.as_deref().map(Cow::Borrowed),
            ("http.protocol", ToServer) => tx.protocol.as_deref().map(Cow::Borrowed),
            ("http.protocol", ToClient) => tx.response_protocol.as_deref().map(Cow::Borrowed),
            ("http.host", ToServer) => tx.hostname.as_deref().map(Cow::Borrowed),
            ("http.host.raw", ToServer) => self.host_raw(),
            ("http.user_agent", ToServer) => self.value(dir, "user-agent"),
            ("http.cookie", ToServer) => self.value(dir, "cookie"),
            ("http.cookie", ToClient) => self.value(dir, "set-cookie"),
            ("http.referer", ToServer) => self.value(dir, "referer"),
            ("http.accept", ToServer) => self.value(dir, "accept"),
            ("http.accept_enc", ToServer) => self.value(dir, "accept-encoding"),
            ("http.accept_lang", ToServer) => self.value(dir, "accept-language"),
            ("http.connection", _) => self.value(dir, "connection"),
            ("http.content_type", _) => self.value(dir, "content-type"),
            ("http.content_len", _) => self.value(dir, "content-length"),
            ("http.location", ToClient) => self.value(dir, "location"),
            ("http.server", ToClient) => self.value(dir, "server"),
            ("http.header", _) => self.header_buffer(dir),
            ("http.header.raw", _) => self.header_raw(dir),
            ("http.header_names", _) => self.header_names(dir),
            ("http.start", _) => self.start(dir),
            ("http.request_body", ToServer) => non_empty(&tx.request_body.data),
            ("http.response_body" | "file.data", ToClient) => non_empty(&tx.response_body.data),
            ("http.stat_code", ToClient) => tx.response_status.as_deref().map(Cow::Borrowed),
            ("http.stat_msg", ToClient) => tx.response_message.as_deref().map(Cow::Borrowed),
            ("http.response_line", ToClient) => tx.response_line.as_deref().map(Cow::Borrowed),
            _ => None,
        }
    }
}
