//! Alerts end to end: rules loaded from text, a crafted TCP conversation replayed through the
//! whole dataplane, and the `alert` records checked the way suricata-verify's eve-payload
//! cases check Suricata 7.0.10 (payload, payload_printable, stream, packet, pkt_src).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use detect::engine::{Engine, EngineConfig};
use pipeline::Settings;
use testkit::{Capture, Conversation, Ep};
use types::Timestamp;

fn engine(rules: &str) -> Arc<Engine> {
    let r = detect::load_rules_from_bytes(
        Path::new("test.rules"),
        rules.as_bytes(),
        &BTreeMap::new(),
        Path::new("/tmp"),
    );
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    Arc::new(Engine::build(&r, &EngineConfig::default()))
}

/// Replays `cap` with `rules`; returns the alert records.
fn alerts(cap: &Capture, rules: &str, settings: Settings) -> Vec<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("probed-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Tests run in parallel: each run gets its own file.
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let path = dir.join(format!("{}.pcap", RUN.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, cap.to_pcap()).unwrap();
    let buf = testkit::SharedBuf::default();
    let reg = pipeline::registry(&settings);
    let s = pipeline::replay(
        std::slice::from_ref(&path),
        settings,
        reg,
        Some(engine(rules)),
        Box::new(buf.clone()),
        1,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(s.file_errors.is_empty(), "{:?}", s.file_errors);
    let data = buf.contents();
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event_type"] == "alert")
        .collect()
}

fn with_payloads() -> Settings {
    let mut s = Settings::default();
    for k in [
        "outputs.eve-log.types.alert.payload",
        "outputs.eve-log.types.alert.payload-printable",
        "outputs.eve-log.types.alert.packet",
    ] {
        s.set(k, "yes").unwrap();
    }
    s
}

fn by_sid(evs: &[serde_json::Value], sid: u64) -> Vec<&serde_json::Value> {
    evs.iter()
        .filter(|e| e["alert"]["signature_id"] == sid)
        .collect()
}

/// Client data "VERY", 4 bytes never seen, then "DATA"; the client's last segment is never
/// acknowledged, so the stream is inspected when the flow ends.
fn gap_capture() -> Capture {
    let mut cap = Capture::default();
    let mut c = Conversation::new(
        Ep::v4([1, 1, 1, 1], 12345),
        Ep::v4([2, 2, 2, 2], 8080),
        Timestamp::from_secs_nanos(1_700_000_000, 0),
    );
    c.handshake(&mut cap);
    c.raw(&mut cap, true, 0, b"VERY");
    c.raw(&mut cap, true, 8, b"DATA");
    cap
}

const GAP_RULES: &str = "\
alert tcp-stream any any -> any any (content:\"VERY\"; sid:1;)
alert tcp-stream any any -> any any (content:\"DATA\"; sid:3;)
alert tcp-pkt any any -> any any (content:\"VERY\"; sid:4;)
alert tcp-stream any any -> any any (content:\"VERYDATA\"; sid:7;)
";

#[test]
fn stream_alerts_show_the_window_with_its_gaps_and_packet_alerts_the_packet() {
    let evs = alerts(&gap_capture(), GAP_RULES, with_payloads());
    // No match spans the gap.
    assert!(by_sid(&evs, 7).is_empty(), "{evs:#?}");
    for sid in [1, 3] {
        let a = by_sid(&evs, sid);
        assert_eq!(a.len(), 1, "sid {sid}: {evs:#?}");
        let a = a[0];
        assert_eq!(a["stream"], 1);
        assert_eq!(a["pkt_src"], "stream (flow timeout)");
        assert_eq!(a["payload_printable"], "VERY[4 bytes missing]DATA");
        assert_eq!(
            a["payload"],
            STANDARD.encode("VERY[4 bytes missing]DATA").as_str()
        );
        // Raised at flow end: there is no packet to show.
        assert!(a.get("packet").is_none());
    }
    let p = by_sid(&evs, 4);
    assert_eq!(p.len(), 1, "{evs:#?}");
    let p = p[0];
    assert_eq!(p["stream"], 0);
    assert_eq!(p["pkt_src"], "wire/pcap");
    assert_eq!(p["payload_printable"], "VERY");
    assert_eq!(p["packet_info"]["linktype"], 1);
    let frame = STANDARD.decode(p["packet"].as_str().unwrap()).unwrap();
    assert!(frame.ends_with(b"VERY"), "{frame:?}");
    // Suricata 7 always writes the category, empty without classtype.
    assert_eq!(p["alert"]["category"], "");
}

#[test]
fn payload_fields_are_off_by_default() {
    let evs = alerts(&gap_capture(), GAP_RULES, Settings::default());
    assert_eq!(evs.len(), 3, "{evs:#?}");
    for e in &evs {
        for k in ["payload", "payload_printable", "stream", "packet"] {
            assert!(e.get(k).is_none(), "{k} in {e}");
        }
    }
}

#[test]
fn payload_buffer_size_caps_what_an_alert_shows() {
    let mut cap = Capture::default();
    let mut c = Conversation::new(
        Ep::v4([10, 0, 0, 1], 40000),
        Ep::v4([10, 0, 0, 2], 80),
        Timestamp::from_secs_nanos(1_700_000_000, 0),
    );
    c.handshake(&mut cap);
    let mut data = vec![b'a'; 3000];
    data.extend_from_slice(b"NEEDLE");
    c.send(&mut cap, true, &data);
    c.close(&mut cap);
    let mut s = with_payloads();
    s.set("outputs.eve-log.types.alert.payload-buffer-size", "1kb")
        .unwrap();
    assert!(s
        .set("outputs.eve-log.types.alert.payload-buffer-size", "10mb")
        .is_err());
    let evs = alerts(
        &cap,
        "alert tcp-stream any any -> any any (content:\"NEEDLE\"; sid:9;)",
        s,
    );
    assert_eq!(evs.len(), 1, "{evs:#?}");
    let shown = evs[0]["payload_printable"].as_str().unwrap();
    assert_eq!(shown.len(), 1024);
}

/// The fuzz target's detection path on the bundled example, whole and cut short at many
/// points (a pcap record may end anywhere): never panics.
#[test]
fn fuzz_entry_with_detection_survives_the_example_and_its_truncations() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcaps/example.pcap");
    let mut data = std::fs::read(path).unwrap();
    // An odd last byte turns the signature engine on.
    data.push(1);
    pipeline::fuzzing::fuzz_pipeline(&data);
    for cut in (24..data.len()).step_by(997) {
        let mut d = data[..cut].to_vec();
        d.push(1);
        pipeline::fuzzing::fuzz_pipeline(&d);
    }
}

/// Alerts carry the flow's variables as Suricata 7 writes them: `traffic` from
/// `traffic/id/*` and `traffic/label/*` flowbits, `metadata` with the other flowbits and the
/// flowints, before `tx_id`.
#[test]
fn alerts_carry_traffic_and_metadata() {
    let evs = alerts(
        &gap_capture(),
        "alert tcp-pkt any any -> any any (content:\"VERY\"; flowbits:set,traffic/id/t1; flowbits:set,traffic/label/l1; flowbits:set,bit; flowint:cnt,+,1; sid:1;)",
        Settings::default(),
    );
    assert_eq!(evs.len(), 1, "{evs:#?}");
    let a = &evs[0];
    assert_eq!(a["traffic"]["id"][0], "t1");
    assert_eq!(a["traffic"]["label"][0], "l1");
    assert_eq!(a["metadata"]["flowbits"][0], "bit");
    assert_eq!(a["metadata"]["flowints"]["cnt"], 1);
}
