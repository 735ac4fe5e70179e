//! `kill -9` at the worst moments (issue acceptance 3): during archive ingest, during a
//! retro-hunt and while the live path creates DoCs. After a restart every DoC that was reported
//! is there, the retro-hunt resumes, nothing is declared twice, and the archive reads cleanly.
//! Also a full disk (acceptance 4, needs root for a tmpfs): the oldest archive data goes, an
//! `archive` event says so, capture never stops and no DoC is lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{eve_events, probed};
use serde_json::Value;
use testkit::scenario::raiz0worm;
use types::Timestamp;

const WORM: &str = "http.status:200 AND _exists_:base64.functions";
const EVERY_QUERY: &str = "event_type:dns AND dns.type:query";

/// A DoC filter on every DNS query, declaring its client (about 1,000 assets in the
/// scenario), without a retro-hunt.
fn add_noisy_filter(d: &str) {
    probed(&[
        "filter",
        "add",
        "-d",
        d,
        "--name",
        "noisy",
        "--action",
        "doc",
        "--threat",
        "T",
        "--kill-chain",
        "reconnaissance",
        "--target",
        "src_ip",
        "--no-retro",
        EVERY_QUERY,
    ]);
}

/// Starts probed and SIGKILLs it once `ready()` holds (or after `after`); true when it was
/// killed, false when it had already finished.
fn kill_when(args: &[&str], after: Option<Duration>, ready: &dyn Fn() -> bool) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_probed"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if ready() || after.is_some_and(|a| start.elapsed() >= a) {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "probed {args:?} hangs"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn scenario(dir: &Path, lookups: usize) -> PathBuf {
    let s = raiz0worm(
        Timestamp::from_secs_nanos(1_788_000_000, 0),
        60,
        lookups,
        12,
        &[[10, 1, 0, 10], [10, 1, 0, 11], [10, 1, 0, 12]],
    );
    let p = dir.join(format!("s{lookups}.pcap"));
    std::fs::write(&p, s.capture.to_pcap()).unwrap();
    p
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn docs(dir: &str) -> Vec<Value> {
    probed(&["doc", "ls", "-d", dir, "--json"])
        .as_array()
        .unwrap()
        .clone()
}

/// (kind, threat, asset) -> count; panics on a duplicate declaration.
fn doc_counts(dir: &str) -> HashMap<(String, String, String), u64> {
    let mut m = HashMap::new();
    for d in docs(dir) {
        let k = (
            d["kind"].to_string(),
            d["threat"].to_string(),
            d["asset"].to_string(),
        );
        assert!(
            m.insert(k.clone(), d["count"].as_u64().unwrap()).is_none(),
            "duplicate DoC {k:?}"
        );
    }
    m
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn hunt_all_clean(dir: &str) -> u64 {
    let h = probed(&[
        "hunt",
        "-d",
        dir,
        "--json",
        "--no-progress",
        "--samples",
        "0",
        "*",
    ]);
    assert!(h["errors"].as_array().unwrap().is_empty(), "{h}");
    h["count"].as_u64().unwrap()
}

#[test]
fn kill_9_during_ingest_leaves_a_clean_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = scenario(tmp.path(), 150_000);
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let eve = tmp.path().join("eve.json");
    let killed = kill_when(
        &[
            "replay",
            "-d",
            d,
            "--no-progress",
            "-o",
            eve.to_str().unwrap(),
            pcap.to_str().unwrap(),
        ],
        None,
        &|| size(&eve) > 40 << 20,
    );
    assert!(killed, "replay finished before it could be killed");
    let before = hunt_all_clean(d);
    assert!(before > 0);
    // A restart repairs what the crash left and goes on appending.
    let small = scenario(tmp.path(), 2_000);
    let s = probed(&[
        "replay",
        "-d",
        d,
        "--no-progress",
        "--json",
        "-o",
        eve.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    let added = s["archive"]["archived"].as_u64().unwrap();
    assert_eq!(hunt_all_clean(d), before + added);
}

#[test]
fn kill_9_during_retro_hunt_resumes_without_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = scenario(tmp.path(), 100_000);
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    probed(&[
        "replay",
        "-d",
        d,
        "--no-progress",
        "-o",
        "/dev/null",
        pcap.to_str().unwrap(),
    ]);
    // Every DNS query declares its client: ~1000 DoCs and ~100k evidence events.
    add_noisy_filter(d);
    let reference = tmp.path().join("reference");
    copy_dir(&data, &reference);
    let r = reference.to_str().unwrap();
    let t0 = Instant::now();
    let full = probed(&[
        "hunt",
        "-d",
        r,
        "--retro",
        "noisy",
        "--json",
        "--no-progress",
    ]);
    let took = t0.elapsed();
    let want = doc_counts(r);
    assert!(want.len() > 500, "{} DoCs", want.len());

    let killed = kill_when(
        &[
            "hunt",
            "-d",
            d,
            "--retro",
            "noisy",
            "--json",
            "--no-progress",
        ],
        Some(took / 3),
        &|| false,
    );
    assert!(
        killed,
        "the retro-hunt ({took:?}) finished before it could be killed"
    );
    let ls = probed(&["filter", "ls", "-d", d, "--json"]);
    assert_eq!(ls[0]["retro_pending"], true, "{ls}");
    let docs_at_crash = doc_counts(d);
    let resumed = probed(&[
        "hunt",
        "-d",
        d,
        "--retro",
        "noisy",
        "--json",
        "--no-progress",
    ]);
    assert_eq!(resumed["resumed"], true, "{resumed}");
    assert!(resumed["blocks"].as_u64().unwrap() < full["blocks"].as_u64().unwrap());
    let got = doc_counts(d);
    assert_eq!(
        got, want,
        "after resume, DoCs and evidence counts equal an uninterrupted run"
    );
    for k in docs_at_crash.keys() {
        assert!(got.contains_key(k));
    }
    // And once more: nothing new.
    let again = probed(&[
        "hunt",
        "-d",
        d,
        "--retro",
        "noisy",
        "--json",
        "--no-progress",
    ]);
    assert!(again["created"].as_array().unwrap().is_empty());
    assert_eq!(again["evidence_added"], 0);
    assert_eq!(doc_counts(d), want);
    hunt_all_clean(d);
}

#[test]
fn kill_9_while_declaring_keeps_every_reported_doc() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = scenario(tmp.path(), 100_000);
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    add_noisy_filter(d);
    let eve = tmp.path().join("eve.json");
    let reported = || eve_events(&eve, "doc");
    let killed = kill_when(
        &[
            "replay",
            "-d",
            d,
            "--no-progress",
            "-o",
            eve.to_str().unwrap(),
            pcap.to_str().unwrap(),
        ],
        None,
        &|| size(&eve) > 8 << 20 && reported().len() > 20,
    );
    assert!(killed, "replay finished before it could be killed");
    let seen: HashSet<u64> = docs(d).iter().map(|x| x["id"].as_u64().unwrap()).collect();
    let rep = reported();
    assert!(!rep.is_empty());
    for e in &rep {
        let id = e["doc"]["id"].as_u64().unwrap();
        assert!(
            seen.contains(&id),
            "DoC {id} was written to EVE but is gone after kill -9"
        );
    }
    // Replaying everything again declares the rest once: no (asset, threat) twice.
    probed(&[
        "replay",
        "-d",
        d,
        "--no-progress",
        "-o",
        "/dev/null",
        pcap.to_str().unwrap(),
    ]);
    let after = doc_counts(d);
    assert!(after.len() >= seen.len());
    hunt_all_clean(d);
}

