//! One HTTP transaction: what the request and response said, bounded, and how to render it as
//! Suricata's `http` EVE object.

use events::http::{ContentRange as EveContentRange, Header as EveHeader, HttpEve};
use events::lossy_string;

use crate::config::{DumpHeaders, HttpConfig};
use crate::files::HttpFile;
use crate::uri::{parse_content_range, NormalizedUri, ParsedUri};
use crate::util::{strtoul_u32, Method};

/// Header flags (libhtp `HTP_FIELD_*`).
pub(crate) mod hflags {
    /// The header appeared more than once (values joined with `", "`).
    pub(crate) const REPEATED: u8 = 1;
    /// The header was folded over several lines.
    pub(crate) const FOLDED: u8 = 2;
    /// No colon: the whole line is the value of a header with an empty name.
    pub(crate) const UNPARSEABLE: u8 = 4;
    /// Empty name, LWS after the name, or a name that is not a token.
    pub(crate) const INVALID: u8 = 8;
}

/// One header, as libhtp keeps it: the first spelling of the name, repeated values joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Name as first sent.
    pub name: Vec<u8>,
    /// Value (LWS trimmed, repetitions joined with `", "`).
    pub value: Vec<u8>,
    pub(crate) flags: u8,
}

/// Headers of one message, in first-seen order, looked up case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    /// First header with this name (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Header> {
        self.list
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
    }
    /// Value of a header.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(|h| h.value.as_slice())
    }
    /// All headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.list.iter()
    }
    /// Number of distinct headers.
    pub fn len(&self) -> usize {
        self.list.len()
    }
    /// True when there is no header.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    pub(crate) fn get_mut(&mut self, name: &[u8]) -> Option<&mut Header> {
        self.list
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case(name))
    }
    pub(crate) fn push(&mut self, h: Header) {
        self.list.push(h);
    }
    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }
}

/// Progress of one side of a transaction (libhtp `HTP_REQUEST_*` / `HTP_RESPONSE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Progress {
    /// Nothing yet.
    NotStarted,
    /// Reading the first line.
    Line,
    /// Reading headers.
    Headers,
    /// Reading the body.
    Body,
    /// Reading trailers.
    Trailer,
    /// Done.
    Complete,
}

/// How a message body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Unknown,
    NoBody,
    Identity,
    Chunked,
    Invalid,
}

/// Transaction flags (libhtp `HTP_*` subset Suricata turns into events).
pub(crate) mod txflags {
    pub(crate) const FIELD_UNPARSEABLE: u32 = 1;
    pub(crate) const FIELD_INVALID: u32 = 1 << 1;
    pub(crate) const INVALID_FOLDING: u32 = 1 << 2;
    pub(crate) const REQUEST_INVALID_T_E: u32 = 1 << 3;
    pub(crate) const REQUEST_INVALID_C_L: u32 = 1 << 4;
    pub(crate) const HOST_MISSING: u32 = 1 << 5;
    pub(crate) const HOST_AMBIGUOUS: u32 = 1 << 6;
    pub(crate) const HOSTU_INVALID: u32 = 1 << 7;
    pub(crate) const HOSTH_INVALID: u32 = 1 << 8;
    pub(crate) const REQUEST_SMUGGLING: u32 = 1 << 9;
    pub(crate) const STATUS_LINE_INVALID: u32 = 1 << 10;
    pub(crate) const REQUEST_INVALID: u32 = 1 << 11;
    pub(crate) const RES_FIELD_UNPARSEABLE: u32 = 1 << 12;
    pub(crate) const RES_FIELD_INVALID: u32 = 1 << 13;
    pub(crate) const RES_INVALID_FOLDING: u32 = 1 << 14;
}

/// A body buffer for inspection, bounded by the configured body limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// The first `limit` bytes of the (dechunked, decompressed) body.
    pub data: Vec<u8>,
    /// Total body bytes seen (may exceed `data.len()`).
    pub total: u64,
    /// Bytes were dropped because of the limit.
    pub truncated: bool,
}

/// Body bytes kept for inspection when the configured body limit is 0 ("unlimited"): 16 MiB,
/// far above any inspection window Suricata uses (its defaults keep 100 KiB), so that a
/// configuration asking for everything still cannot make one transaction hold an arbitrary
/// amount of memory. Hitting it raises `BODY_KEPT_CAP_REACHED` (ours); sizes, hashes and
/// files still count every byte.
pub const MAX_BODY_KEPT: usize = 16 * 1024 * 1024;

/// Bytes kept for a body limit (0 means [`MAX_BODY_KEPT`]).
pub(crate) fn kept_cap(limit: u32) -> usize {
    if limit == 0 {
        MAX_BODY_KEPT
    } else {
        usize::try_from(limit).unwrap_or(MAX_BODY_KEPT)
    }
}

