//! Parser and logger settings.

use crate::caps::{MAX_RECORDS_PER_MESSAGE, MAX_RETAINED_TX};

/// DNS settings. [`Default`] is Suricata 7's default `eve-log.dns` configuration (version 2,
/// requests and responses, formats `[detailed, grouped]`, every type) plus our caps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// Log one `query` record per question of each request (Suricata `requests`, default yes).
    pub log_queries: bool,
    /// Log one `answer` record per response (Suricata `responses`, default yes).
    pub log_answers: bool,
    /// Print `answers`, one object per record (format `detailed`, default yes).
    pub detailed: bool,
    /// Print `grouped`, data grouped by type (format `grouped`, default yes).
    pub grouped: bool,
    /// Log only these query types (Suricata `types`); `None` logs all. As in Suricata, query
    /// records stop at the first question whose type is not listed, and a response is logged
    /// when any of its questions has a listed type.
    pub types: Option<Vec<u16>>,
    /// Records kept per message (see [`crate::caps::MAX_RECORDS_PER_MESSAGE`]).
    pub max_records_per_message: usize,
    /// Transactions kept for detection between calls (see [`crate::caps::MAX_RETAINED_TX`]);
    /// 0 disables retention (and its event).
    pub max_retained_transactions: usize,
    /// Attach a [`DnsTxBuffers`](crate::DnsTxBuffers) snapshot to the first `dns` output of
    /// each transaction, for the signature engine (default false: nothing is attached). The
    /// transaction then moves into its snapshot instead of being retained.
    pub inspect: bool,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            log_queries: true,
            log_answers: true,
            detailed: true,
            grouped: true,
            types: None,
            max_records_per_message: MAX_RECORDS_PER_MESSAGE,
            max_retained_transactions: MAX_RETAINED_TX,
            inspect: false,
        }
    }
}

impl DnsConfig {
    /// True when records of query type `t` are logged.
    pub fn type_enabled(&self, t: u16) -> bool {
        self.types.as_ref().is_none_or(|list| list.contains(&t))
    }
}
