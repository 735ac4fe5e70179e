//! `fileinfo` records: one per file seen in an app-layer transaction (HTTP bodies here).

use serde::Serialize;

use crate::http::HttpEve;

/// The `fileinfo` event body.
#[derive(Debug, Clone, Default)]
pub struct FileinfoEve {
    /// The transaction that carried the file.
    pub http: Option<HttpEve>,
    /// The file itself.
    pub fileinfo: FileInfo,
}

/// The `fileinfo` object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileInfo {
    /// File name: the URI path (or Content-Disposition filename).
    pub filename: String,
    /// Ids of signatures that matched the file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sid: Vec<u32>,
    /// libmagic description, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub magic: Option<String>,
    /// True when reassembly gaps made the file incomplete.
    pub gaps: bool,
    /// `CLOSED`, `TRUNCATED` or `ERROR` (`OPEN` never reaches a log).
    pub state: &'static str,
    /// MD5 of the content, when hashing is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// SHA-1 of the content, when hashing is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// SHA-256 of the content, when hashing is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Whether the file was stored to disk.
    pub stored: bool,
    /// Bytes of file content seen.
    pub size: u64,
    /// First byte of the file's range (`206` responses with a usable `Content-Range`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// Last byte of the file's range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
    /// Transaction id within the flow.
    pub tx_id: u64,
}