impl Body {
    /// Counts `d` and keeps what fits under `limit`. Returns true when this call is the first
    /// to hit [`MAX_BODY_KEPT`] (only possible with `limit` 0).
    pub(crate) fn append(&mut self, d: &[u8], limit: u32) -> bool {
        self.total = self.total.saturating_add(d.len() as u64);
        let room = kept_cap(limit).saturating_sub(self.data.len());
        let take = room.min(d.len());
        self.data.extend_from_slice(&d[..take]);
        let cut = take < d.len();
        let first_cap_hit = cut && limit == 0 && !self.truncated;
        if cut {
            self.truncated = true;
        }
        first_cap_hit
    }
}

/// One HTTP transaction.
#[derive(Debug, Clone)]
pub struct HttpTx {
    pub(crate) id: u64,
    // Request.
    pub(crate) request_line: Option<Vec<u8>>,
    pub(crate) method: Option<Vec<u8>>,
    pub(crate) method_number: Method,
    pub(crate) uri: Option<Vec<u8>>,
    pub(crate) protocol: Option<Vec<u8>>,
    pub(crate) protocol_number: i32,
    pub(crate) is_0_9: bool,
    pub(crate) parsed_uri: ParsedUri,
    pub(crate) norm_uri: Option<NormalizedUri>,
    pub(crate) request_headers: Headers,
    pub(crate) request_headers_raw: Vec<u8>,
    pub(crate) request_trailers_raw: Vec<u8>,
    pub(crate) hostname: Option<Vec<u8>>,
    pub(crate) port_number: i32,
    pub(crate) request_coding: Coding,
    pub(crate) request_content_length: i64,
    pub(crate) request_message_len: u64,
    pub(crate) request_progress: Progress,
    /// The request header block ended (a CONNECT's request stays at the headers stage).
    pub(crate) request_headers_done: bool,
    pub(crate) request_body: Body,
    pub(crate) request_ignored_lines: u32,
    pub(crate) request_header_count: usize,
    // Response.
    pub(crate) response_line: Option<Vec<u8>>,
    pub(crate) response_protocol: Option<Vec<u8>>,
    pub(crate) response_protocol_number: i32,
    pub(crate) response_status: Option<Vec<u8>>,
    pub(crate) response_status_number: i32,
    pub(crate) response_message: Option<Vec<u8>>,
    pub(crate) response_headers: Headers,
    pub(crate) response_headers_raw: Vec<u8>,
    pub(crate) response_coding: Coding,
    pub(crate) response_content_length: i64,
    pub(crate) response_message_len: u64,
    pub(crate) response_progress: Progress,
    /// The (final) response header block ended (a `101` response stays at the headers
    /// stage).
    pub(crate) response_headers_done: bool,
    pub(crate) response_body: Body,
    pub(crate) response_header_count: usize,
    pub(crate) seen_100continue: u32,
    pub(crate) compression_none: bool,
    // Bookkeeping.
    pub(crate) flags: u32,
    pub(crate) flags_reported: u32,
    pub(crate) req_header_repetitions: u32,
    pub(crate) res_header_repetitions: u32,
    pub(crate) request_files: Vec<HttpFile>,
    pub(crate) response_file: Option<HttpFile>,
    /// A whole file reassembled from byte ranges, completed by this transaction's response.
    pub(crate) range_file: Option<HttpFile>,
    pub(crate) logged: bool,
}

impl HttpTx {
    pub(crate) fn new(id: u64) -> HttpTx {
        HttpTx {
            id,
            request_line: None,
            method: None,
            method_number: Method::Unknown,
            uri: None,
            protocol: None,
            protocol_number: crate::util::proto::INVALID,
            is_0_9: false,
            parsed_uri: ParsedUri::default(),
            norm_uri: None,
            request_headers: Headers::default(),
            request_headers_raw: Vec::new(),
            request_trailers_raw: Vec::new(),
            hostname: None,
            // libhtp allocates transactions zeroed: until the request headers are processed,
            // the port is 0, which Suricata then prints as `http_port: 0`.
            port_number: 0,
            request_coding: Coding::Unknown,
            request_content_length: -1,
            request_message_len: 0,
            request_progress: Progress::NotStarted,
            request_headers_done: false,
            request_body: Body::default(),
            request_ignored_lines: 0,
            request_header_count: 0,
            response_line: None,
            response_protocol: None,
            response_protocol_number: crate::util::proto::INVALID,
            response_status: None,
            response_status_number: -1,
            response_message: None,
            response_headers: Headers::default(),
            response_headers_raw: Vec::new(),
            response_coding: Coding::Unknown,
            response_content_length: -1,
            response_message_len: 0,
            response_progress: Progress::NotStarted,
            response_headers_done: false,
            response_body: Body::default(),
            response_header_count: 0,
            seen_100continue: 0,
            compression_none: false,
            flags: 0,
            flags_reported: 0,
            req_header_repetitions: 0,
            res_header_repetitions: 0,
            request_files: Vec::new(),
            response_file: None,
            range_file: None,
            logged: false,
        }
    }

