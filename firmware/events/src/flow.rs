//! `flow` records: one per finished flow, with counters per direction and TCP flags.

use serde::Serialize;

/// The `flow` event body: `flow` and (TCP only) `tcp` objects at the top level.
#[derive(Debug, Clone, Default)]
pub struct FlowEve {
    /// The `flow` object.
    pub flow: FlowInfo,
    /// The `tcp` object, for TCP flows.
    pub tcp: Option<TcpInfo>,
    /// ICMP type and code of the first packet in the to-client direction (ICMP flows).
    pub response_icmp: Option<(u8, u8)>,
}

/// The `flow` object of a flow record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowInfo {
    /// Packets from client to server.
    pub pkts_toserver: u64,
    /// Packets from server to client.
    pub pkts_toclient: u64,
    /// Bytes (whole frames) from client to server.
    pub bytes_toserver: u64,
    /// Bytes (whole frames) from server to client.
    pub bytes_toclient: u64,
    /// First packet time.
    pub start: String,
    /// Last packet time.
    pub end: String,
    /// Whole seconds between start and end.
    pub age: u64,
    /// `new`, `established`, `closed` or `bypassed`.
    pub state: &'static str,
    /// `timeout`, `forced` or `shutdown`.
    pub reason: &'static str,
    /// Whether any alert fired on the flow.
    pub alerted: bool,
}

/// The `tcp` object of a flow record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TcpInfo {
    /// Union of TCP flags seen both ways, two hex digits.
    pub tcp_flags: String,
    /// Flags seen to server.
    pub tcp_flags_ts: String,
    /// Flags seen to client.
    pub tcp_flags_tc: String,
    /// SYN seen.
    #[serde(skip_serializing_if = "is_false")]
    pub syn: bool,
    /// FIN seen.
    #[serde(skip_serializing_if = "is_false")]
    pub fin: bool,
    /// RST seen.
    #[serde(skip_serializing_if = "is_false")]
    pub rst: bool,
    /// PSH seen.
    #[serde(skip_serializing_if = "is_false")]
    pub psh: bool,
    /// ACK seen.
    #[serde(skip_serializing_if = "is_false")]
    pub ack: bool,
    /// URG seen.
    #[serde(skip_serializing_if = "is_false")]
    pub urg: bool,
    /// ECE seen.
    #[serde(skip_serializing_if = "is_false")]
    pub ecn: bool,
    /// CWR seen.
    #[serde(skip_serializing_if = "is_false")]
    pub cwr: bool,
    /// TCP session state when the flow ended (absent when no session was tracked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// Bytes were missing in the client-to-server stream.
    #[serde(skip_serializing_if = "is_false")]
    pub ts_gap: bool,
    /// Bytes were missing in the server-to-client stream.
    #[serde(skip_serializing_if = "is_false")]
    pub tc_gap: bool,
    /// Most out-of-order regions held at once, to server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts_max_regions: Option<u32>,
    /// Most out-of-order regions held at once, to client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tc_max_regions: Option<u32>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
