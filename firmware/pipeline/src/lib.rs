//! The dataplane wired together: decode → flow → reassembly → app layer → events, per worker,
//! and the deterministic "pcap in, events out" API that `probed replay`, the tests and the
//! benchmarks use.
//!
//! Layer: above every stage crate, below the binaries. Policy (which rules, which filters) is
//! not decided here; this crate only moves packets through the stages and events out.
//!
//! Threads: see [`run`]. A worker ([`Worker`]) owns its flows outright; workers share only
//! read-only settings, so the per-packet path takes no lock.
#![forbid(unsafe_code)]

pub mod config;
pub mod run;
pub mod stats;
mod worker;

pub use config::{ChecksumMode, ConfigError, Settings};
pub use run::{replay, RunSummary};
pub use stats::WorkerStats;
pub use worker::{EventSink, FlowData, PacketIn, Worker};

/// Builds the app-layer protocol registry for `settings`.
pub fn registry(settings: &Settings) -> applayer::Registry {
    applayer::Registry::new(settings.app.clone())
}
