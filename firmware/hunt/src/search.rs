//! Hunting over the archive: count, top values per field, sample events. Blocks whose summary
//! rules the query out are never read; the rest are decoded in parallel.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use store::Archive;

use crate::eval::{matches, may_match, values_at};

use crate::query::Node;
use crate::HuntError;

/// Distinct values counted per field and block before the rest is lumped as `(other)`.
pub const MAX_TOP_DISTINCT: usize = 10_000;

/// Fields whose top values a hunt reports by default.
pub const DEFAULT_TOP_FIELDS: &[&str] = &[
    "event_type",
    "src_ip",
    "dest_ip",
    "dest_port",
    "app_proto",
    "alert.signature",
    "http.hostname",
    "http.url",
    "http.http_user_agent",
    "http.status",
    "tls.sni",
    "dns.rrname",
    "base64.functions",
];

/// What to report.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Oldest event time (µs).
    pub since_us: Option<i64>,
    /// Newest event time (µs).
    pub until_us: Option<i64>,
    /// Sample events returned (the oldest matches).
    pub samples: usize,
    /// Fields to count values of.
    pub top_fields: Vec<String>,
    /// Values listed per field.
    pub top_n: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            since_us: None,
            until_us: None,
            samples: 10,
            top_fields: DEFAULT_TOP_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
            top_n: 10,
        }
    }
}

/// A hunt's answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchResult {
    /// Matching events.
    pub count: u64,
    /// Blocks in the time range.
    pub blocks: usize,
    /// Blocks read (the rest were ruled out by their summaries).
    pub blocks_read: usize,
    /// Events decoded (the others of the blocks read were ruled out by their bytes).
    pub events_read: u64,
    /// Top values per field: `[field, [[value, count], ...]]`, fields with no values left out.
    pub top: Vec<(String, Vec<(String, u64)>)>,
    /// Sample events (oldest first).
    pub samples: Vec<Value>,
    /// Blocks that could not be read (corrupt or missing), with the reason.
    pub errors: Vec<String>,
}

#[derive(Default)]
struct Partial {
    count: u64,
    read: usize,
    events: u64,
    top: Vec<HashMap<String, u64>>,
    samples: Vec<(i64, Value)>,
    errors: Vec<String>,
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Partial {
    fn merge(mut self, o: Partial, samples: usize) -> Partial {
        self.count += o.count;
        self.read += o.read;
        self.events += o.events;
        if self.top.len() < o.top.len() {
            self.top.resize_with(o.top.len(), HashMap::new);
        }
        for (a, b) in self.top.iter_mut().zip(o.top) {
            for (k, v) in b {
                *a.entry(k).or_insert(0) += v;
            }
        }
        self.samples.extend(o.samples);
        self.samples.sort_by_key(|(t, _)| *t);
        self.samples.truncate(samples);
        self.errors.extend(o.errors);
        self
    }
}

/// Every archived event matching `node` within the options' time range, as `(ts_us, event)`
/// visits in parallel per block: `visit` must be `Sync`.
/// A `--since`/`--until` value: an absolute EVE/RFC 3339 time, or a duration (`7d`, `12h`)
/// back from `newest` (µs). Returns µs.
pub fn time_arg(s: &str, newest: i64) -> Result<i64, HuntError> {
    if let Some(t) = types::Timestamp::parse_eve(s) {
        return Ok(i64::try_from(t.0 / 1000).unwrap_or(i64::MAX));
    }
    let d = mgmt_proto::units::parse_duration(s).map_err(|_| {
        HuntError::Invalid(format!(
            "`{s}`: expected a duration (7d, 12h) or a time (2026-01-31T00:00:00Z)"
        ))
    })?;
    Ok(newest.saturating_sub(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)))
}

impl SearchResult {
    /// The result as `probed hunt --json` and the management plane print it.
    pub fn to_json(&self, elapsed_s: f64) -> Value {
        let top: serde_json::Map<String, Value> = self
            .top
            .iter()
            .map(|(f, v)| (f.clone(), serde_json::json!(v)))
            .collect();
        serde_json::json!({
            "count": self.count, "blocks": self.blocks, "blocks_read": self.blocks_read,
            "events_read": self.events_read, "elapsed_s": elapsed_s, "top": top,
            "samples": self.samples, "errors": self.errors,
        })
    }
}

pub fn search(
    archive: &Archive,
    node: &Node,
    opts: &SearchOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<SearchResult, HuntError> {
    let (total, blocks) =
        archive.candidate_blocks(0, opts.since_us, opts.until_us, &|b| may_match(node, b))?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let pre = crate::eval::Pre::new(node);
    let nf = opts.top_fields.len();
    let part = blocks
        .par_iter()
        .map(|(id, info)| {
            let mut p = Partial {
                top: vec![HashMap::new(); nf],
                read: 1,
                ..Default::default()
            };
            match archive.read_block_raw(*id, info) {
                Err(e) => p.errors.push(e.to_string()),
                Ok(raw) => {
                    for (_, ts, cbor) in store::RawEvents::new(&raw) {
                        if opts.since_us.is_some_and(|s| ts < s)
                            || opts.until_us.is_some_and(|u| ts > u)
                            || !pre.may_match(cbor)
                        {
                            continue;
                        }
                        p.events += 1;
                        let ev = match store::decode_event(cbor) {
                            Ok(ev) => ev,
                            Err(e) => {
                                p.errors.push(format!("block {id}: {e}"));
                                break;
                            }
                        };
                        if !matches(node, &ev) {
                            continue;
                        }
                        p.count += 1;
                        for (i, f) in opts.top_fields.iter().enumerate() {
                            let mut vals = Vec::new();
                            values_at(&ev, f, &mut vals);
                            for v in vals {
                                if let Some(t) = value_text(v) {
                                    let m = &mut p.top[i];
                                    if m.len() < MAX_TOP_DISTINCT || m.contains_key(&t) {
                                        *m.entry(t).or_insert(0) += 1;
                                    } else {
                                        *m.entry("(other)".into()).or_insert(0) += 1;
                                    }
                                }
                            }
                        }
                        if p.samples.len() < opts.samples {
                            p.samples.push((ts, ev));
                        }
                    }
                }
            }
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(d, blocks.len());
            p
        })
        .reduce(Partial::default, |a, b| a.merge(b, opts.samples));
    let mut top = Vec::new();
    for (i, f) in opts.top_fields.iter().enumerate() {
        let Some(m) = part.top.get(i) else { continue };
        if m.is_empty() {
            continue;
        }
        let mut v: Vec<(String, u64)> = m.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(opts.top_n);
        top.push((f.clone(), v));
    }
    Ok(SearchResult {
        count: part.count,
        blocks: total,
        blocks_read: part.read,
        events_read: part.events,
        top,
        samples: part.samples.into_iter().map(|(_, v)| v).collect(),
        errors: part.errors,
    })
}
