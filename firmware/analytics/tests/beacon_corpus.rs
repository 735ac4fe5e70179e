//! Beacon scores against RITA's own expectations (issue 7, acceptance 2): the Zeek logs of
//! RITA's `proxy_rolling` test set, scored here, must give the scores `EXPECTED.md` lists.
//!
//! Skipped (with a message) when `../shared/corpus` is absent; `PROBE_CORPUS` overrides the path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use analytics::beacon::{Analyzer, Internal, Limits};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PROBE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if dir.join("beaconing/rita-test-data").is_dir() {
        Some(dir)
    } else {
        eprintln!("beacon_corpus: ../shared/corpus not found; skipped");
        None
    }
}

#[test]
fn proxy_rolling_scores_match_rita() {
    let Some(corpus) = corpus() else { return };
    let logs =
        analytics::zeek::read_dir(&corpus.join("beaconing/rita-test-data/proxy_rolling")).unwrap();
    assert_eq!(logs.bad_lines, 0, "{:?}", logs.errors);
    let mut a = Analyzer::new(Internal::default(), Limits::default());
    for c in &logs.conns {
        a.add(c);
    }
    let beacons = a.score();
    for b in beacons.iter().take(12) {
        eprintln!(
            "{} -> {} {:?}: {} (ts {} ds {} hist {} dur {}) conns {} bytes {} dur {:.5} proxy {}",
            b.src,
            b.dst,
            b.fqdn,
            b.score,
            b.ts_score,
            b.ds_score,
            b.hist_score,
            b.dur_score,
            b.conns,
            b.bytes,
            b.duration,
            b.proxy_count
        );
    }
    let dns = beacons
        .iter()
        .find(|b| b.src.to_string() == "10.0.0.238" && b.dst.to_string() == "75.75.75.75")
        .expect("10.0.0.238 -> 75.75.75.75 scored");
    assert!((dns.score - 0.673).abs() <= 0.01, "{dns:?}");
    assert_eq!((dns.conns, dns.bytes), (1160, 319_107));
    assert!((dns.duration - 595.72157).abs() < 1e-4, "{dns:?}");
    let sb = beacons
        .iter()
        .find(|b| {
            b.src.to_string() == "10.0.0.111"
                && b.fqdn.as_deref() == Some("safebrowsing.googleapis.com:443")
        })
        .expect("10.0.0.111 -> safebrowsing.googleapis.com:443 scored");
    assert!((sb.score - 0.624).abs() <= 0.01, "{sb:?}");
    assert_eq!((sb.conns, sb.bytes, sb.proxy_count), (46, 308_421, 46));
    assert!(sb.dst.is_unspecified());
    // Both rank first among their kind, as RITA ranks them.
    assert_eq!(
        beacons
            .iter()
            .filter(|b| b.fqdn.is_none())
            .map(|b| b.score)
            .fold(0.0, f64::max),
        dns.score
    );
}
