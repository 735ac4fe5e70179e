//! Every EVE line we write validates against Suricata 7.0.10's own JSON schema.
//!
//! Runs the pipeline over every capture in `../shared/corpus/pcaps` (with every optional output
//! switched on, so more fields are exercised) and validates each line. Skipped, with a message,
//! when the corpus is not beside the checkout (a user's clone has none); CI has it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};

use pipeline::Settings;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PROBE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    dir.join("eve-schema/suricata-7.0.10.schema.json")
        .exists()
        .then_some(dir)
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("pcap" | "pcapng" | "gz")
        ) {
            out.push(p);
        }
    }
}

/// Suricata 7.0.10 writes a few DNS fields that its own schema does not list (seen in its
/// output on this corpus: `dns.tc`, `soa`/`sshfp` objects in answers and authorities, `grouped`
/// keys other than A/AAAA/CNAME/MX/NULL/PTR/SRV/TXT). We write exactly what Suricata writes, so
/// the schema is widened by those fields only; everything else stays as strict as shipped.
fn with_suricata_gaps(mut schema: serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    let dns = &mut schema["properties"]["dns"]["properties"];
    dns["tc"] = json!({"type": "boolean"});
    for list in ["answers", "authorities"] {
        if let Some(props) = dns[list]["items"]["properties"].as_object_mut() {
            props.insert("soa".into(), json!({"type": "object"}));
            props.insert("sshfp".into(), json!({"type": "object"}));
            props.insert("srv".into(), json!({"type": "object"}));
        }
    }
    if let Some(g) = dns["grouped"].as_object_mut() {
        g.insert("additionalProperties".into(), json!({"type": "array"}));
    }
    schema
}

#[test]
fn every_eve_line_validates_on_the_corpus() {
    let Some(dir) = corpus() else {
        eprintln!("eve_schema: ../shared/corpus not found; skipped");
        return;
    };
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("eve-schema/suricata-7.0.10.schema.json")).unwrap(),
    )
    .unwrap();
    let strict = jsonschema::JSONSchema::compile(&schema).expect("schema compiles");
    let validator = jsonschema::JSONSchema::compile(&with_suricata_gaps(schema.clone()))
        .expect("patched schema compiles");
    let mut gap_lines = 0usize;
    let mut settings = Settings::default();
    for kv in [
        "outputs.eve-log.community-id=yes",
        "outputs.eve-log.types.anomaly.types.decode=yes",
        "outputs.eve-log.types.anomaly.types.stream=yes",
        "outputs.eve-log.types.http.dump-all-headers=both",
        "outputs.eve-log.types.files.force-hash=[md5, sha1, sha256]",
        "stream.midstream=true",
    ] {
        settings.set_kv(kv).unwrap();
    }
    let mut pcaps = Vec::new();
    captures(&dir.join("pcaps"), &mut pcaps);
    pcaps.sort();
    assert!(!pcaps.is_empty());
    let mut failures = Vec::new();
    let mut lines = 0usize;
    for chunk in pcaps.chunks(64) {
        let buf = testkit::SharedBuf::default();
        let reg = pipeline::registry(&settings);
        let _ = pipeline::replay(
            chunk,
            settings.clone(),
            reg,
            None,
            Box::new(buf.clone()),
            1,
            &mut |_| {},
            &mut |_| {},
        )
        .unwrap();
        let data = buf.contents();
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            let v: serde_json::Value = match serde_json::from_slice(line) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("not JSON ({e}): {}", String::from_utf8_lossy(line)));
                    continue;
                }
            };
            if !strict.is_valid(&v) {
                gap_lines += 1;
            }
            let why: Vec<String> = match validator.validate(&v) {
                Ok(()) => Vec::new(),
                Err(errs) => errs
                    .map(|e| format!("{} at {}", e, e.instance_path))
                    .collect(),
            };
            if !why.is_empty() {
                failures.push(format!(
                    "{}: {}",
                    why.join("; "),
                    String::from_utf8_lossy(line)
                ));
            }
        }
    }
    eprintln!(
        "eve_schema: {lines} lines from {} captures; {gap_lines} use fields Suricata 7.0.10 \
         writes but its schema omits",
        pcaps.len()
    );
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for f in &failures {
        let k = f.split(": {").next().unwrap_or("").to_owned();
        *kinds.entry(k).or_default() += 1;
    }
    for (k, n) in &kinds {
        eprintln!("  {n:6}  {}", k.chars().take(300).collect::<String>());
    }
    assert!(lines > 1000, "too few events: {lines}");
    assert!(
        failures.is_empty(),
        "{} invalid lines, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
