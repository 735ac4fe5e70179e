//! Policy actions, DoCs and retro-hunts over a real archive in a temporary data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use hunt::ingest::Ingest;
use hunt::model::{Action, Declaration, TagValue, ThresholdKind, Track};
use hunt::{retro, search, Filter, KillChain};
use serde_json::{json, Value};
use store::{ArchiveConfig, Store};

fn http(i: u64, day: u64, worm: bool) -> Value {
    let ts = types::Timestamp::from_secs_nanos(1_760_000_000 + day * 86_400 + i, 0).to_eve_string();
    let mut v = json!({
        "timestamp": ts, "event_type": "http",
        "src_ip": format!("10.0.{}.{}", i % 7, 1 + i % 200), "dest_ip": "192.0.2.10",
        "src_port": 40000 + (i % 1000), "dest_port": 80, "proto": "TCP",
        "http": {"hostname": "example.org", "url": format!("/page/{i}"), "status": 200}
    });
    if worm {
        v["http"]["url"] = json!("/x.php?c=base64_decode(UmFpejBXb3JN)");
        v["base64"] = json!({"functions": ["base64_decode"], "decoded": ["Raiz0WorM"]});
    }
    v
}

fn ingest(store: &Store, evs: &[Value]) -> (hunt::ingest::IngestStats, Vec<Value>) {
    let mut ing = Ingest::open(
        store,
        ArchiveConfig {
            block_events: 64,
            ..Default::default()
        },
    )
    .unwrap();
    let mut out = Vec::new();
    for e in evs {
        ing.line(&serde_json::to_vec(e).unwrap(), &mut out).unwrap();
    }
    let st = ing.finish(&mut out).unwrap();
    let lines = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    (st, lines)
}

fn doc_filter(name: &str) -> Filter {
    Filter {
        name: name.into(),
        query: "event_type:http AND http.status:200 AND _exists_:base64.functions".into(),
        description: String::new(),
        action: Some(Action::Doc(Declaration {
            threat: "Raiz0WorM".into(),
            family: Some("worm".into()),
            kill_chain: KillChain::Installation,
            offender_key: "src_ip".into(),
            target_key: "dest_ip".into(),
            target_type: Default::default(),
            track_offender: true,
            track_target: false,
            webhook: true,
        })),
        enabled: true,
        index: 0,
        created: String::new(),
        retro_days: None,
    }
}

#[test]
fn hunt_retro_then_live_declarations_are_exactly_once() {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path()).unwrap();
    // 60 days of background with a worm event from 3 sources on days 5, 20, 40.
    let mut evs = Vec::new();
    for day in 0..60 {
        for i in 0..50 {
            let worm = [5, 20, 40].contains(&day) && i < 3;
            evs.push(http(i, day, worm));
        }
    }
    let (st, _) = ingest(&s, &evs);
    assert_eq!(st.archived, 3000);
    let q = hunt::parse_query("http.status:200 AND base64.functions:base64_decode").unwrap();
    let r = search::search(&s.archive(), &q, &Default::default(), &|_, _| {}).unwrap();
    assert_eq!(r.count, 9);
    assert!(
        r.blocks_read < r.blocks,
        "{} of {} blocks read",
        r.blocks_read,
        r.blocks
    );

    hunt::save_filter(&s, &doc_filter("raiz")).unwrap();
    let c = hunt::policy::Compiled::new(hunt::get_filter(&s, "raiz").unwrap().unwrap()).unwrap();
    let docs = hunt::docs::DocStore::new(s.clone());
    let rep = retro::retro_hunt(&s, &docs, &c, 60, &["chat".into()], &mut |_, _| true).unwrap();
    assert_eq!(rep.matched, 9);
    // One DoC per offender (3 sources), dated by the oldest evidence (day 5).
    assert_eq!(rep.created.len(), 3);
    assert_eq!(rep.evidence_added, 6);
    let all = docs.list().unwrap();
    assert!(
        all.iter()
            .all(|d| d.count == 3 && d.first_seen.starts_with("2025-10-14")),
        "{all:?}"
    );
    // Again: nothing new.
    let again = retro::retro_hunt(&s, &docs, &c, 60, &[], &mut |_, _| true).unwrap();
    assert_eq!(again.matched, 9);
    assert!(again.created.is_empty());
    assert_eq!(again.evidence_added, 0);
    // Outbox: one delivery per created DoC.
    assert_eq!(s.count(store::Tree::Outbox), 3);

    // Live: a new worm source declares a new DoC; a known one adds evidence.
    let mut live = vec![http(0, 61, true), http(100, 61, true)];
    live[1]["src_ip"] = json!("10.9.9.9");
    let (st, out) = ingest(&s, &live);
    assert_eq!(st.docs_created, 1);
    assert_eq!(st.evidence_added, 1);
    let doc_events: Vec<&Value> = out.iter().filter(|e| e["event_type"] == "doc").collect();
    assert_eq!(doc_events.len(), 1);
    assert_eq!(doc_events[0]["doc"]["asset"], "10.9.9.9");
    assert_eq!(doc_events[0]["doc"]["kill_chain"], "installation");
    assert_eq!(docs.list().unwrap().len(), 4);
}

