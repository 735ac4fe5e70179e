//! Loading rule files into a rule set: file order, Suricata's duplicate-sid rules, a report of
//! every failure with `file:line`, sid, keyword and reason. A failing rule never stops the
//! others. Rules are parsed (and their pcres compiled) in parallel; results keep file order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::ast::{BitCmd, Condition, Rule};
use crate::caps::{MAX_FILE_SIZE, MAX_RULES_PER_LOAD, MAX_RULE_LEN};
use crate::parse::{parse_rule, rules_dir_of, ParseContext, ParseOutcome};
use crate::text::logical_rules;
use crate::vars::Vars;

/// A rule that did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Rule file.
    pub file: PathBuf,
    /// 1-based line of the rule (0 for file-level problems).
    pub line: u32,
    /// The rule's sid when it could be read.
    pub sid: Option<u32>,
    /// The keyword (or header part, or `rule`, `file`, `classification`) that failed.
    pub keyword: String,
    /// One-line reason.
    pub reason: String,
}

/// A rule skipped because its `requires` is not met (not an error, like Suricata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Rule file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// The rule's sid when it could be read.
    pub sid: Option<u32>,
    /// Why.
    pub reason: String,
}

/// Result of loading a rule set.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Loaded rules in file order.
    pub rules: Vec<Rule>,
    /// Rules that failed, in file order.
    pub failures: Vec<Failure>,
    /// Rules skipped for unmet `requires`.
    pub skipped: Vec<Skipped>,
    /// Non-fatal notes (a rule replaced by a newer revision, flowbits checked but never set).
    pub warnings: Vec<String>,
}

impl LoadReport {
    /// `{"loaded": N, "failed": N, "skipped": N, "failures": [{"file", "line", "sid", "keyword",
    /// "reason"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let failures: Vec<serde_json::Value> = self
            .failures
            .iter()
            .map(|f| {
                serde_json::json!({
                    "file": f.file.display().to_string(),
                    "line": f.line,
                    "sid": f.sid,
                    "keyword": f.keyword,
                    "reason": f.reason,
                })
            })
            .collect();
        serde_json::json!({
            "loaded": self.rules.len(),
            "failed": self.failures.len(),
            "skipped": self.skipped.len(),
            "failures": failures,
        })
    }
}

/// Load rule files with Suricata-style variables (`vars.address-groups.NAME`,
/// `vars.port-groups.NAME`; other keys ignored) and an optional `classification.config`.
pub fn load_rule_files(
    paths: &[PathBuf],
    vars: &BTreeMap<String, String>,
    classification: Option<&Path>,
) -> LoadReport {
    let mut report = LoadReport::default();
    let classifications = classification.map(|p| {
        let (map, errs) = crate::config::load_classification(p);
        for e in errs {
            report.failures.push(Failure {
                file: e.file,
                line: e.line,
                sid: None,
                keyword: "classification".into(),
                reason: e.reason,
            });
        }
        Arc::new(map)
    });
    let vars_in = vars;
    let vars = Vars::from_settings(vars);
    let mut sources: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for p in paths {
        match crate::config::read_capped(p) {
            Ok(data) => sources.push((p.clone(), data)),
            Err(reason) => report.failures.push(Failure {
                file: p.clone(),
                line: 0,
                sid: None,
                keyword: "file".into(),
                reason,
            }),
        }
    }
    let mut ctxs = Vec::new();
    for (p, _) in &sources {
        ctxs.push(ParseContext {
            vars: vars.clone(),
            classifications: classifications.clone(),
            rules_dir: rules_dir_of(p),
            features_off: crate::parse::features_off(vars_in),
        });
    }
    let inputs: Vec<(usize, Arc<PathBuf>, &[u8])> = sources
        .iter()
        .enumerate()
        .map(|(i, (p, d))| (i, Arc::new(p.clone()), d.as_slice()))
        .collect();
    load_inputs(&inputs, &ctxs, &mut report);
    report
}

/// Load rules from in-memory text as if it were the file `name` (tests, `check-rules` on
/// stdin). Dataset paths resolve against `rules_dir`.
pub fn load_rules_from_bytes(
    name: &Path,
    data: &[u8],
    vars: &BTreeMap<String, String>,
    rules_dir: &Path,
) -> LoadReport {
    let mut report = LoadReport::default();
    let ctx = ParseContext {
        vars: Vars::from_settings(vars),
        classifications: None,
        rules_dir: rules_dir.to_path_buf(),
        features_off: crate::parse::features_off(vars),
    };
    let inputs = [(0usize, Arc::new(name.to_path_buf()), data)];
    load_inputs(&inputs, std::slice::from_ref(&ctx), &mut report);
    report
}

