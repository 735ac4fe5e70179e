//! App-layer events (`anomaly` records with `app_proto: dns`).

/// A DNS app-layer event. The first eight are Suricata's (`app-layer-event:dns.<name>`), with
/// its exact spelling; the last two are ours and only fire when one of our caps is hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsEvent {
    /// A message could not be parsed. Suricata attaches it to the previous transaction of the
    /// same parser call, so it is only ever logged for TCP.
    MalformedData,
    /// A response (QR set) travelled to the server. Same attachment rule as `MalformedData`.
    NotRequest,
    /// A message without QR travelled to the client (it is still logged as an answer). Same
    /// attachment rule as `MalformedData`.
    NotResponse,
    /// The reserved Z bit is set.
    ZFlagSet,
    /// Opcode 7 or above.
    InvalidOpcode,
    /// A name was cut at [`crate::caps::MAX_NAME_LEN`] (or at the label limit after a pointer).
    NameTooLong,
    /// A compression pointer pointed at itself.
    InfiniteLoop,
    /// A name had more than [`crate::caps::MAX_NAME_STEPS`] labels and pointers.
    TooManyLabels,
    /// Ours: records beyond [`crate::caps::MAX_RECORDS_PER_MESSAGE`] were not kept.
    TooManyRecords,
    /// Ours: transactions beyond [`crate::caps::MAX_RETAINED_TX`] were not kept for detection.
    TooManyTransactions,
}

impl DnsEvent {
    /// The event name as printed in `anomaly.event`.
    pub fn name(self) -> &'static str {
        match self {
            DnsEvent::MalformedData => "malformed_data",
            DnsEvent::NotRequest => "not_request",
            DnsEvent::NotResponse => "not_response",
            DnsEvent::ZFlagSet => "z_flag_set",
            DnsEvent::InvalidOpcode => "invalid_opcode",
            DnsEvent::NameTooLong => "name_too_long",
            DnsEvent::InfiniteLoop => "infinite_loop",
            DnsEvent::TooManyLabels => "too_many_labels",
            DnsEvent::TooManyRecords => "too_many_records",
            DnsEvent::TooManyTransactions => "too_many_transactions",
        }
    }
}
