//! End to end: a PKI, two probes on loopback, a DoC filter pushed to `all`, traffic replayed
//! into both, and the DoCs of both collected, each answer verified against its probe's key
//! (probectl refuses an answer whose signature does not verify). Also targets, partial
//! results and the audit chain check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{example_pcap, Fleet};
use serde_json::Value;

fn docs_of(f: &Fleet) -> Value {
    f.ok(&["-p", "all", "doc", "ls", "--json"]).json()
}

#[test]
fn filter_pushed_to_all_declares_on_both_probes() {
    let mut f = Fleet::new(2, true);
    f.start_all();
    let push = f.ok(&[
        "-p",
        "all",
        "filter",
        "push",
        "--json",
        "--name",
        "example-200",
        "--action",
        "doc",
        "--threat",
        "Example",
        "--kill-chain",
        "installation",
        "--offender",
        "dest_ip",
        "--target",
        "src_ip",
        "event_type:http AND http.status:200",
    ]);
    let v = push.json();
    assert_eq!(v["succeeded"], 2, "{v}");
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["outcome"], "ok");
        assert_eq!(r["body"]["filter"]["name"], "example-200");
    }
    for p in &f.probes {
        p.feed(&example_pcap());
    }
    // Wait until both probes processed their capture and declared.
    let deadline = Instant::now() + Duration::from_secs(60);
    let v = loop {
        let v = docs_of(&f);
        let n: usize = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["body"]["docs"].as_array().map_or(0, Vec::len))
            .sum();
        if n >= 2 {
            break v;
        }
        assert!(Instant::now() < deadline, "no DoCs after 60 s: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(v["succeeded"], 2);
    assert_eq!(v["partial"], false);
    let mut ids = Vec::new();
    for r in v["results"].as_array().unwrap() {
        ids.push(r["id"].as_str().unwrap().to_string());
        let docs = r["body"]["docs"].as_array().unwrap();
        assert_eq!(docs.len(), 1, "{r}");
        let d = &docs[0];
        assert_eq!(d["asset"], "192.168.10.23");
        assert_eq!(d["offender"], "203.0.113.80");
        assert_eq!(d["threat"], "Example");
        assert_eq!(d["kill_chain"], "installation");
        assert_eq!(d["count"], 3, "three HTTP 200 transactions: {d}");
    }
    ids.dedup();
    assert_eq!(ids.len(), 2, "two distinct probes answered");
    // The cursor: nothing after the last id.
    let next = v["results"][0]["body"]["next"].as_u64().unwrap();
    let after = f.ok(&[
        "-p",
        "p1",
        "doc",
        "ls",
        "--after",
        &next.to_string(),
        "--json",
    ]);
    assert_eq!(
        after.json()["results"][0]["body"]["docs"],
        Value::Array(vec![])
    );
    // Collecting with acknowledgement returns each DoC once per operator.
    let c = f
        .ok(&["-p", "all", "doc", "collect", "--ack", "--json"])
        .json();
    for r in c["results"].as_array().unwrap() {
        assert_eq!(r["body"]["docs"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(r["body"]["ack"], r["body"]["next"], "{r}");
    }
    let c = f
        .ok(&["-p", "all", "doc", "collect", "--ack", "--json"])
        .json();
    for r in c["results"].as_array().unwrap() {
        assert_eq!(r["body"]["docs"], Value::Array(vec![]), "{r}");
    }
    // The retro-hunt the push started has finished; nothing to cancel.
    let s = f
        .ok(&["-p", "p1", "retro", "status", "example-200", "--json"])
        .json();
    assert_eq!(s["results"][0]["body"]["running"], false, "{s}");
    let o = f.probectl(&["-p", "p1", "retro", "cancel", "example-200", "--json"]);
    assert_eq!(o.json()["results"][0]["outcome"], "failed");
    // The text table names both probes.
    let t = f.ok(&["-p", "all", "doc", "ls"]).stdout;
    assert!(
        t.contains("p1") && t.contains("p2") && t.contains("192.168.10.23"),
        "{t}"
    );
}

#[test]
fn targets_labels_and_partial_results() {
    let mut f = Fleet::new(4, false);
    f.start_all();
    let v = f.ok(&["-p", "site=even", "status", "--json"]).json();
    let names: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["probe"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p2", "p4"]);
    f.probe("p3").stop();
    let o = f.probectl(&["-p", "all", "status", "--json", "--timeout", "2s"]);
    assert_eq!(o.code, 3, "partial: {}", o.stdout);
    let v = o.json();
    assert_eq!(v["unreachable"], serde_json::json!(["p3"]));
    assert_eq!(v["succeeded"], 3);
    assert_eq!(v["partial"], true);
    let t = f
        .probectl(&["-p", "all", "status", "--timeout", "2s"])
        .stdout;
    assert!(t.contains("no answer from: p3"), "{t}");
    // An unknown target is a usage error naming it.
    let o = f.probectl(&["-p", "nope", "status"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("-p nope"), "{}", o.stderr);
}

#[test]
fn audit_verify_detects_edited_reordered_and_deleted_entries() {
    let mut f = Fleet::new(1, false);
    f.start_all();
    for _ in 0..4 {
        f.ok(&["-p", "p1", "status"]);
    }
    let v = f.ok(&["-p", "p1", "audit", "verify", "--json"]).json();
    assert_eq!(v["results"][0]["ok"], true, "{v}");
    f.probe("p1").stop();
    let data = f.probes[0].data.clone();
    let pristine = f.dir.path().join("pristine");
    copy_dir(&data, &pristine);
    type Tamper = fn(&store::Store);
    let cases: [(&str, Tamper, &str); 4] = [
        (
            "edited",
            |s| edit_entry(s, 2),
            "audit entry 2: content does not match",
        ),
        ("reordered", |s| swap_entries(s, 1, 2), "audit entry 1"),
        (
            "deleted",
            |s| {
                s.remove(store::Tree::Audit, &3u64.to_be_bytes()).unwrap();
            },
            "audit entry 3: missing",
        ),
        (
            "truncated",
            |s| {
                let n = s.count(store::Tree::Audit) as u64;
                s.remove(store::Tree::Audit, &(n - 1).to_be_bytes())
                    .unwrap();
            },
            "chain ends before the recorded head",
        ),
    ];
    for (what, tamper, expect) in cases {
        std::fs::remove_dir_all(&data).unwrap();
        copy_dir(&pristine, &data);
        // Each case checks the chain alone, not the head remembered from the last verify.
        let _ = std::fs::remove_dir_all(f.pki.join("audit"));
        {
            let s = store::Store::open(&data).unwrap();
            tamper(&s);
            s.flush().unwrap();
        }
        let pki = f.pki.clone();
        f.probe("p1").start(&pki);
        let o = f.probectl(&["-p", "p1", "audit", "verify"]);
        assert_eq!(o.code, 1, "{what}: {}", o.stdout);
        assert!(
            o.stdout.contains("BROKEN") && o.stdout.contains(expect),
            "{what}: {}",
            o.stdout
        );
        f.probe("p1").stop();
    }
}

#[test]
fn audit_verify_remembers_heads_and_detects_a_rolled_back_log() {
    let mut f = Fleet::new(1, false);
    f.start_all();
    f.ok(&["-p", "p1", "status"]);
    f.probe("p1").stop();
    let data = f.probes[0].data.clone();
    let old = f.dir.path().join("old");
    copy_dir(&data, &old);
    let pki = f.pki.clone();
    f.probe("p1").start(&pki);
    for _ in 0..3 {
        f.ok(&["-p", "p1", "status"]);
    }
    f.ok(&["-p", "p1", "audit", "verify"]);
    // The whole data directory put back as it was: a consistent but older chain.
    f.probe("p1").stop();
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&old, &data);
    f.probe("p1").start(&pki);
    let o = f.probectl(&["-p", "p1", "audit", "verify"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout.contains("rolled back") || o.stdout.contains("rewritten"),
        "{}",
        o.stdout
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

fn entry(s: &store::Store, i: u64) -> mgmt_proto::audit::AuditEntry {
    let b = s
        .get(store::Tree::Audit, &i.to_be_bytes())
        .unwrap()
        .unwrap();
    mgmt_proto::from_cbor(&b, "entry").unwrap()
}

fn edit_entry(s: &store::Store, i: u64) {
    let mut e = entry(s, i);
    e.outcome = "rejected".into();
    s.put(
        store::Tree::Audit,
        &i.to_be_bytes(),
        &mgmt_proto::to_cbor(&e),
    )
    .unwrap();
}

fn swap_entries(s: &store::Store, a: u64, b: u64) {
    let ea = s
        .get(store::Tree::Audit, &a.to_be_bytes())
        .unwrap()
        .unwrap();
    let eb = s
        .get(store::Tree::Audit, &b.to_be_bytes())
        .unwrap()
        .unwrap();
    s.put(store::Tree::Audit, &a.to_be_bytes(), &eb).unwrap();
    s.put(store::Tree::Audit, &b.to_be_bytes(), &ea).unwrap();
}

/// Alerts of `sid` in the probe's EVE output (complete once a capture file is in done/).
fn alerts(f: &Fleet, probe: usize, sid: u64) -> usize {
    std::fs::read_to_string(f.probes[probe].data.join("eve.json"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == sid)
        .count()
}

fn done_files(f: &Fleet, probe: usize) -> usize {
    std::fs::read_dir(f.probes[probe].pcap_dir.as_ref().unwrap().join("done"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn wait_done(f: &Fleet, probe: usize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while done_files(f, probe) < n {
        assert!(Instant::now() < deadline, "capture not processed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rule_sets_are_pushed_activated_and_rolled_back() {
    let mut f = Fleet::new(1, true);
    f.start_all();
    let rules = f.dir.path().join("site.rules");
    std::fs::write(
        &rules,
        "alert http any any -> any any (msg:\"example host\"; http.host; content:\"www.example.test\"; sid:1000001; rev:1;)\n\
         alert http any any -> any any (msg:\"broken\"; nosuchkeyword; sid:1000002; rev:1;)\n",
    )
    .unwrap();
    let v = f
        .ok(&[
            "-p",
            "p1",
            "rules",
            "push",
            "v1",
            "--activate",
            "--json",
            rules.to_str().unwrap(),
        ])
        .json();
    let body = &v["results"][0]["body"];
    assert_eq!(body["set"]["loaded"], 1, "{v}");
    assert_eq!(body["set"]["failed"], 1, "{v}");
    assert_eq!(body["activate"]["active"], "v1");
    f.probes[0].feed(&example_pcap());
    wait_done(&f, 0, 1);
    assert_eq!(
        alerts(&f, 0, 1_000_001),
        3,
        "the pushed rule fires per request"
    );
    // A second version without the rule; then roll back to v1.
    let quiet = f.dir.path().join("quiet.rules");
    std::fs::write(&quiet, "alert http any any -> any any (msg:\"never\"; http.host; content:\"nowhere.invalid\"; sid:1000003; rev:1;)\n").unwrap();
    f.ok(&[
        "-p",
        "p1",
        "rules",
        "push",
        "v2",
        "--activate",
        quiet.to_str().unwrap(),
    ]);
    let v = f.ok(&["-p", "p1", "rules", "ls", "--json"]).json();
    assert_eq!(v["results"][0]["body"]["active"], "v2");
    assert_eq!(
        v["results"][0]["body"]["history"],
        serde_json::json!(["v1"])
    );
    let mut copy = f.dir.path().join("second.pcap");
    std::fs::copy(example_pcap(), &copy).unwrap();
    f.probes[0].feed(&copy);
    wait_done(&f, 0, 2);
    assert_eq!(alerts(&f, 0, 1_000_001), 3, "v2 has no such rule");
    let v = f.ok(&["-p", "p1", "rules", "rollback", "--json"]).json();
    assert_eq!(v["results"][0]["body"]["active"], "v1");
    copy = f.dir.path().join("third.pcap");
    std::fs::copy(example_pcap(), &copy).unwrap();
    f.probes[0].feed(&copy);
    wait_done(&f, 0, 3);
    assert_eq!(alerts(&f, 0, 1_000_001), 6, "v1 active again");
    // Nothing left to roll back to; a set where nothing loads is refused; analysts may not
    // push rules.
    let o = f.probectl(&["-p", "p1", "rules", "rollback", "--json"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.json()["results"][0]["outcome"], "failed");
    let bad = f.dir.path().join("bad.rules");
    std::fs::write(&bad, "this is not a rule\n").unwrap();
    let o = f.probectl(&[
        "-p",
        "p1",
        "rules",
        "push",
        "v3",
        "--json",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 1);
    assert!(o.json()["results"][0]["error"]
        .as_str()
        .unwrap()
        .contains("no rule loads"));
    f.ok(&["pki", "operator", "--name", "ana", "--role", "analyst"]);
    f.ok(&["-p", "p1", "keys", "push"]);
    let o = f.probectl(&[
        "--operator",
        "ana",
        "-p",
        "p1",
        "rules",
        "activate",
        "v2",
        "--json",
    ]);
    assert_eq!(o.json()["results"][0]["code"], "forbidden");
}

#[test]
fn events_tail_returns_the_last_events_then_follows_and_filters() {
    let mut f = Fleet::new(2, true);
    f.start_all();
    for p in &f.probes {
        p.feed(&example_pcap());
    }
    wait_done(&f, 0, 1);
    wait_done(&f, 1, 1);
    // The last two HTTP events of each probe, tagged with the probe.
    let o = f.ok(&["-p", "all", "events", "tail", "-n", "2", "event_type:http"]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", o.stdout);
    for l in &lines {
        let (probe, ev) = l.split_once('\t').unwrap();
        assert!(probe == "p1" || probe == "p2");
        let ev: Value = serde_json::from_str(ev).unwrap();
        assert_eq!(ev["event_type"], "http");
    }
    // --json lines, a query that matches nothing, a bad query.
    let o = f.ok(&["-p", "p1", "--json", "events", "tail", "-n", "100"]);
    let n = o.stdout.lines().count();
    let eve = std::fs::read_to_string(f.probes[0].data.join("eve.json")).unwrap();
    assert_eq!(n, eve.lines().count().min(100));
    let first: Value = serde_json::from_str(o.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["probe"], "p1");
    assert!(first["event"]["event_type"].is_string());
    let o = f.ok(&["-p", "p1", "events", "tail", "event_type:nothing"]);
    assert!(o.stdout.is_empty());
    let o = f.probectl(&["-p", "p1", "events", "tail", "http.status:["]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    // Follow: events written after the start are printed as they come.
    let mut child = std::process::Command::new(common::probectl_bin())
        .args([
            "--pki",
            f.pki.to_str().unwrap(),
            "-p",
            "p1",
            "events",
            "tail",
            "-f",
        ])
        .args(["-n", "1", "--interval", "200ms", "event_type:http"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // The same capture under another name (done/ keeps one file per name).
    let again = f.dir.path().join("again.pcap");
    std::fs::copy(example_pcap(), &again).unwrap();
    f.probes[0].feed(&again);
    wait_done(&f, 0, 2);
    std::thread::sleep(Duration::from_secs(2));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let got = String::from_utf8_lossy(&out.stdout);
    let http_in_eve = std::fs::read_to_string(f.probes[0].data.join("eve.json"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"event_type\":\"http\""))
        .count();
    // The last HTTP event at the start, then every HTTP event of the second capture.
    assert_eq!(got.lines().count(), 1 + http_in_eve / 2, "{got}");
}

/// Intel alerts (gid 9001) in the probe's EVE output.
fn intel_alerts(f: &Fleet, probe: usize) -> usize {
    std::fs::read_to_string(f.probes[probe].data.join("eve.json"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event_type"] == "alert" && e["alert"]["gid"] == 9001)
        .count()
}

/// Issue 7: a threat-intel feed pushed to a running probe is matched from its next events on,
/// without a restart, and stops matching once removed.
#[test]
fn intel_feeds_are_pushed_and_removed_without_a_restart() {
    let mut f = Fleet::new(1, true);
    f.start_all();
    let feed = f.dir.path().join("example-c2.csv");
    std::fs::write(
        &feed,
        "indicator,type,source,confidence\n203.0.113.80,ip,fleet-test,90\nnot-an-indicator,ip,x,1\n",
    )
    .unwrap();
    f.probes[0].feed(&example_pcap());
    wait_done(&f, 0, 1);
    assert_eq!(intel_alerts(&f, 0), 0, "no feed yet");
    let v = f
        .ok(&[
            "-p",
            "p1",
            "intel",
            "push",
            "--json",
            feed.to_str().unwrap(),
        ])
        .json();
    let body = &v["results"][0]["body"];
    assert_eq!(body["name"], "example-c2", "{v}");
    assert_eq!(
        (body["indicators"].as_u64(), body["refused"].as_u64()),
        (Some(1), Some(1))
    );
    let copy = f.dir.path().join("second.pcap");
    std::fs::copy(example_pcap(), &copy).unwrap();
    f.probes[0].feed(&copy);
    wait_done(&f, 0, 2);
    assert_eq!(
        intel_alerts(&f, 0),
        1,
        "the pushed feed matches the next capture"
    );
    let ls = f.ok(&["-p", "p1", "intel", "ls", "--json"]).json();
    assert_eq!(ls["results"][0]["body"]["counts"]["indicators"], 1, "{ls}");
    f.ok(&["-p", "p1", "intel", "rm", "example-c2"]);
    let copy = f.dir.path().join("third.pcap");
    std::fs::copy(example_pcap(), &copy).unwrap();
    f.probes[0].feed(&copy);
    wait_done(&f, 0, 3);
    assert_eq!(intel_alerts(&f, 0), 1, "removed: no new alert");
    // A feed with nothing usable is refused, naming why; viewers may not push.
    std::fs::write(&feed, "indicator,type\nbogus,ip\n").unwrap();
    let o = f.probectl(&[
        "-p",
        "p1",
        "intel",
        "push",
        "--json",
        feed.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 1);
    assert!(o.json()["results"][0]["error"]
        .as_str()
        .unwrap()
        .contains("no usable indicator"));
    f.ok(&["pki", "operator", "--name", "vic", "--role", "viewer"]);
    f.ok(&["-p", "p1", "keys", "push"]);
    let o = f.probectl(&[
        "--operator",
        "vic",
        "-p",
        "p1",
        "intel",
        "push",
        "--json",
        feed.to_str().unwrap(),
    ]);
    assert_eq!(o.json()["results"][0]["code"], "forbidden");
}