    /// Transaction id within the flow (EVE `tx_id`).
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The request line without its line ending.
    pub fn request_line(&self) -> Option<&[u8]> {
        self.request_line.as_deref()
    }
    /// Request method as sent.
    pub fn method(&self) -> Option<&[u8]> {
        self.method.as_deref()
    }
    /// Known method, or [`Method::Unknown`].
    pub fn method_number(&self) -> Method {
        self.method_number
    }
    /// Raw request URI as sent (EVE `url`).
    pub fn uri(&self) -> Option<&[u8]> {
        self.uri.as_deref()
    }
    /// Normalised URI as Suricata's `http.uri` sees it: decoded path, then `?query`, then
    /// `#fragment`.
    pub fn normalized_uri(&self) -> Option<Vec<u8>> {
        let n = self.norm_uri.as_ref()?;
        let mut out = n.path.clone().unwrap_or_default();
        if let Some(q) = &n.query {
            out.push(b'?');
            out.extend_from_slice(q);
        }
        if let Some(f) = &n.fragment {
            out.push(b'#');
            out.extend_from_slice(f);
        }
        Some(out)
    }
    /// Normalised path (what files are named after).
    pub fn path(&self) -> Option<&[u8]> {
        self.norm_uri.as_ref()?.path.as_deref()
    }
    /// Request protocol string (`HTTP/1.1`).
    pub fn protocol(&self) -> Option<&[u8]> {
        self.protocol.as_deref()
    }
    /// Request headers.
    pub fn request_headers(&self) -> &Headers {
        &self.request_headers
    }
    /// Raw request header block (header lines as sent, bounded by the field and header limits).
    pub fn request_headers_raw(&self) -> &[u8] {
        &self.request_headers_raw
    }
    /// Host (from the absolute URI or the Host header), lowercased.
    pub fn host(&self) -> Option<&[u8]> {
        self.hostname.as_deref()
    }
    /// Cookie request header.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.request_headers.value("cookie")
    }
    /// User-Agent request header.
    pub fn user_agent(&self) -> Option<&[u8]> {
        self.request_headers.value("user-agent")
    }
    /// Request body kept for inspection.
    pub fn request_body(&self) -> &Body {
        &self.request_body
    }
    /// Request progress.
    pub fn request_progress(&self) -> Progress {
        self.request_progress
    }
    /// The response line without its line ending.
    pub fn response_line(&self) -> Option<&[u8]> {
        self.response_line.as_deref()
    }
    /// Response status code as sent.
    pub fn status(&self) -> Option<&[u8]> {
        self.response_status.as_deref()
    }
    /// Parsed status code (100..=999), when valid.
    pub fn status_number(&self) -> Option<u16> {
        u16::try_from(self.response_status_number).ok()
    }
    /// Response reason phrase.
    pub fn status_message(&self) -> Option<&[u8]> {
        self.response_message.as_deref()
    }
    /// Response headers.
    pub fn response_headers(&self) -> &Headers {
        &self.response_headers
    }
    /// Raw response header block.
    pub fn response_headers_raw(&self) -> &[u8] {
        &self.response_headers_raw
    }
    /// Response body kept for inspection (dechunked, decompressed).
    pub fn response_body(&self) -> &Body {
        &self.response_body
    }
    /// Response progress.
    pub fn response_progress(&self) -> Progress {
        self.response_progress
    }
    /// Response body bytes on the wire, including chunk framing (EVE `length`).
    pub fn response_message_len(&self) -> u64 {
        self.response_message_len
    }
    /// Files of this transaction: request files, the response file, then a whole file
    /// reassembled from byte ranges when this response completed one.
    pub fn files(&self) -> impl Iterator<Item = &HttpFile> {
        self.request_files
            .iter()
            .chain(self.response_file.iter())
            .chain(self.range_file.iter())
    }
    /// Both sides complete.
    pub fn is_complete(&self) -> bool {
        self.request_progress == Progress::Complete && self.response_progress == Progress::Complete
    }

    /// A snapshot of a logged transaction that has to stay live (its files are not all
    /// logged, or the request side still points at it): the kept bodies and file contents
    /// *move* into the copy — nothing appends to them once both sides are complete — and the
    /// rest (lines, headers, file bookkeeping) is cloned.
    pub(crate) fn inspection_copy(&mut self) -> HttpTx {
        let req_body = std::mem::take(&mut self.request_body.data);
        let res_body = std::mem::take(&mut self.response_body.data);
        let contents: Vec<Option<Vec<u8>>> = self
            .request_files
            .iter_mut()
            .map(HttpFile::take_content)
            .collect();
        let mut copy = self.clone();
        copy.request_body.data = req_body;
        copy.response_body.data = res_body;
        for (f, c) in copy.request_files.iter_mut().zip(contents) {
            f.put_content(c);
        }
        copy
    }

    /// The `http` EVE object for this transaction, as Suricata logs it now.
    pub fn to_eve(&self, cfg: &HttpConfig) -> HttpEve {
        let mut e = HttpEve {
            hostname: self.hostname.as_deref().map(lossy_string),
            http_port: u16::try_from(self.port_number).ok(),
            url: self.uri.as_deref().map(lossy_string),
            http_user_agent: self.request_headers.value("user-agent").map(lossy_string),
            xff: self
                .request_headers
                .value("x-forwarded-for")
                .map(lossy_string),
            ..Default::default()
        };
        if let Some(ct) = self.response_headers.value("content-type") {
            let s = bytes_to_string_buffer(ct);
            let cut = s.iter().position(|&c| c == b';').unwrap_or(s.len());
            e.http_content_type = Some(lossy_string(&s[..cut]));
        }
        if let Some(cr) = self.response_headers.value("content-range") {
            let mut r = EveContentRange {
                raw: lossy_string(cr),
                ..Default::default()
            };
            if let Some(p) = parse_content_range(cr) {
                r.start = (p.start >= 0).then_some(p.start);
                r.end = (p.end >= 0).then_some(p.end);
                r.size = (p.size >= 0).then_some(p.size);
            }
            e.content_range = Some(r);
        }
        if cfg.extended {
            e.http_refer = self.request_headers.value("referer").map(lossy_string);
            e.http_method = self.method.as_deref().map(lossy_string);
            e.protocol = self.protocol.as_deref().map(lossy_string);
            if let Some(st) = &self.response_status {
                e.status = Some(strtoul_u32(&bytes_to_string_buffer(st)));
                e.redirect = self.response_headers.value("location").map(lossy_string);
            }
            e.length = Some(self.response_message_len);
        }
        if cfg.base64 {
            e.base64 = crate::b64::scan(self);
        }
        let custom = !cfg.custom_headers.is_empty();
        let dump_req = matches!(
            cfg.dump_all_headers,
            DumpHeaders::Request | DumpHeaders::Both
        );
        let dump_res = matches!(
            cfg.dump_all_headers,
            DumpHeaders::Response | DumpHeaders::Both
        );
        if dump_req || custom {
            e.request_headers = dump_headers(&self.request_headers, dump_req, cfg);
        }
        if dump_res || custom {
            e.response_headers = dump_headers(&self.response_headers, dump_res, cfg);
        }
        e
    }
}

