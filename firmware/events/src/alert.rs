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
    /// The matched data and packet, when configured (`payload`, `payload-printable`,
    /// `packet`).
    pub payload: Option<AlertPayloadEve>,
    /// The flow's variables (`traffic` and `metadata`), when any is set.
    pub vars: Option<FlowVarsEve>,
}

/// A flow's variables in an alert: `traffic` (`traffic/id/*`, `traffic/label/*` flowbits) and
/// `metadata` (the other flowbits, flowints), written before `tx_id` as Suricata 7 does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowVarsEve {
    /// `traffic.id`.
    pub traffic_id: Vec<String>,
    /// `traffic.label`.
    pub traffic_label: Vec<String>,
    /// `metadata.flowbits`.
    pub flowbits: Vec<String>,
    /// `metadata.flowints`: (name, value).
    pub flowints: Vec<(String, u32)>,
}

/// `traffic`: each list only when it has names.
#[derive(Serialize)]
pub(crate) struct TrafficView<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    id: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    label: &'a [String],
}

/// `metadata`: flowbits, then flowints as an object (in the flow's order).
#[derive(Serialize)]
pub(crate) struct MetadataView<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    flowbits: &'a [String],
    #[serde(
        skip_serializing_if = "<[_]>::is_empty",
        serialize_with = "ints_as_object"
    )]
    flowints: &'a [(String, u32)],
}

fn ints_as_object<S: serde::Serializer>(v: &&[(String, u32)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, n)| (k, n)))
}

impl FlowVarsEve {
    /// The `traffic` object, when a `traffic/*` flowbit is set.
    pub(crate) fn traffic(&self) -> Option<TrafficView<'_>> {
        (!self.traffic_id.is_empty() || !self.traffic_label.is_empty()).then_some(TrafficView {
            id: &self.traffic_id,
            label: &self.traffic_label,
        })
    }

    /// The `metadata` object, when another flowbit or a flowint is set.
    pub(crate) fn metadata(&self) -> Option<MetadataView<'_>> {
        (!self.flowbits.is_empty() || !self.flowints.is_empty()).then_some(MetadataView {
            flowbits: &self.flowbits,
            flowints: &self.flowints,
        })
    }
}

/// The data an alert shows, written after the `flow` object as Suricata 7 does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertPayloadEve {
    /// `payload`: the data, base64.
    pub base64: Option<String>,
    /// `payload_printable`: the data, non-printable bytes as `.`.
    pub printable: Option<String>,
    /// `stream`: 1 when the data is reassembled stream rather than one packet's payload;
    /// written with `payload` or `payload_printable`.
    pub stream: Option<u8>,
    /// `packet`: the alerting packet's frame, base64, and its link type
    /// (`packet_info.linktype`). Absent for alerts raised at flow end.
    pub packet: Option<(String, u32)>,
}

impl AlertPayloadEve {
    /// The printable rendering Suricata uses: bytes that are printable ASCII, `\n` or `\r`
    /// kept, every other byte as `.`.
    pub fn printable_of(data: &[u8]) -> String {
        data.iter()
            .map(|&b| {
                if b == b' ' || b.is_ascii_graphic() || b == b'\n' || b == b'\r' {
                    char::from(b)
                } else {
                    '.'
                }
            })
            .collect()
    }
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
    /// The classtype's description; Suricata 7 writes `""` for a rule without classtype.
    pub category: String,
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
