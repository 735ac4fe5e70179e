//! The Raiz0WorM scenario end to end (issue acceptance 1), through the `probed` binary as an
//! analyst would drive it: 60 days of generated traffic (over 100k events) archived; two
//! filter clauses narrow it to exactly the worm's events; the filter becomes a DoC action that
//! declares for the archived past with the original times and for newly replayed traffic; the
//! retro-hunt run again declares nothing; a local webhook receiver that refuses the first
//! attempts receives every DoC exactly once, signed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{eve_events, probed};
use serde_json::Value;
use testkit::scenario::raiz0worm;
use types::Timestamp;

const FILTER: &str = "http.status:200 AND _exists_:base64.functions";
const SECRET: &str = "s3cret-hook-key";

/// Accepted deliveries: (delivery id, signature header, body).
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// A webhook receiver answering 503 to the first `refuse` requests, then 200.
fn receiver(refuse: usize) -> (String, Received, Arc<Mutex<usize>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/soc", l.local_addr().unwrap());
    let got: Received = Arc::default();
    let attempts = Arc::new(Mutex::new(0usize));
    let (g, a) = (got.clone(), attempts.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut headers = HashMap::new();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            loop {
                line.clear();
                r.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let n: usize = headers["content-length"].parse().unwrap();
            let mut body = vec![0; n];
            r.read_exact(&mut body).unwrap();
            let mut k = a.lock().unwrap();
            *k += 1;
            let ok = *k > refuse;
            drop(k);
            if ok {
                g.lock().unwrap().push((
                    headers["x-probe-delivery"].clone(),
                    headers
                        .get("x-probe-signature")
                        .cloned()
                        .unwrap_or_default(),
                    String::from_utf8(body).unwrap(),
                ));
            }
            let status = if ok {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, got, attempts)
}

fn write_pcap(path: &Path, cap: &testkit::Capture) {
    std::fs::write(path, cap.to_pcap()).unwrap();
}

#[test]
fn raiz0worm_hunt_to_declarations_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let d = dir.to_str().unwrap();
    let start = Timestamp::from_secs_nanos(1_788_000_000, 0); // 2026-08-29
    let victims = [[10, 1, 0, 10], [10, 1, 0, 11], [10, 1, 0, 12]];
    let past = raiz0worm(start, 60, 34_000, 12, &victims);
    let pcap = tmp.path().join("past.pcap");
    write_pcap(&pcap, &past.capture);

    let (url, received, attempts) = receiver(3);
    let key = tmp.path().join("hook.key");
    std::fs::write(&key, SECRET).unwrap();
    probed(&[
        "webhook",
        "add",
        "-d",
        d,
        "--name",
        "soc",
        "--url",
        &url,
        "--template",
        "soar",
        "--secret-file",
        key.to_str().unwrap(),
    ]);

    // Archive 60 days.
    let eve = tmp.path().join("eve.json");
    let sum = probed(&[
        "replay",
        "-d",
        d,
        "--no-progress",
        "--json",
        "-o",
        eve.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    let events: u64 = sum["events"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(events >= 100_000, "{events} events");
    // Everything is archived: the workers' events and those the analytics stage derived.
    let a = &sum["analytics"];
    let derived: u64 = [
        "intel_alerts",
        "lookalike_alerts",
        "sightings",
        "host_events",
        "beacons",
    ]
    .iter()
    .map(|k| a[k].as_u64().unwrap())
    .sum();
    assert_eq!(
        sum["archive"]["archived"].as_u64().unwrap(),
        events + derived,
        "{sum}"
    );

    // Two clauses narrow 100k+ events to exactly the worm's HTTP transactions.
    let h = probed(&[
        "hunt",
        "-d",
        d,
        "--json",
        "--no-progress",
        "--samples",
        "20",
        FILTER,
    ]);
    assert_eq!(h["count"], 12, "{h}");
    // Only blocks holding HTTP events with base64 functions (the attacks and the 404 probes)
    // are read, and in them only those events are decoded.
    let suspects = (past.attacks.len() + past.probes) as u64;
    assert!(h["blocks_read"].as_u64().unwrap() <= suspects, "{h}");
    assert!(
        h["blocks_read"].as_u64().unwrap() < h["blocks"].as_u64().unwrap() / 2,
        "{h}"
    );
    assert!(h["events_read"].as_u64().unwrap() <= suspects, "{h}");
    for s in h["samples"].as_array().unwrap() {
        let decoded = s["base64"]["decoded"].to_string();
        assert!(decoded.contains("Raiz0WorM"), "{s}");
    }
    let one = probed(&[
        "hunt",
        "-d",
        d,
        "--json",
        "--no-progress",
        "_exists_:base64.functions",
    ]);
    assert!(
        one["count"].as_u64().unwrap() > 12,
        "the base64 clause alone also finds the 404 probes"
    );
    let other = probed(&[
        "hunt",
        "-d",
        d,
        "--json",
        "--no-progress",
        "event_type:http AND http.status:200",
    ]);
    assert!(other["count"].as_u64().unwrap() > 300);

    // The filter becomes a DoC action: declarations for the archived past, dated by the events.
    let r = probed(&[
        "filter",
        "add",
        "-d",
        d,
        "--name",
        "raiz0worm",
        "--action",
        "doc",
        "--threat",
        "Raiz0WorM",
        "--family",
        "worm",
        "--kill-chain",
        "installation",
        "--offender",
        "src_ip",
        "--target",
        "dest_ip",
        "--json",
        "--no-progress",
        FILTER,
    ]);
    assert_eq!(r["matched"], 12, "{r}");
    assert_eq!(r["created"].as_array().unwrap().len(), 3, "{r}");
    let docs = probed(&["doc", "ls", "-d", d, "--json"]);
    let docs = docs.as_array().unwrap().clone();
    assert_eq!(docs.len(), 3);
    for v in ["10.1.0.10", "10.1.0.11", "10.1.0.12"] {
        let doc = docs.iter().find(|x| x["asset"] == v).unwrap();
        let first = past.attacks.iter().find(|a| a.victim == v).unwrap();
        // The first evidence is the request's first packet time plus the handshake.
        let first_us = (first.ts.0 / 1000) as i64;
        let seen = doc["first_seen_us"].as_i64().unwrap();
        assert!((seen - first_us).abs() < 1_000_000, "{doc} vs {first:?}");
        assert_eq!(doc["count"], 4);
        assert_eq!(doc["kill_chain"], "installation");
        assert_eq!(doc["origin"], "retro");
    }

    // Again: nothing new.
    let again = probed(&[
        "hunt",
        "-d",
        d,
        "--retro",
        "raiz0worm",
        "--json",
        "--no-progress",
    ]);
    assert_eq!(again["matched"], 12);
    assert!(again["created"].as_array().unwrap().is_empty(), "{again}");
    assert_eq!(again["evidence_added"], 0);

    // New traffic: one attack on a new victim (a new DoC), one on a known one (evidence).
    let live = raiz0worm(
        Timestamp(start.0 + 61 * 86_400 * 1_000_000_000),
        3,
        500,
        2,
        &[[10, 1, 0, 13], [10, 1, 0, 10]],
    );
    let pcap2 = tmp.path().join("live.pcap");
    write_pcap(&pcap2, &live.capture);
    let sum2 = probed(&[
        "replay",
        "-d",
        d,
        "--no-progress",
        "--json",
        "-o",
        eve.to_str().unwrap(),
        pcap2.to_str().unwrap(),
    ]);
    assert_eq!(sum2["archive"]["docs_created"], 1, "{sum2}");
    assert_eq!(sum2["archive"]["evidence_added"], 1, "{sum2}");
    let doc_events = eve_events(&eve, "doc");
    assert_eq!(doc_events.len(), 1);
    assert_eq!(doc_events[0]["doc"]["asset"], "10.1.0.13");
    assert_eq!(doc_events[0]["doc"]["origin"], "live");
    let docs = probed(&["doc", "ls", "-d", d, "--json"]);
    assert_eq!(docs.as_array().unwrap().len(), 4);

    // Every DoC reached the receiver exactly once, after 3 refused attempts, signed.
    let got = received.lock().unwrap().clone();
    assert_eq!(*attempts.lock().unwrap(), got.len() + 3);
    let mut ids: Vec<&String> = got.iter().map(|(id, _, _)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "{got:?}");
    assert_eq!(got.len(), 4, "{got:?}");
    for (_, sig, body) in &got {
        assert_eq!(
            sig,
            &format!(
                "sha256={}",
                export::signature(SECRET.as_bytes(), body.as_bytes())
            )
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["doc"]["threat"], "Raiz0WorM");
    }
}
