//! Load rule files and print the load report as JSON, with the time taken.
//!
//! `cargo run --release -p detect --example check_rules -- [--set KEY=VALUE]... [-c classification.config] FILES...`

use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() {
    let mut vars = BTreeMap::new();
    let mut files = Vec::new();
    let mut classification = None;
    let mut dump: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--set" => {
                if let Some((k, v)) = args.next().as_deref().and_then(|kv| kv.split_once('=')) {
                    vars.insert(k.to_string(), v.to_string());
                }
            }
            "-c" => classification = args.next().map(PathBuf::from),
            "--dump" => dump = args.next().map(PathBuf::from),
            _ => files.push(PathBuf::from(a)),
        }
    }
    let t = std::time::Instant::now();
    let report = detect::load_rule_files(&files, &vars, classification.as_deref());
    let elapsed = t.elapsed();
    println!(
        "{}",
        serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
    );
    if let Some(path) = dump {
        let mut out = String::new();
        for r in &report.rules {
            out.push_str(&dump_rule(r).to_string());
            out.push('\n');
        }
        let _ = std::fs::write(path, out);
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "loaded {} failed {} skipped {} in {:.3}s",
        report.rules.len(),
        report.failures.len(),
        report.skipped.len(),
        elapsed.as_secs_f64()
    );
}

fn num<T: std::fmt::Display>(v: &Option<detect::Value<T>>) -> serde_json::Value {
    match v {
        Some(detect::Value::Lit(n)) => serde_json::json!(n.to_string()),
        Some(detect::Value::Var(n)) => serde_json::json!(n),
        None => serde_json::Value::Null,
    }
}

/// A compact view of a rule for comparison with Suricata's engine analysis.
fn dump_rule(r: &detect::Rule) -> serde_json::Value {
    let buffers: Vec<serde_json::Value> = r
        .buffers
        .iter()
        .map(|b| {
            let matches: Vec<serde_json::Value> = b
                .matches
                .iter()
                .map(|m| match &m.item {
                    detect::Match::Content(c) => serde_json::json!({
                        "name": "content", "length": c.pattern.len(), "nocase": c.nocase, "negated": c.negated,
                        "starts_with": c.startswith, "ends_with": c.endswith, "fast_pattern": c.fast_pattern.is_some(),
                        "depth": num(&c.depth), "offset": num(&c.offset), "distance": num(&c.distance), "within": num(&c.within),
                    }),
                    detect::Match::Pcre(p) => serde_json::json!({"name": "pcre", "relative": p.relative, "negated": p.negated, "nocase": p.caseless}),
                    other => serde_json::json!({"name": format!("{other:?}").split('(').next().unwrap_or("").to_string()}),
                })
                .collect();
            serde_json::json!({"buffer": b.buffer.name(), "transforms": b.transforms.len(), "matches": matches})
        })
        .collect();
    serde_json::json!({
        "sid": r.sid, "gid": r.gid, "rev": r.rev, "msg": r.msg, "app_proto": r.app_proto.map(|a| a.name()),
        "buffers": buffers, "conditions": r.conditions.len(), "noalert": r.noalert, "priority": r.priority,
        "classtype": r.classtype,
    })
}
