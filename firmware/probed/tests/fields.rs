//! Every field the probe writes can be named in a hunt filter: the catalog
//! (`firmware/hunt/fields.txt`) knows each path of our EVE output, derived fields included.
//! Runs on the bundled example, and on the corpus captures when `../shared/corpus` is there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                paths(c, &p, out);
            }
        }
        Value::Array(a) => {
            for c in a {
                paths(c, prefix, out);
            }
        }
        _ => {}
    }
}

fn check(pcaps: &[String], derived: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let eve = tmp.path().join("eve.json");
    let data = tmp.path().join("data");
    let mut args = vec![
        "replay",
        "--no-progress",
        "-d",
        data.to_str().unwrap(),
        "-o",
        eve.to_str().unwrap(),
        "--set",
        "outputs.eve-log.types.http.dump-all-headers=both",
        "--set",
        "app-layer.protocols.tls.ja3-fingerprints=yes",
        "--set",
        "app-layer.protocols.tls.ja4-fingerprints=yes",
        "--set",
        "outputs.eve-log.community-id=yes",
        "--set",
        "outputs.eve-log.types.anomaly.types.decode=yes",
        "--set",
        "outputs.eve-log.types.anomaly.types.stream=yes",
    ];
    args.extend(pcaps.iter().map(String::as_str));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_probed"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut all = BTreeSet::new();
    for l in std::fs::read_to_string(&eve).unwrap().lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        paths(&v, "", &mut all);
    }
    if derived {
        assert!(
            all.contains("base64.functions"),
            "derived fields are in the output"
        );
    }
    assert!(all.len() > 50, "{} fields", all.len());
    let unknown: Vec<&String> = all.iter().filter(|p| !hunt::fields::is_known(p)).collect();
    assert!(
        unknown.is_empty(),
        "fields missing from the catalog: {unknown:?}"
    );
}

#[test]
fn every_field_of_the_example_is_in_the_catalog() {
    check(
        &[concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/pcaps/example.pcap"
        )
        .to_owned()],
        true,
    );
}

#[test]
fn every_field_of_the_corpus_is_in_the_catalog() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/pcaps");
    if !dir.is_dir() {
        eprintln!("skipped: no ../shared/corpus (CI has it)");
        return;
    }
    let mut pcaps = Vec::new();
    for sub in std::fs::read_dir(&dir).unwrap().flatten() {
        if let Ok(rd) = std::fs::read_dir(sub.path()) {
            for f in rd.flatten() {
                let p = f.path();
                let name = p.to_string_lossy().to_string();
                if name.ends_with(".pcap")
                    || name.ends_with(".pcapng")
                    || name.ends_with(".pcap.gz")
                {
                    pcaps.push(name);
                }
            }
        }
    }
    pcaps.sort();
    check(&pcaps, false);
}
