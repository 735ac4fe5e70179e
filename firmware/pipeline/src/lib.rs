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
pub mod live;
pub mod run;
pub mod stats;
mod worker;

pub use config::{ChecksumMode, ConfigError, Settings};
pub use live::{run_live, EngineSlot, LiveOptions, LiveSource, LiveSummary};
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

    /// Rules for [`fuzz_pipeline`]: every inspection path of the detection glue (packet,
    /// stream with gaps, HTTP/TLS/DNS transactions, app-layer events, flowbits, pass).
    const FUZZ_RULES: &str = r#"
alert tcp any any -> any any (content:"GET"; sid:1;)
alert tcp any any -> any any (content:"PONG "; depth:5; sid:2;)
alert tcp-pkt any any -> any any (content:"|00|"; sid:3;)
alert http any any -> any any (http.uri; content:"/"; flowbits:set,h; sid:4;)
alert http any any -> any any (flow:to_client; http.stat_code; content:"2"; flowbits:isset,h; sid:5;)
alert http any any -> any any (file.data; content:"a"; sid:6;)
alert http any any -> any any (app-layer-event:http.request_field_too_long; sid:7;)
alert tls any any -> any any (tls.sni; content:"."; sid:8;)
alert tls any any -> any any (ja3.hash; content:"a"; sid:9;)
alert dns any any -> any any (dns.query; content:"a"; sid:10;)
alert dns any any -> any any (dns.opcode:0; sid:11;)
pass tcp any any -> any any (content:"PASS"; sid:12;)
alert ip any any -> any any (sid:13;)
"#;

    fn fuzz_engine() -> Arc<detect::engine::Engine> {
        static ENGINE: std::sync::OnceLock<Arc<detect::engine::Engine>> =
            std::sync::OnceLock::new();
        Arc::clone(ENGINE.get_or_init(|| {
            let report = detect::load_rules_from_bytes(
                std::path::Path::new("fuzz.rules"),
                FUZZ_RULES.as_bytes(),
                &std::collections::BTreeMap::new(),
                std::path::Path::new("/nonexistent"),
            );
            Arc::new(detect::engine::Engine::build(
                &report,
                &detect::engine::EngineConfig::default(),
            ))
        }))
    }

    /// Treats `data` as a capture file and runs every packet through a worker with midstream
    /// pick-up, all anomaly logging on and (when the last byte is odd) the signature engine
    /// with alert payloads: the whole dataplane on hostile input.
    pub fn fuzz_pipeline(data: &[u8]) {
        let mut settings = Settings::default();
        for kv in [
            "stream.midstream=true",
            "outputs.eve-log.types.anomaly.types.decode=yes",
            "outputs.eve-log.types.anomaly.types.stream=yes",
            "outputs.eve-log.types.alert.payload=yes",
            "outputs.eve-log.types.alert.payload-printable=yes",
            "outputs.eve-log.types.alert.packet=yes",
            "outputs.eve-log.types.http.base64=yes",
        ] {
            let _ = settings.set_kv(kv);
        }
        let detect = data.last().is_some_and(|b| b & 1 == 1);
        if detect {
            settings.app.set_inspect(true);
            let _ = settings.set_kv("app-layer.protocols.tls.ja3-fingerprints=yes");
        }
        let reg = Arc::new(crate::registry(&settings));
        let mut w = Worker::new(Arc::new(settings), reg, 0);
        if detect {
            w = w.with_engine(fuzz_engine());
        }
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
