//! Suricata's side config files: `classification.config`, `reference.config` and
//! `threshold.config`. Each parser reports problems as `file:line` errors and keeps going.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::caps::{MAX_CONFIG_LINES, MAX_FILE_SIZE};
use crate::num::{parse_u64, Base};
use crate::vars::Vars;

/// A problem on one line of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the file could not be read).
    pub line: u32,
    /// One-line reason.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// One classtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// Short name used by `classtype`.
    pub name: String,
    /// Description shown in alerts.
    pub description: String,
    /// Priority (1 is highest).
    pub priority: u8,
}

/// Read a config file with the size cap; returns its text or an error at line 0.
pub(crate) fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(format!(
            "file is {} bytes, larger than {MAX_FILE_SIZE} (cap MAX_FILE_SIZE)",
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

/// Meaningful lines: (line number, trimmed text) without comments and blanks.
fn lines(data: &[u8]) -> impl Iterator<Item = (u32, String)> + '_ {
    data.split(|&b| b == b'\n')
        .take(MAX_CONFIG_LINES)
        .enumerate()
        .map(|(i, l)| {
            (
                u32::try_from(i + 1).unwrap_or(u32::MAX),
                String::from_utf8_lossy(l).trim().to_string(),
            )
        })
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Parse `classification.config` text. Later duplicates replace earlier ones (Suricata warns).
pub fn parse_classification(file: &Path, data: &[u8]) -> (Vec<Classification>, Vec<ConfigError>) {
    let mut out: Vec<Classification> = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in lines(data) {
        let err = |reason: String| ConfigError {
            file: file.to_path_buf(),
            line,
            reason,
        };
        let Some(rest) = l.strip_prefix("config classification:") else {
            errs.push(err(format!(
                "expected \"config classification: name,description,priority\", got \"{}\"",
                crate::error::show(l.as_bytes())
            )));
            continue;
        };
        let parts: Vec<&str> = rest.split(',').map(str::trim).collect();
        let (Some(name), Some(prio)) = (parts.first(), parts.last()) else {
            errs.push(err("missing fields".into()));
            continue;
        };
        if parts.len() < 3 || name.is_empty() {
            errs.push(err("expected name,description,priority".into()));
            continue;
        }
        let description = parts
            .get(1..parts.len() - 1)
            .map(|d| d.join(","))
            .unwrap_or_default();
        let priority = match parse_u64(prio, Base::Ten, 0, 255) {
            Ok(p) => u8::try_from(p).unwrap_or(u8::MAX),
            Err(_) => {
                errs.push(err(format!(
                    "invalid priority \"{}\"",
                    crate::error::show(prio.as_bytes())
                )));
                continue;
            }
        };
        let c = Classification {
            name: name.to_ascii_lowercase(),
            description,
            priority,
        };
        match out.iter_mut().find(|o| o.name == c.name) {
            Some(o) => *o = c,
            None => out.push(c),
        }
    }
    (out, errs)
}

/// Load a classification file into the map rules are parsed against.
pub fn load_classification(path: &Path) -> (HashMap<String, (String, u8)>, Vec<ConfigError>) {
    match read_capped(path) {
        Ok(data) => {
            let (list, errs) = parse_classification(path, &data);
            (
                list.into_iter()
                    .map(|c| (c.name, (c.description, c.priority)))
                    .collect(),
                errs,
            )
        }
        Err(reason) => (
            HashMap::new(),
            vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                reason,
            }],
        ),
    }
}

/// Parse `reference.config` text: `config reference: system url-prefix`.
pub fn parse_reference(file: &Path, data: &[u8]) -> (HashMap<String, String>, Vec<ConfigError>) {
    let mut out = HashMap::new();
    let mut errs = Vec::new();
    for (line, l) in lines(data) {
        let parsed = l.strip_prefix("config reference:").and_then(|r| {
            let r = r.trim();
            let (sys, url) = r.split_once([' ', '\t'])?;
            let url = url.trim();
            (!sys.is_empty() && !url.is_empty())
                .then(|| (sys.to_ascii_lowercase(), url.to_string()))
        });
        match parsed {
            Some((s, u)) => {
                out.insert(s, u);
            }
            None => errs.push(ConfigError {
                file: file.to_path_buf(),
                line,
                reason: format!(
                    "expected \"config reference: system url\", got \"{}\"",
                    crate::error::show(l.as_bytes())
                ),
            }),
        }
    }
    (out, errs)
}

