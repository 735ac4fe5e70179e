//! `probed replay -S` end to end on the bundled example capture: rules load, alerts are
//! written in Suricata 7's shape, the summary counts them, and a bad rule is reported without
//! stopping the others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::Command;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcaps/example.pcap")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("probed-rules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `probed replay --json` on the example with `rules`; returns (exit code, summary,
/// alert records).
fn replay(
    name: &str,
    rules: &str,
    extra: &[&str],
) -> (i32, serde_json::Value, Vec<serde_json::Value>) {
    let dir = tmpdir(name);
    let rf = dir.join("test.rules");
    std::fs::write(&rf, rules).unwrap();
    let eve = dir.join("eve.json");
    let out = Command::new(env!("CARGO_BIN_EXE_probed"))
        .args(["replay", "--no-progress", "--json", "-o"])
        .arg(&eve)
        .arg("-S")
        .arg(&rf)
        .args(extra)
        .arg(example())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary = stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    let alerts = std::fs::read_to_string(&eve)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event_type"] == "alert")
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code().unwrap_or(-1), summary, alerts)
}

#[test]
fn http_dns_and_tls_rules_alert_on_the_example() {
    let (code, summary, alerts) = replay(
        "kinds",
        "alert http any any -> any any (msg:\"GET of the example\"; flow:established,to_server; http.method; content:\"GET\"; classtype:misc-activity; sid:1000001; rev:2;)\n\
         alert dns any any -> any any (msg:\"query\"; dns.query; content:\"example\"; nocase; sid:1000002;)\n\
         alert tls any any -> any any (msg:\"sni\"; tls.sni; content:\".\"; sid:1000003;)\n\
         alert http any any -> any any (msg:\"never\"; http.uri; content:\"/no-such-path-here\"; sid:1000004;)\n",
        &[],
    );
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["rules_loaded"], 4, "{summary}");
    assert_eq!(summary["rules_failed"], 0, "{summary}");
    let sids: Vec<u64> = alerts
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    for sid in [1000001, 1000002, 1000003] {
        assert!(sids.contains(&sid), "sid {sid} missing: {sids:?}");
    }
    assert!(!sids.contains(&1000004), "{sids:?}");
    let get = alerts
        .iter()
        .find(|a| a["alert"]["signature_id"] == 1000001)
        .unwrap();
    assert_eq!(get["alert"]["rev"], 2);
    assert_eq!(get["alert"]["action"], "allowed");
    assert_eq!(get["app_proto"], "http");
    assert_eq!(get["direction"], "to_server");
    assert!(get["http"]["hostname"].is_string(), "{get}");
    assert!(get["flow"]["pkts_toserver"].as_u64().unwrap() > 0, "{get}");
    // Every alert is on a flow, and the flow record says so.
    assert!(alerts.iter().all(|a| a["flow_id"].as_u64().unwrap() > 0));
}

#[test]
fn a_bad_rule_is_reported_and_the_rest_still_alert() {
    let (code, summary, alerts) = replay(
        "bad",
        "alert http any any -> any any (msg:\"unbalanced; content:\"x\"; sid:1;)\n\
         alert tcp any any -> any any (msg:\"bad pcre\"; pcre:\"/(/\"; sid:2;)\n\
         alert dns any any -> any any (msg:\"query\"; dns.query; content:\"example\"; nocase; sid:3;)\n",
        &[],
    );
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["rules_loaded"], 1, "{summary}");
    assert_eq!(summary["rules_failed"], 2, "{summary}");
    assert!(alerts.iter().all(|a| a["alert"]["signature_id"] == 3));
    assert!(!alerts.is_empty());
}

#[test]
fn payload_printable_is_written_when_configured() {
    let rules =
        "alert http any any -> any any (msg:\"GET\"; http.method; content:\"GET\"; sid:7;)\n";
    let (_, _, plain) = replay("plain", rules, &[]);
    assert!(!plain.is_empty());
    assert!(plain.iter().all(|a| a.get("payload_printable").is_none()));
    let (_, _, with) = replay(
        "printable",
        rules,
        &["--set", "outputs.eve-log.types.alert.payload-printable=yes"],
    );
    assert!(!with.is_empty());
    for a in &with {
        assert_eq!(a["stream"], 1, "{a}");
        let shown = a["payload_printable"].as_str().unwrap();
        assert!(shown.contains("GET "), "{shown}");
    }
}
