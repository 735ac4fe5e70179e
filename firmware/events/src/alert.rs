//! `alert` records: a signature matched.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::http::HttpEve;
use crate::tls::TlsEve;

/// The `alert` event body.
#[derive(Debug, Clone)]
pub struct AlertEve {
    /// The `alert` object.
    pub alert: AlertInfo,
    /// The transaction's `http` object, for HTTP alerts.
    pub http: Option<HttpEve>,
    /// The session's `tls` object, for TLS alerts.
    pub tls: Option<TlsEve>,
    /// The `flow` summary Suricata appends to alerts.
    pub flow: Option<AlertFlow>,
}

/// The `alert` object, in Suricata 7's field order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertInfo {
    /// `allowed`, `blocked` (drop/reject in IPS mode).
    pub action: &'static str,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub signature_id: u32,
    /// Revision.
    pub rev: u32,
    /// The rule's `msg`.
    pub signature: String,
    /// The classtype's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Priority (1 is highest).
    pub severity: u8,
    /// The rule's `metadata`, key → values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, Vec<String>>>,
}

/// The `flow` object appended to an alert.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertFlow {
    /// Packets to server so far.
    pub pkts_toserver: u64,
    /// Packets to client so far.
    pub pkts_toclient: u64,
    /// Bytes to server so far.
    pub bytes_toserver: u64,
    /// Bytes to client so far.
    pub bytes_toclient: u64,
    /// Flow start.
    pub start: String,
    /// Client address.
    pub src_ip: String,
    /// Server address.
    pub dest_ip: String,
    /// Client port (absent for protocols without ports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Server port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
}