fn load_inputs(
    inputs: &[(usize, Arc<PathBuf>, &[u8])],
    ctxs: &[ParseContext],
    report: &mut LoadReport,
) {
    // Cut every file into logical rules first (cheap, sequential), then parse in parallel.
    let mut items = Vec::new();
    for (idx, path, data) in inputs {
        if data.len() as u64 > MAX_FILE_SIZE {
            report.failures.push(Failure {
                file: path.to_path_buf(),
                line: 0,
                sid: None,
                keyword: "file".into(),
                reason: format!("file larger than {MAX_FILE_SIZE} bytes (cap MAX_FILE_SIZE)"),
            });
            continue;
        }
        for lr in logical_rules(data) {
            if items.len() >= MAX_RULES_PER_LOAD {
                report.failures.push(Failure {
                    file: path.to_path_buf(),
                    line: lr.line,
                    sid: None,
                    keyword: "rule".into(),
                    reason: format!(
                        "more than {MAX_RULES_PER_LOAD} rules in one load (cap MAX_RULES_PER_LOAD)"
                    ),
                });
                break;
            }
            items.push((*idx, path.clone(), lr));
        }
    }
    let outcomes: Vec<ParseOutcome> = items
        .par_iter()
        .map(|(idx, path, lr)| {
            if lr.unterminated {
                return ParseOutcome::Failed {
                    sid: crate::parse::sniff_sid(&lr.text),
                    error: crate::error::RuleError::new("rule", "file ends inside a rule continued with '\\'"),
                };
            }
            if lr.full_len > MAX_RULE_LEN {
                return ParseOutcome::Failed {
                    sid: crate::parse::sniff_sid(&lr.text).or_else(|| crate::parse::sniff_sid(&lr.tail)),
                    error: crate::error::RuleError::new(
                        "rule",
                        format!(
                            "rule is {} bytes, longer than {MAX_RULE_LEN} (cap MAX_RULE_LEN, Suricata's limit)",
                            lr.full_len
                        ),
                    ),
                };
            }
            match ctxs.get(*idx) {
                Some(ctx) => parse_rule(&lr.text, ctx, path.clone(), lr.line),
                None => ParseOutcome::Failed { sid: None, error: crate::error::RuleError::new("rule", "internal: no context") },
            }
        })
        .collect();

    // Suricata's duplicate handling: same (gid, sid) again replaces the loaded rule when its
    // rev is higher, else the new one is rejected.
    let mut slots: Vec<Option<Rule>> = Vec::with_capacity(outcomes.len());
    let mut by_id: HashMap<(u32, u32), usize> = HashMap::new();
    for ((_, path, lr), outcome) in items.iter().zip(outcomes) {
        match outcome {
            ParseOutcome::Rule(rule) => {
                let key = (rule.gid, rule.sid);
                if let Some(&old_i) = by_id.get(&key) {
                    let old = slots.get(old_i).and_then(Option::as_ref);
                    let (old_rev, old_file, old_line) = old
                        .map(|o| (o.rev, o.source.file.display().to_string(), o.source.line))
                        .unwrap_or_default();
                    if rule.rev > old_rev {
                        report.warnings.push(format!(
                            "{}:{}: sid {} rev {} replaces rev {} from {}:{}",
                            path.display(),
                            lr.line,
                            rule.sid,
                            rule.rev,
                            old_rev,
                            old_file,
                            old_line
                        ));
                        if let Some(s) = slots.get_mut(old_i) {
                            *s = None;
                        }
                    } else {
                        report.failures.push(Failure {
                            file: path.to_path_buf(),
                            line: lr.line,
                            sid: Some(rule.sid),
                            keyword: "sid".into(),
                            reason: format!(
                                "duplicate signature: gid {} sid {} already loaded from {}:{} (rev {} is not newer than {})",
                                rule.gid, rule.sid, old_file, old_line, rule.rev, old_rev
                            ),
                        });
                        continue;
                    }
                }
                by_id.insert(key, slots.len());
                slots.push(Some(rule));
            }
            ParseOutcome::Skipped(reason) => report.skipped.push(Skipped {
                file: path.to_path_buf(),
                line: lr.line,
                sid: crate::parse::sniff_sid(&lr.text),
                reason,
            }),
            ParseOutcome::Failed { sid, error } => report.failures.push(Failure {
                file: path.to_path_buf(),
                line: lr.line,
                sid,
                keyword: error.keyword,
                reason: error.reason,
            }),
        }
    }
    report.rules.extend(slots.into_iter().flatten());
    flowbit_warnings(report);
}

/// Suricata warns about flowbits that are checked but never set by any rule.
fn flowbit_warnings(report: &mut LoadReport) {
    let mut set: HashSet<&str> = HashSet::new();
    let mut checked: Vec<(&str, u32)> = Vec::new();
    for r in &report.rules {
        for c in &r.conditions {
            if let Condition::Flowbits(f) = &c.item {
                for n in &f.names {
                    match f.cmd {
                        BitCmd::Set | BitCmd::Toggle => {
                            set.insert(n);
                        }
                        _ => checked.push((n, r.sid)),
                    }
                }
            }
        }
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (n, sid) in checked {
        if !set.contains(n) && seen.insert(n) {
            out.push(format!(
                "flowbit '{n}' is checked but not set (checked in sid {sid})"
            ));
        }
    }
    report.warnings.extend(out);
}