/// Suricata `BytesToStringBuffer`: NUL bytes become the two characters `\0`.
fn bytes_to_string_buffer(b: &[u8]) -> Vec<u8> {
    if !b.contains(&0) {
        return b.to_vec();
    }
    let mut out = Vec::with_capacity(b.len() + 8);
    for &c in b {
        if c == 0 {
            out.extend_from_slice(b"\\0");
        } else {
            out.push(c);
        }
    }
    out
}

/// Longest header name / value Suricata prints (`MAX_SIZE_HEADER_NAME` / `_VALUE` minus NUL).
const MAX_LOG_HEADER_NAME: usize = 255;
const MAX_LOG_HEADER_VALUE: usize = 2047;

fn dump_headers(h: &Headers, all: bool, cfg: &HttpConfig) -> Option<Vec<EveHeader>> {
    let mut v = Vec::new();
    for x in h.iter() {
        if !all
            && !cfg
                .custom_headers
                .iter()
                .any(|c| c.as_bytes().eq_ignore_ascii_case(&x.name))
        {
            continue;
        }
        // Suricata copies into C strings: a NUL ends the text.
        let cstr = |b: &[u8], max: usize| {
            let b = &b[..b.len().min(max)];
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            lossy_string(&b[..end])
        };
        v.push(EveHeader {
            name: cstr(&x.name, MAX_LOG_HEADER_NAME),
            value: cstr(&x.value, MAX_LOG_HEADER_VALUE),
        });
    }
    (!v.is_empty()).then_some(v)
}