/// Tracking of a `suppress` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SuppressTrack {
    /// `by_src`.
    BySrc,
    /// `by_dst`.
    ByDst,
    /// `by_either`.
    ByEither,
}

/// One `threshold.config` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThresholdEntry {
    /// `suppress gen_id G, sig_id S[, track T, ip ADDR]`.
    Suppress {
        /// Generator id (0: all).
        gid: u32,
        /// Signature id (0: all).
        sid: u32,
        /// Tracking and address set, when given.
        track: Option<(SuppressTrack, String)>,
    },
    /// `threshold`/`event_filter` lines.
    Threshold {
        /// Generator id (0: all).
        gid: u32,
        /// Signature id (0: all).
        sid: u32,
        /// The threshold.
        threshold: crate::ast::Threshold,
    },
    /// `rate_filter` lines.
    RateFilter {
        /// Generator id.
        gid: u32,
        /// Signature id.
        sid: u32,
        /// Tracking (`by_src`, `by_dst`, `by_rule`, `by_both`).
        track: String,
        /// Count.
        count: u32,
        /// Seconds.
        seconds: u32,
        /// New action (`alert`, `drop`, `pass`, `reject`).
        new_action: String,
        /// Timeout in seconds.
        timeout: u32,
    },
}

fn kv(rest: &str) -> Result<Vec<(String, String)>, String> {
    rest.split(',')
        .map(|p| {
            let p = p.trim();
            let (k, v) = p
                .split_once([' ', '\t'])
                .ok_or_else(|| format!("expected \"key value\", got \"{p}\""))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn get<'a>(m: &'a [(String, String)], k: &str) -> Option<&'a str> {
    m.iter().find(|(a, _)| a == k).map(|(_, b)| b.as_str())
}

fn num(m: &[(String, String)], k: &str) -> Result<u32, String> {
    let v = get(m, k).ok_or_else(|| format!("missing \"{k}\""))?;
    let n = parse_u64(v, Base::Ten, 0, u64::from(u32::MAX))
        .map_err(|_| format!("invalid {k} \"{v}\""))?;
    u32::try_from(n).map_err(|_| format!("invalid {k}"))
}

fn threshold_line(kind: &str, rest: &str, vars: &Vars) -> Result<ThresholdEntry, String> {
    use crate::ast::{Threshold, ThresholdType, Track};
    let m = kv(rest)?;
    for (k, _) in &m {
        let ok = match kind {
            "suppress" => matches!(k.as_str(), "gen_id" | "sig_id" | "track" | "ip"),
            "rate_filter" => {
                matches!(
                    k.as_str(),
                    "gen_id" | "sig_id" | "track" | "count" | "seconds" | "new_action" | "timeout"
                )
            }
            _ => matches!(
                k.as_str(),
                "gen_id" | "sig_id" | "type" | "track" | "count" | "seconds"
            ),
        };
        if !ok {
            return Err(format!("unknown option \"{k}\" for {kind}"));
        }
    }
    let gid = num(&m, "gen_id")?;
    let sid = num(&m, "sig_id")?;
    match kind {
        "suppress" => {
            let track = match (get(&m, "track"), get(&m, "ip")) {
                (None, None) => None,
                (Some(t), Some(ip)) => {
                    let t = match t {
                        "by_src" => SuppressTrack::BySrc,
                        "by_dst" => SuppressTrack::ByDst,
                        "by_either" => SuppressTrack::ByEither,
                        o => return Err(format!("invalid track \"{o}\"")),
                    };
                    crate::netexpr::parse_address(ip.as_bytes(), vars).map_err(|e| e.reason)?;
                    Some((t, ip.to_string()))
                }
                _ => return Err("suppress needs both track and ip, or neither".into()),
            };
            Ok(ThresholdEntry::Suppress { gid, sid, track })
        }
        "rate_filter" => {
            let track = get(&m, "track").ok_or("missing \"track\"")?;
            if !matches!(track, "by_src" | "by_dst" | "by_rule" | "by_both") {
                return Err(format!("invalid track \"{track}\""));
            }
            let new_action = get(&m, "new_action").ok_or("missing \"new_action\"")?;
            if !matches!(
                new_action,
                "alert" | "drop" | "pass" | "log" | "reject" | "sdrop"
            ) {
                return Err(format!("invalid new_action \"{new_action}\""));
            }
            Ok(ThresholdEntry::RateFilter {
                gid,
                sid,
                track: track.to_string(),
                count: num(&m, "count")?,
                seconds: num(&m, "seconds")?,
                new_action: new_action.to_string(),
                timeout: num(&m, "timeout")?,
            })
        }
        _ => {
            let kind = match get(&m, "type").ok_or("missing \"type\"")? {
                "limit" => ThresholdType::Limit,
                "threshold" => ThresholdType::Threshold,
                "both" => ThresholdType::Both,
                o => return Err(format!("invalid type \"{o}\"")),
            };
            let track = match get(&m, "track").ok_or("missing \"track\"")? {
                "by_src" => Track::BySrc,
                "by_dst" => Track::ByDst,
                "by_rule" => Track::ByRule,
                "by_both" => Track::ByBoth,
                o => return Err(format!("invalid track \"{o}\"")),
            };
            let threshold = Threshold {
                kind,
                track,
                count: num(&m, "count")?,
                seconds: num(&m, "seconds")?,
                multiplier: None,
            };
            Ok(ThresholdEntry::Threshold {
                gid,
                sid,
                threshold,
            })
        }
    }
}

/// Load a `threshold.config` file (see [`parse_threshold_config`]).
pub fn load_threshold_file(path: &Path, vars: &Vars) -> (Vec<ThresholdEntry>, Vec<ConfigError>) {
    match read_capped(path) {
        Ok(data) => parse_threshold_config(path, &data, vars),
        Err(reason) => (
            Vec::new(),
            vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                reason,
            }],
        ),
    }
}

