//! `http` objects: one per HTTP transaction, embedded in `http` and `fileinfo` events.
//!
//! Field names and order follow Suricata 7's HTTP logger with `extended: yes`.

use serde::Serialize;

/// The `http` object.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HttpEve {
    /// Host header (or the host of an absolute request URI), lowercased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Port from the Host header, when it carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    /// The request URI as sent (not normalised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// User-Agent request header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// X-Forwarded-For, when that option is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xff: Option<String>,
    /// Response Content-Type, without parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
    /// Response Content-Range, parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_range: Option<ContentRange>,
    /// Referer request header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_refer: Option<String>,
    /// Request method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// Protocol string (`HTTP/1.1`), from the request, else the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Response status code: the status token read like C `strtoul` into an `unsigned int`,
    /// as Suricata 7 prints it (`"20x"` gives 20, `"abc"` gives 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// Location response header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Response body length seen (after dechunking, before decompression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// All request headers (dump-all-headers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_headers: Option<Vec<Header>>,
    /// All response headers (dump-all-headers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_headers: Option<Vec<Header>>,
    /// Derived hunting fields, written beside `http` (top-level `base64`) in `http` events
    /// only.
    #[serde(skip)]
    pub base64: Option<Base64Eve>,
}

/// The derived `base64` object of an `http` event.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Base64Eve {
    /// Text decoded from base64 found in the URI, headers and bodies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decoded: Vec<String>,
    /// Base64 functions named in them (or in the decoded text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
}

/// A parsed Content-Range header.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ContentRange {
    /// The raw header value.
    pub raw: String,
    /// First byte, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// Last byte, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// Total size, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// One header as logged by dump-all-headers.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Header {
    /// Header name as sent.
    pub name: String,
    /// Header value.
    pub value: String,
}
