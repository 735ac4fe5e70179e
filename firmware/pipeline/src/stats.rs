//! Counters of a worker and of a whole run.

/// Counters of one worker (summed over workers for the run summary and `stats` events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Frames processed.
    pub packets: u64,
    /// Captured bytes processed.
    pub bytes: u64,
    /// Frames without an IP layer (ARP, unknown link types, malformed).
    pub no_ip: u64,
    /// Decoder anomalies raised.
    pub decoder_events: u64,
    /// Stream anomalies raised.
    pub stream_events: u64,
    /// App-layer anomalies raised.
    pub applayer_events: u64,
    /// IP fragments seen.
    pub fragments: u64,
    /// Datagrams reassembled from fragments.
    pub defrag_reassembled: u64,
    /// Fragments dropped over the defrag caps.
    pub defrag_memcap_drops: u64,
    /// Packets decoded from inside tunnels.
    pub tunnelled: u64,
    /// TCP packets ignored for a bad checksum.
    pub invalid_checksums: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended by timeout.
    pub flows_timed_out: u64,
    /// Flows evicted from a full table.
    pub flows_evicted: u64,
    /// Flow records logged.
    pub flows_logged: u64,
    /// Flows still in the table.
    pub flows_active: u64,
    /// TCP sessions tracked.
    pub tcp_sessions: u64,
    /// Reassembly gaps.
    pub tcp_gaps: u64,
    /// Segments dropped at the reassembly caps.
    pub tcp_memcap_drops: u64,
    /// Overlaps with different data.
    pub tcp_overlaps: u64,
    /// Bytes held by reassembly now.
    pub tcp_reassembly_memuse: u64,
}

impl WorkerStats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &WorkerStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.no_ip += o.no_ip;
        self.decoder_events += o.decoder_events;
        self.stream_events += o.stream_events;
        self.applayer_events += o.applayer_events;
        self.fragments += o.fragments;
        self.defrag_reassembled += o.defrag_reassembled;
        self.defrag_memcap_drops += o.defrag_memcap_drops;
        self.tunnelled += o.tunnelled;
        self.invalid_checksums += o.invalid_checksums;
        self.flows_created += o.flows_created;
        self.flows_timed_out += o.flows_timed_out;
        self.flows_evicted += o.flows_evicted;
        self.flows_logged += o.flows_logged;
        self.flows_active += o.flows_active;
        self.tcp_sessions += o.tcp_sessions;
        self.tcp_gaps += o.tcp_gaps;
        self.tcp_memcap_drops += o.tcp_memcap_drops;
        self.tcp_overlaps += o.tcp_overlaps;
        self.tcp_reassembly_memuse += o.tcp_reassembly_memuse;
    }

    /// `(dotted name, value)` pairs for the EVE `stats` event, using Suricata's counter names
    /// (only names its schema knows; the rest are in the run summary).
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("decoder.pkts", self.packets),
            ("decoder.bytes", self.bytes),
            ("flow.total", self.flows_created),
            ("flow.active", self.flows_active),
            ("tcp.sessions", self.tcp_sessions),
            ("tcp.invalid_checksum", self.invalid_checksums),
            ("tcp.reassembly_gap", self.tcp_gaps),
            ("tcp.segment_memcap_drop", self.tcp_memcap_drops),
            ("tcp.overlap_diff_data", self.tcp_overlaps),
            ("tcp.reassembly_memuse", self.tcp_reassembly_memuse),
        ]
    }

    /// The EVE `stats` event for these counters at `ts`, `uptime` seconds into the run.
    pub fn to_event(&self, ts: types::Timestamp, uptime: u64) -> events::Event {
        events::Event::new(
            ts,
            events::Body::Stats(Box::new(events::stats::StatsEve::from_counters(
                uptime,
                self.counters(),
            ))),
        )
    }
}