#[test]
fn suppress_threshold_tag_and_tagkeep_in_order() {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path()).unwrap();
    let f = |name: &str, index: i64, query: &str, action: Action| Filter {
        name: name.into(),
        query: query.into(),
        description: String::new(),
        action: Some(action),
        enabled: true,
        index,
        created: String::new(),
        retro_days: None,
    };
    hunt::save_filter(
        &s,
        &f(
            "keep-10-0-0",
            0,
            "src_ip:10.0.0.0/24",
            Action::Tagkeep {
                tag: TagValue::Relevant,
            },
        ),
    )
    .unwrap();
    hunt::save_filter(&s, &f("drop-10", 1, "src_ip:10.0.0.0/8", Action::Suppress)).unwrap();
    hunt::save_filter(
        &s,
        &f(
            "thr",
            2,
            "event_type:http",
            Action::Threshold {
                track: Track::ByDst,
                count: 2,
                seconds: 60,
                kind: ThresholdKind::Limit,
            },
        ),
    )
    .unwrap();
    let mut evs = Vec::new();
    for i in 0..10 {
        let mut e = http(i, 0, false);
        e["src_ip"] = json!(if i < 2 {
            "10.0.0.5"
        } else if i < 6 {
            "10.1.0.5"
        } else {
            "172.16.0.1"
        });
        evs.push(e);
    }
    let (st, out) = ingest(&s, &evs);
    // 2 kept by tagkeep (they still count in the threshold's window), 4 suppressed; the
    // threshold (2 per 60 s per destination, all in one window) then has no room for the 4
    // others.
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(st.dropped, 8);
    assert_eq!(out.iter().filter(|e| e["tag"] == "relevant").count(), 2);
    assert_eq!(hunt::filter_counts(&s, "drop-10").unwrap().dropped, 4);
    let thr = hunt::filter_counts(&s, "thr").unwrap();
    assert_eq!((thr.seen, thr.dropped), (6, 4));
}

#[test]
fn a_running_ingest_picks_up_filters_changed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let mut ing = Ingest::open(&s, ArchiveConfig::default()).unwrap();
    let generation = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    ing.watch(generation.clone());
    let mut out = Vec::new();
    let line = serde_json::to_vec(&http(1, 0, false)).unwrap();
    ing.line(&line, &mut out).unwrap();
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    // A suppress filter stored by someone else (the management plane) while this runs.
    hunt::save_filter(
        &s,
        &Filter {
            name: "quiet".into(),
            query: "event_type:http".into(),
            description: String::new(),
            action: Some(Action::Suppress),
            enabled: true,
            index: 0,
            created: String::new(),
            retro_days: None,
        },
    )
    .unwrap();
    ing.line(&line, &mut out).unwrap();
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count(),
        2,
        "not reloaded yet"
    );
    generation.fetch_add(1, std::sync::atomic::Ordering::Release);
    ing.line(&line, &mut out).unwrap();
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count(),
        2,
        "suppressed after reload"
    );
    ing.finish(&mut out).unwrap();
    assert_eq!(hunt::filter_counts(&s, "quiet").unwrap().dropped, 1);
}

/// What the ingest thread has written out (flushed) so far.
#[derive(Clone, Default)]
struct Flushed {
    pending: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl std::io::Write for Flushed {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.pending.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let mut p = self.pending.lock().unwrap();
        self.written.lock().unwrap().extend(p.drain(..));
        Ok(())
    }
}

#[test]
fn a_live_ingest_writes_its_events_out_while_it_runs() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let ing = Ingest::open(&s, ArchiveConfig::default()).unwrap();
    let out = Flushed::default();
    let (mut w, h) = hunt::ingest::IngestWriter::spawn(ing, Box::new(out.clone())).unwrap();
    let mut line = serde_json::to_vec(&http(1, 0, false)).unwrap();
    line.push(b'\n');
    w.write_all(&line).unwrap();
    // The writer stays open (a live daemon): the event is out within a couple of seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while out.written.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "event still buffered");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(String::from_utf8_lossy(&out.written.lock().unwrap()).contains("/page/1"));
    drop(w);
    h.join().unwrap();
}