/// Parse `threshold.config` text (`suppress`, `threshold`, `event_filter`, `rate_filter`).
pub fn parse_threshold_config(
    file: &Path,
    data: &[u8],
    vars: &Vars,
) -> (Vec<ThresholdEntry>, Vec<ConfigError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in lines(data) {
        let (kind, rest) = l.split_once([' ', '\t']).unwrap_or((l.as_str(), ""));
        let r = match kind {
            "suppress" | "threshold" | "event_filter" | "rate_filter" => {
                threshold_line(kind, rest, vars)
            }
            o => Err(format!(
                "unknown directive \"{}\"",
                crate::error::show(o.as_bytes())
            )),
        };
        match r {
            Ok(e) => out.push(e),
            Err(reason) => errs.push(ConfigError {
                file: file.to_path_buf(),
                line,
                reason,
            }),
        }
    }
    (out, errs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let (c, e) = parse_classification(
            Path::new("c"),
            b"# x\nconfig classification: trojan-activity,A Network Trojan was detected,1\nbad line\nconfig classification: x,y,z\n",
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].priority, 1);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, 3);
    }

    #[test]
    fn reference() {
        let (r, e) = parse_reference(Path::new("r"), b"config reference: cve http://cve.mitre.org/cgi-bin/cvename.cgi?name=\nconfig reference: x\n");
        assert_eq!(
            r.get("cve").map(String::as_str),
            Some("http://cve.mitre.org/cgi-bin/cvename.cgi?name=")
        );
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn thresholds() {
        let v = Vars::default();
        let data = b"suppress gen_id 1, sig_id 2001\nsuppress gen_id 1, sig_id 2002, track by_src, ip 10.0.0.0/8\n\
threshold gen_id 1, sig_id 3, type limit, track by_src, count 1, seconds 60\n\
event_filter gen_id 1, sig_id 4, type both, track by_dst, count 2, seconds 30\n\
rate_filter gen_id 1, sig_id 5, track by_rule, count 10, seconds 1, new_action drop, timeout 10\n\
suppress gen_id 1, sig_id 6, track by_src\nthreshold gen_id 1, sig_id 7, type foo, track by_src, count 1, seconds 1\nfoo bar\n";
        let (entries, errs) = parse_threshold_config(Path::new("t"), data, &v);
        assert_eq!(entries.len(), 5);
        assert_eq!(errs.len(), 3);
        assert_eq!(errs[0].line, 6);
    }
}
