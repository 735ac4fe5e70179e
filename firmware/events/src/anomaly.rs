//! `anomaly` records: malformed packets, stream oddities and app-layer protocol violations.

use serde::Serialize;

/// The `anomaly` object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AnomalyEve {
    /// App-layer protocol (app-layer anomalies only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'static str>,
    /// `decode`, `stream` or `applayer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Event name (Suricata's: `decoder.ipv4.trunc_pkt`, `stream.pkt_invalid_ack`,
    /// `INVALID_RESPONSE_CHUNK_LEN` …).
    pub event: &'static str,
    /// Where the app-layer event was raised (`proto_parser`, `proto_detect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<&'static str>,
}

impl AnomalyEve {
    /// A decoder anomaly.
    pub fn decode(event: &'static str) -> AnomalyEve {
        AnomalyEve {
            app_proto: None,
            kind: "decode",
            event,
            layer: None,
        }
    }
    /// A stream anomaly.
    pub fn stream(event: &'static str) -> AnomalyEve {
        AnomalyEve {
            app_proto: None,
            kind: "stream",
            event,
            layer: None,
        }
    }
    /// An app-layer parser anomaly.
    pub fn applayer(app_proto: &'static str, event: &'static str) -> AnomalyEve {
        AnomalyEve {
            app_proto: Some(app_proto),
            kind: "applayer",
            event,
            layer: Some("proto_parser"),
        }
    }
}
