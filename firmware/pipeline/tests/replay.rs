//! End-to-end: the bundled example capture through the whole dataplane, checked against what
//! Suricata 7.0.10 writes for it (its events were compared with `eve-compare`: identical for
//! flow, http, fileinfo, tls and dns), and one worker against two.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};

use pipeline::Settings;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcaps/example.pcap")
}

fn run(paths: &[PathBuf], settings: Settings, workers: usize) -> Vec<serde_json::Value> {
    let buf = testkit::SharedBuf::default();
    let reg = pipeline::registry(&settings);
    let s = pipeline::replay(
        paths,
        settings,
        reg,
        None,
        Box::new(buf.clone()),
        workers,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    assert!(s.file_errors.is_empty(), "{:?}", s.file_errors);
    let data = buf.contents();
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

fn of_type<'a>(evs: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    evs.iter().filter(|e| e["event_type"] == t).collect()
}

#[test]
fn example_capture_gives_suricatas_events() {
    let evs = run(&[example()], Settings::default(), 1);
    assert_eq!(of_type(&evs, "flow").len(), 6);
    assert_eq!(of_type(&evs, "dns").len(), 4);
    let http = of_type(&evs, "http");
    assert_eq!(http.len(), 4);
    let js = http
        .iter()
        .find(|e| e["http"]["url"] == "/static/app.js")
        .expect("the gzip transaction");
    assert_eq!(
        js["http"]["http_refer"],
        "http://www.example.test/index.html"
    );
    assert_eq!(js["http"]["length"], 1183);
    let files = of_type(&evs, "fileinfo");
    let jsfile = files
        .iter()
        .find(|e| e["fileinfo"]["filename"] == "/static/app.js")
        .unwrap();
    // The file is the decompressed body; the http length is what crossed the wire.
    assert_eq!(jsfile["fileinfo"]["size"], 1160);
    assert_eq!(jsfile["src_port"], 80);
    let tls = of_type(&evs, "tls");
    assert_eq!(tls.len(), 2);
    assert!(tls.iter().any(|e| e["tls"]["version"] == "TLS 1.2"
        && e["tls"]["subject"] == "C=US, O=Example Probe, CN=probe.example.test"
        && e["tls"]["sni"] == "probe.example.test"));
    assert!(tls.iter().any(|e| e["tls"]["version"] == "TLS 1.3"));
    // Every event of a flow carries the flow's id; the run ends with one stats record.
    assert_eq!(of_type(&evs, "stats").len(), 1);
    for e in evs.iter().filter(|e| e["event_type"] != "stats") {
        assert!(e["flow_id"].as_u64().unwrap_or(0) > 0, "{e}");
    }
}

#[test]
fn one_worker_and_two_give_the_same_events() {
    let key = |e: &serde_json::Value| {
        let mut e = e.clone();
        if let Some(o) = e.as_object_mut() {
            o.remove("flow_id");
            o.remove("timestamp");
        }
        e.to_string()
    };
    let mut settings = Settings::default();
    settings.set_kv("outputs.eve-log.community-id=yes").unwrap();
    let paths = vec![example(), example()];
    let mut a: Vec<String> = run(&paths, settings.clone(), 1).iter().map(key).collect();
    let mut b: Vec<String> = run(&paths, settings, 2).iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a.len(), b.len());
    assert_eq!(a, b);
}