#[test]
fn full_disk_evicts_oldest_archive_data_and_keeps_docs() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&tmp.path().join("small"), "24m") else {
        return;
    };
    let mnt = disk.0.clone();
    let pcap = scenario(tmp.path(), 200_000);
    let data = mnt.join("data");
    let d = data.to_str().unwrap();
    probed(&[
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
        "--kill-chain",
        "installation",
        "--no-retro",
        WORM,
    ]);
    let eve = tmp.path().join("eve.json");
    let s = probed(&[
        "replay",
        "-d",
        d,
        "--no-progress",
        "--json",
        "--archive-min-free",
        "4M",
        "-o",
        eve.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    // Capture never stopped: every packet was processed and every event archived or evicted.
    let frames = raiz0worm(
        Timestamp::from_secs_nanos(1_788_000_000, 0),
        60,
        200_000,
        12,
        &[[10, 1, 0, 10], [10, 1, 0, 11], [10, 1, 0, 12]],
    )
    .capture
    .frames
    .len() as u64;
    assert_eq!(s["packets"].as_u64().unwrap(), frames);
    assert!(s["archive"]["evictions"].as_u64().unwrap() > 0, "{s}");
    let evictions = eve_events(&eve, "archive");
    assert!(!evictions.is_empty());
    assert!(
        evictions
            .iter()
            .all(|e| e["archive"]["reason"] == "disk_watermark"
                && e["archive"]["action"] == "evicted"),
        "{evictions:?}"
    );
    // The DoCs are all there, though the evidence of the oldest is evicted.
    assert_eq!(docs(d).len(), 3);
    // What is left reads cleanly and is the newest data.
    let left = hunt_all_clean(d);
    assert!(left > 0);
    let oldest = evictions
        .iter()
        .map(|e| e["archive"]["oldest"].as_str().unwrap().to_owned())
        .min()
        .unwrap();
    assert!(
        oldest.starts_with("2026-08-29"),
        "the first day went first: {oldest}"
    );
}

#[test]
fn a_disk_too_small_for_anything_never_fails_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&tmp.path().join("tiny"), "3m") else {
        return;
    };
    let mnt = disk.0.clone();
    let pcap = scenario(tmp.path(), 100_000);
    let data = mnt.join("data");
    let d = data.to_str().unwrap();
    // A reserve of 0 is raised to the floor the state database needs; the archive keeps what
    // fits, newest first, and the run ends normally.
    let s = probed(&[
        "replay",
        "-d",
        d,
        "--no-progress",
        "--json",
        "--archive-min-free",
        "0",
        "-o",
        "/dev/null",
        pcap.to_str().unwrap(),
    ]);
    assert!(s["archive"]["evictions"].as_u64().unwrap() > 10, "{s}");
    assert_eq!(s["archive"]["store_errors"], 0, "{s}");
    assert!(hunt_all_clean(d) > 0);
}

/// A tmpfs mounted for a test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `24m`) at `dir`; `None` (with a message) when not root or
    /// when mounting is not allowed here.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        if !nix_is_root() {
            eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here");
            return None;
        }
        Some(Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
