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
mod detection;
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

/// Fuzz entry points (see `firmware/fuzz`).
#[doc(hidden)]
pub mod fuzzing {
    use std::sync::Arc;

    use crate::{EventSink, PacketIn, Settings, Worker};

    struct Count(usize);

    impl EventSink for Count {
        fn emit(&mut self, ev: &events::Event) {
            let mut v = Vec::new();
            ev.write_json(&mut v);
            self.0 += v.len();
        }
    }

    /// Treats `data` as a capture file and runs every packet through a worker with midstream
    /// pick-up and all anomaly logging on: the whole dataplane on hostile input.
    pub fn fuzz_pipeline(data: &[u8]) {
        let mut settings = Settings::default();
        for kv in [
            "stream.midstream=true",
            "outputs.eve-log.types.anomaly.types.decode=yes",
            "outputs.eve-log.types.anomaly.types.stream=yes",
        ] {
            let _ = settings.set_kv(kv);
        }
        let reg = Arc::new(crate::registry(&settings));
        let mut w = Worker::new(Arc::new(settings), reg, 0);
        let mut src = capture::FileSource::from_bytes(data.to_vec());
        let mut sink = Count(0);
        let mut n = 0;
        while let Some(p) = src.next_packet() {
            n += 1;
            w.process(
                PacketIn {
                    ts: p.ts,
                    linktype: p.linktype,
                    data: p.data,
                    pcap_cnt: n,
                    validate_checksum: false,
                },
                &mut sink,
            );
        }
        w.finish(&mut sink);
        std::hint::black_box(sink.0);
    }
}
