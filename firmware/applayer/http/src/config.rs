//! Parser configuration. `Default` reproduces Suricata 7.0.10's shipped `suricata.yaml`
//! (libhtp IDS personality, `extended: yes`, no dump-all-headers, no file hashing).

use std::sync::Arc;

use crate::range::RangeStore;

/// Which header blocks `dump-all-headers` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DumpHeaders {
    /// No `request_headers` / `response_headers` arrays (Suricata's default).
    #[default]
    None,
    /// Request headers only.
    Request,
    /// Response headers only.
    Response,
    /// Both.
    Both,
}

/// File hash algorithms (`outputs.files.force-hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForceHash {
    /// Compute MD5.
    pub md5: bool,
    /// Compute SHA-1.
    pub sha1: bool,
    /// Compute SHA-256.
    pub sha256: bool,
}

/// HTTP parser settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// `request-body-limit`: request body bytes kept for inspection, and the size at which
    /// request files are truncated (Suricata: 100kb). 0 = unlimited.
    pub request_body_limit: u32,
    /// `response-body-limit` (Suricata: 100kb). 0 = unlimited.
    pub response_body_limit: u32,
    /// Response body decompression (libhtp default on).
    pub decompression: bool,
    /// `response-body-decompress-layer-limit` (Suricata: 2). 0 = unlimited (still capped by
    /// [`MAX_DECOMPRESS_LAYERS`](crate::MAX_DECOMPRESS_LAYERS)).
    pub decompress_layer_limit: u32,
    /// `compression-bomb-limit`: decoded bytes per layer after which a ratio above 2048:1 is a
    /// bomb (Suricata: 1mb).
    pub decompress_limit: u64,
    /// `dump-all-headers`.
    pub dump_all_headers: DumpHeaders,
    /// `custom`: extra header names logged in the header arrays even without dump-all-headers.
    pub custom_headers: Vec<String>,
    /// Log `http_refer`, method, protocol, status, redirect, length (`extended: yes`).
    pub extended: bool,
    /// `outputs.files.force-hash`.
    pub force_hash: ForceHash,
    /// Maximum bytes of one header line (plus folded continuation) buffered across segments
    /// (libhtp `field-limit-hard`, 18000). Longer lines end the direction with
    /// `REQUEST_FIELD_TOO_LONG` / `RESPONSE_FIELD_TOO_LONG`.
    pub field_limit: usize,
    /// Headers kept per message (`headers-limit`, 1024).
    pub headers_limit: usize,
    /// Live transactions per flow (`max-tx`, 512).
    pub max_tx: usize,
    /// libhtp `allow_space_uri`: the URI ends at the last space of the request line instead of
    /// the first. Suricata 7.0.10 never turns it on (no such setting in its yaml), so the URI
    /// ends at the first SP: `CONNECT host:25 / HTTP/1.0` has URI `host:25` and protocol
    /// `/ HTTP/1.0`.
    pub allow_space_uri: bool,
    /// `double-decode-path`: the normalised path (file names) is %-decoded a second time
    /// (Suricata: off).
    pub double_decode_path: bool,
    /// `double-decode-query`: the normalised query is %-decoded a second time (off).
    pub double_decode_query: bool,
    /// Attach an [`HttpTxBuffers`](crate::HttpTxBuffers) snapshot of each transaction to the
    /// output that logs it, for the signature engine, and keep request file content for
    /// `file.data` (default false: nothing is attached or kept).
    pub inspect: bool,
    /// Attach the derived hunting fields (`base64.decoded`, `base64.functions`) to `http`
    /// events (`outputs.eve-log.types.http.base64`, ours; default off, on with a data
    /// directory).
    pub base64: bool,
    /// Byte-range containers shared by every flow using this configuration (Suricata's
    /// `app-layer.protocols.http.byterange`): runtime state, not a setting; clones share it.
    pub ranges: Arc<RangeStore>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_body_limit: 100 * 1024,
            response_body_limit: 100 * 1024,
            decompression: true,
            decompress_layer_limit: 2,
            decompress_limit: 1024 * 1024,
            dump_all_headers: DumpHeaders::None,
            custom_headers: Vec::new(),
            extended: true,
            force_hash: ForceHash::default(),
            field_limit: 18000,
            headers_limit: 1024,
            max_tx: 512,
            allow_space_uri: false,
            double_decode_path: false,
            double_decode_query: false,
            inspect: false,
            base64: false,
            ranges: Arc::new(RangeStore::new()),
        }
    }
}
