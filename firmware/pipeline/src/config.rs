//! Settings for a run, addressed by Suricata's own configuration keys where they mean the same
//! thing (`stream.midstream`, `flow-timeouts.tcp.established`, `vars.address-groups.HOME_NET`
//! …), so one command line drives both engines in side-by-side tests.
//!
//! `--set` keys that are not known are an error; keys in a `-c` YAML file that are not known are
//! reported as warnings, because a Suricata configuration carries hundreds of keys for features
//! this probe implements differently or not at all.

use std::collections::BTreeMap;
use std::path::Path;

use applayer::AppConfig;
use decode::defrag::DefragConfig;
use decode::DecodeConfig;
use flow::FlowConfig;
use reassembly::{OverlapPolicy, StreamConfig};

/// A bad setting: names the key and says why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The key is not one this probe understands.
    #[error("unknown setting '{key}'{hint}")]
    UnknownKey {
        /// The key.
        key: String,
        /// ", did you mean ...?" or empty.
        hint: String,
    },
    /// The value does not fit the key.
    #[error("bad value '{value}' for '{key}': {why}")]
    BadValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What was expected.
        why: &'static str,
    },
    /// `--set` without `=`.
    #[error("'{0}' is not KEY=VALUE")]
    NotKeyValue(String),
    /// The configuration file could not be read or parsed.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        why: String,
    },
}

/// How TCP/UDP checksums are treated (`pcap-file.checksum-checks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMode {
    /// Validate; after 1000 packets, stop if more than 1 in 10 was invalid (offloading).
    Auto,
    /// Always validate: packets with a bad TCP checksum are not reassembled.
    Yes,
    /// Never validate.
    No,
}

/// Which anomaly types are logged (`outputs.eve-log.types.anomaly.types.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyTypes {
    /// Decoder anomalies (Suricata default: off).
    pub decode: bool,
    /// Stream anomalies (Suricata default: off).
    pub stream: bool,
    /// App-layer anomalies (Suricata default: on).
    pub applayer: bool,
}

/// What an `alert` record carries besides the alert (`outputs.eve-log.types.alert.*`); all
/// off by default, as in Suricata's shipped configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPayload {
    /// `payload`: the matched data, base64.
    pub payload: bool,
    /// `payload-printable`: the matched data with non-printable bytes as `.`.
    pub printable: bool,
    /// `packet`: the whole frame of the alerting packet, base64, and its link type.
    pub packet: bool,
    /// `payload-buffer-size`: most stream bytes shown per alert (Suricata: 4 KiB).
    pub buffer_size: usize,
}

impl Default for AlertPayload {
    fn default() -> Self {
        AlertPayload {
            payload: false,
            printable: false,
            packet: false,
            buffer_size: DEFAULT_ALERT_PAYLOAD_BUFFER,
        }
    }
}

impl AlertPayload {
    /// Whether matched data is shown at all (`payload` or `payload-printable`).
    pub fn shows_data(&self) -> bool {
        self.payload || self.printable
    }
}

/// Suricata's default `payload-buffer-size`.
pub const DEFAULT_ALERT_PAYLOAD_BUFFER: usize = 4096;

/// Largest `payload-buffer-size` accepted: an alert record stays well under a megabyte.
pub const MAX_ALERT_PAYLOAD_BUFFER: usize = 256 * 1024;

/// Which EVE event types are written (`outputs.eve-log.types`). All on by default; a YAML
/// configuration that lists types turns on only those, as Suricata does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EveTypes {
    /// `flow`.
    pub flow: bool,
    /// `http`.
    pub http: bool,
    /// `tls`.
    pub tls: bool,
    /// `dns`.
    pub dns: bool,
    /// `fileinfo` (Suricata's `files` logger).
    pub files: bool,
    /// `anomaly`.
    pub anomaly: bool,
    /// `alert`.
    pub alert: bool,
    /// `stats`.
    pub stats: bool,
}

impl EveTypes {
    const ALL: EveTypes = EveTypes {
        flow: true,
        http: true,
        tls: true,
        dns: true,
        files: true,
        anomaly: true,
        alert: true,
        stats: true,
    };
    const NONE: EveTypes = EveTypes {
        flow: false,
        http: false,
        tls: false,
        dns: false,
        files: false,
        anomaly: false,
        alert: false,
        stats: false,
    };

    /// The flag for a Suricata logger name, if it is one we write.
    fn slot(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "flow" => &mut self.flow,
            "http" => &mut self.http,
            "tls" => &mut self.tls,
            "dns" => &mut self.dns,
            "files" | "file" | "fileinfo" => &mut self.files,
            "anomaly" => &mut self.anomaly,
            "alert" => &mut self.alert,
            "stats" => &mut self.stats,
            _ => return None,
        })
    }

    /// Whether events of `event_type` are written.
    pub fn allows(&self, event_type: &str) -> bool {
        match event_type {
            "flow" => self.flow,
            "http" => self.http,
            "tls" => self.tls,
            "dns" => self.dns,
            "fileinfo" => self.files,
            "anomaly" => self.anomaly,
            "alert" => self.alert,
            "stats" => self.stats,
            _ => true,
        }
    }
}

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Decoder.
    pub decode: DecodeConfig,
    /// Defragmenter.
    pub defrag: DefragConfig,
    /// Flow table (per worker).
    pub flow: FlowConfig,
    /// Stream engine.
    pub stream: StreamConfig,
    /// App layer.
    pub app: AppConfig,
    /// Checksum handling.
    pub checksum: ChecksumMode,
    /// Community ID seed when enabled.
    pub community_id: Option<u16>,
    /// Anomaly logging.
    pub anomaly: AnomalyTypes,
    /// Log `flow` records.
    pub log_flows: bool,
    /// Event types written.
    pub eve_types: EveTypes,
    /// Whether flows are keyed by VLAN ids (`vlan.use-for-tracking`).
    pub vlan_tracking: bool,
    /// What alert records carry (`outputs.eve-log.types.alert.*`).
    pub alert_payload: AlertPayload,
    /// Rule variables and detection settings kept for the signature engine
    /// (`vars.*`, `packet-alert-max`, classification/reference files …).
    pub detect: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            decode: DecodeConfig::default(),
            defrag: DefragConfig::default(),
            flow: FlowConfig::default(),
            stream: StreamConfig::default(),
            app: AppConfig::default(),
            // Suricata 7 replaying a pcap, observed on the corpus (zeek `chksums` traces, and
            // captures whose outgoing packets carry offloaded checksums): TCP segments with bad
            // checksums are still reassembled. `pcap-file.checksum-checks=yes` or `auto`
            // turns validation on.
            checksum: ChecksumMode::No,
            community_id: None,
            anomaly: AnomalyTypes {
                decode: false,
                stream: false,
                applayer: true,
            },
            log_flows: true,
            eve_types: EveTypes::ALL,
            vlan_tracking: true,
            alert_payload: AlertPayload::default(),
            detect: BTreeMap::new(),
        }
    }
}

/// Parses Suricata-style booleans.
pub fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" | "enabled" => Ok(true),
        "no" | "false" | "off" | "0" | "disabled" => Ok(false),
        _ => Err(bad(key, v, "expected yes/no")),
    }
}

/// Parses sizes like `1mb`, `32 KiB`, `1gb`, `4096`.
pub fn parse_size(key: &str, v: &str) -> Result<u64, ConfigError> {
    let t = v.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| bad(key, v, "expected a size such as 1mb"))?;
    let mult: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad(key, v, "unknown size unit (use kb, mb, gb)")),
    };
    let bytes = n * mult;
    if !(0.0..=1.8e19).contains(&bytes) {
        return Err(bad(key, v, "size out of range"));
    }
    Ok(bytes as u64)
}

fn parse_u64(key: &str, v: &str) -> Result<u64, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| bad(key, v, "expected a whole number"))
}

/// Parses `4789`, `[4789, 8472]`, `"4789,8472"` or `any` (empty list = every port).
fn parse_ports(key: &str, v: &str) -> Result<Vec<u16>, ConfigError> {
    let t = v.trim().trim_matches(|c| c == '[' || c == ']' || c == '"');
    if t.eq_ignore_ascii_case("any") || t.is_empty() {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|p| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| bad(key, v, "expected a port or a list of ports"))
        })
        .collect()
}

fn bad(key: &str, v: &str, why: &'static str) -> ConfigError {
    ConfigError::BadValue {
        key: key.to_owned(),
        value: v.to_owned(),
        why,
    }
}

/// Every key `--set` accepts (prefix keys end with `*`), for messages and suggestions.
pub const KNOWN_KEYS: &[&str] = &[
    "vars.address-groups.*",
    "vars.port-groups.*",
    "stream.midstream",
    "stream.async-oneside",
    "stream.checksum-validation",
    "stream.memcap",
    "stream.reassembly.depth",
    "stream.reassembly.memcap",
    "stream.reassembly.policy",
    "stream.reassembly.max-segments",
    "stream.reassembly.deliver-on-ack",
    "flow.memcap",
    "flow.max-flows",
    "flow-timeouts.{default,tcp,udp,icmp}.{new,established,closed}",
    "defrag.memcap",
    "defrag.trackers",
    "defrag.timeout",
    "decoder.{vxlan,geneve,teredo,gtpu}.{enabled,ports}",
    "pcap-file.checksum-checks",
    "outputs.eve-log.community-id",
    "outputs.eve-log.community-id-seed",
    "outputs.eve-log.types.anomaly.types.{decode,stream,applayer}",
    "outputs.eve-log.types.flow.enabled",
    "outputs.eve-log.types.{flow,http,tls,dns,files,anomaly,alert,stats}",
    "outputs.eve-log.types.alert.{payload,payload-printable,packet,payload-buffer-size}",
    "vlan.use-for-tracking",
    "logging.*",
    "app-layer.protocols.*",
    "outputs.eve-log.types.{http,tls,dns,files}.*",
    "packet-alert-max",
    "classification-file",
    "reference-config-file",
    "threshold-file",
    "detect.*",
];

impl Settings {
    /// Applies one `KEY=VALUE` (the form `--set` takes).
    pub fn set_kv(&mut self, kv: &str) -> Result<(), ConfigError> {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| ConfigError::NotKeyValue(kv.to_owned()))?;
        self.set(k.trim(), v.trim())
    }

    /// Applies one setting.
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), ConfigError> {
        let parts: Vec<&str> = key.split('.').collect();
        match parts.as_slice() {
            ["vars", "address-groups" | "port-groups", _name] => {
                self.detect.insert(key.to_owned(), v.to_owned());
            }
            ["packet-alert-max"]
            | ["classification-file"]
            | ["reference-config-file"]
            | ["threshold-file"]
            | ["detect", ..] => {
                self.detect.insert(key.to_owned(), v.to_owned());
            }
            ["stream", "midstream"] => self.stream.midstream = parse_bool(key, v)?,
            ["stream", "async-oneside"] => self.stream.async_oneside = parse_bool(key, v)?,
            ["stream", "checksum-validation"] => {
                if !parse_bool(key, v)? {
                    self.checksum = ChecksumMode::No;
                }
            }
            ["stream", "memcap"] => {
                parse_size(key, v)?;
            }
            ["stream", "reassembly", "depth"] => self.stream.depth = parse_size(key, v)?,
            ["stream", "reassembly", "memcap"] => {
                self.stream.memcap =
                    usize::try_from(parse_size(key, v)?).map_err(|_| bad(key, v, "too large"))?
            }
            ["stream", "reassembly", "policy"] => {
                self.stream.policy = OverlapPolicy::from_name(v)
                    .ok_or_else(|| bad(key, v, "expected first, last, bsd or linux"))?
            }
            // Ours: hand data over on the peer's ACK (Suricata's way, default) or at once.
            ["stream", "reassembly", "deliver-on-ack"] => {
                self.stream.deliver_on_ack = parse_bool(key, v)?
            }
            ["stream", "reassembly", "max-segments"] => {
                self.stream.max_segments =
                    usize::try_from(parse_u64(key, v)?).map_err(|_| bad(key, v, "too large"))?
            }
            ["flow", "memcap"] => {
                // Suricata sizes flows at roughly 256 bytes of table overhead each; we map the
                // memcap to a flow count the same way.
                let bytes = parse_size(key, v)?;
                self.flow.max_flows =
                    usize::try_from((bytes / 256).max(1024)).unwrap_or(usize::MAX);
            }
            ["flow", "max-flows"] => {
                self.flow.max_flows = usize::try_from(parse_u64(key, v)?.max(1))
                    .map_err(|_| bad(key, v, "too large"))?
            }
            ["flow-timeouts", proto, state] => {
                let t = match *proto {
                    "default" => &mut self.flow.default,
                    "tcp" => &mut self.flow.tcp,
                    "udp" => &mut self.flow.udp,
                    "icmp" => &mut self.flow.icmp,
                    _ => return Err(unknown(key)),
                };
                let n = parse_u64(key, v)?;
                match *state {
                    "new" => t.new = n,
                    "established" => t.established = n,
                    "closed" => t.closed = n,
                    "bypassed"
                    | "emergency-new"
                    | "emergency-established"
                    | "emergency-closed"
                    | "emergency-bypassed" => {}
                    _ => return Err(unknown(key)),
                }
            }
            ["defrag", "memcap"] => {
                self.defrag.memcap =
                    usize::try_from(parse_size(key, v)?).map_err(|_| bad(key, v, "too large"))?
            }
            ["defrag", "trackers"] => {
                self.defrag.max_trackers =
                    usize::try_from(parse_u64(key, v)?).map_err(|_| bad(key, v, "too large"))?
            }
            ["defrag", "timeout"] => self.defrag.timeout_secs = parse_u64(key, v)?,
            ["defrag", "hash-size" | "max-frags" | "prealloc"] => {}
            ["decoder", tunnel, what] => {
                let list = match *tunnel {
                    "vxlan" => &mut self.decode.vxlan_ports,
                    "geneve" => &mut self.decode.geneve_ports,
                    "teredo" => &mut self.decode.teredo_ports,
                    "gtpu" => &mut self.decode.gtpu_ports,
                    _ => return Err(unknown(key)),
                };
                match *what {
                    "enabled" => {
                        if !parse_bool(key, v)? {
                            list.clear();
                        }
                    }
                    "ports" => *list = parse_ports(key, v)?,
                    _ => return Err(unknown(key)),
                }
            }
            ["pcap-file", "checksum-checks"] => {
                self.checksum = match v.to_ascii_lowercase().as_str() {
                    "auto" => ChecksumMode::Auto,
                    "yes" | "true" => ChecksumMode::Yes,
                    "no" | "false" => ChecksumMode::No,
                    _ => return Err(bad(key, v, "expected auto, yes or no")),
                }
            }
            ["outputs", "eve-log", "community-id"] => {
                if parse_bool(key, v)? {
                    self.community_id.get_or_insert(0);
                } else {
                    self.community_id = None;
                }
            }
            ["outputs", "eve-log", "community-id-seed"] => {
                let n = u16::try_from(parse_u64(key, v)?)
                    .map_err(|_| bad(key, v, "expected 0..65535"))?;
                if self.community_id.is_some() {
                    self.community_id = Some(n);
                }
                self.detect.insert(key.to_owned(), v.to_owned());
            }
            ["outputs", "eve-log", "types", "anomaly", "types", t] => {
                let b = parse_bool(key, v)?;
                match *t {
                    "decode" => self.anomaly.decode = b,
                    "stream" => self.anomaly.stream = b,
                    "applayer" => self.anomaly.applayer = b,
                    _ => return Err(unknown(key)),
                }
            }
            ["outputs", "eve-log", "types", "flow", "enabled"] => {
                self.log_flows = parse_bool(key, v)?;
                self.eve_types.flow = self.log_flows;
            }
            ["outputs", "eve-log", "types", "alert", opt] => match *opt {
                "payload" => self.alert_payload.payload = parse_bool(key, v)?,
                "payload-printable" => self.alert_payload.printable = parse_bool(key, v)?,
                "packet" => self.alert_payload.packet = parse_bool(key, v)?,
                "payload-buffer-size" => {
                    let n = parse_size(key, v)?;
                    self.alert_payload.buffer_size = usize::try_from(n)
                        .ok()
                        .filter(|n| (1..=MAX_ALERT_PAYLOAD_BUFFER).contains(n))
                        .ok_or_else(|| {
                            bad(
                                key,
                                v,
                                "expected 1 byte to 256kb (cap MAX_ALERT_PAYLOAD_BUFFER)",
                            )
                        })?;
                }
                // Suricata's shipped defaults that change nothing here: `metadata` (rule
                // metadata is always written), `tagged-packets`.
                "metadata" | "tagged-packets" => {
                    parse_bool(key, v)?;
                }
                "enabled" => self.eve_types.alert = parse_bool(key, v)?,
                _ => return Err(unknown(key)),
            },
            ["outputs", "eve-log", "types", t] => {
                let on = v.trim().is_empty() || parse_bool(key, v)?;
                match self.eve_types.slot(t) {
                    Some(slot) => *slot = on,
                    None => return Err(unknown(key)),
                }
            }
            ["outputs", "eve-log", "types", t, "enabled"] if *t != "flow" => {
                let on = parse_bool(key, v)?;
                match self.eve_types.slot(t) {
                    Some(slot) => *slot = on,
                    None => return Err(unknown(key)),
                }
            }
            ["outputs", "eve-log", "enabled"] => {
                if !parse_bool(key, v)? {
                    self.eve_types = EveTypes::NONE;
                }
            }
            ["outputs", "eve-log", "filename" | "filetype" | "pcap-file" | "metadata"] => {}
            ["vlan", "use-for-tracking"] => self.vlan_tracking = parse_bool(key, v)?,
            // Suricata's own logging (verbosity, log files) has no meaning here.
            ["logging", ..] => {}
            ["stream", "reassembly", "urgent", "policy"] => {
                // Urgent data is always delivered in line with the stream.
                if v.trim() != "inline" {
                    return Err(bad(key, v, "only 'inline' urgent handling is supported"));
                }
            }
            ["app-layer", "protocols", ..] | ["outputs", "eve-log", "types", ..] => {
                if matches!(
                    parts.as_slice(),
                    [
                        "app-layer",
                        "protocols",
                        "tls",
                        "ja3-fingerprints" | "ja4-fingerprints"
                    ]
                ) {
                    // Rules' `requires: feature ja3/ja4` read these.
                    self.detect.insert(key.to_owned(), v.to_owned());
                }
                self.app.apply(key, v).map_err(|why| match why {
                    None => unknown(key),
                    Some(why) => bad(key, v, why),
                })?
            }
            _ => return Err(unknown(key)),
        }
        Ok(())
    }

    /// Loads a YAML configuration (Suricata's layout). Returns the keys it did not use.
    pub fn load_yaml(&mut self, path: &Path) -> Result<Vec<String>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        // Suricata's files start with a `%YAML 1.1` directive and `---`.
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('%'))
            .collect::<Vec<_>>()
            .join("\n");
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&body).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
        let mut flat = Vec::new();
        flatten("", &doc, &mut flat);
        // A configuration that lists EVE types writes only those.
        if flat
            .iter()
            .any(|(k, _)| k.starts_with("outputs.eve-log.types."))
        {
            self.eve_types = EveTypes::NONE;
            // Without `extended: yes` Suricata's HTTP and TLS loggers print the basic fields
            // only; its shipped configuration is what turns extended on.
            for k in [
                "outputs.eve-log.types.http.extended",
                "outputs.eve-log.types.tls.extended",
            ] {
                let _ = self.app.apply(k, "no");
            }
            for (k, _) in &flat {
                if let Some(rest) = k.strip_prefix("outputs.eve-log.types.") {
                    let name = rest.split('.').next().unwrap_or("");
                    if let Some(slot) = self.eve_types.slot(name) {
                        *slot = true;
                    }
                }
            }
        }
        let mut unused = Vec::new();
        for (k, v) in flat {
            match self.set(&k, &v) {
                Ok(()) => {}
                Err(ConfigError::UnknownKey { .. }) => unused.push(k),
                Err(e) => return Err(e),
            }
        }
        Ok(unused)
    }
}

fn unknown(key: &str) -> ConfigError {
    // Suggest the known key sharing the longest prefix.
    let best = KNOWN_KEYS
        .iter()
        .map(|k| {
            let common = k
                .chars()
                .zip(key.chars())
                .take_while(|(a, b)| a == b)
                .count();
            (common, *k)
        })
        .max();
    let hint = match best {
        Some((n, k)) if n >= 4 => format!(", did you mean '{k}'?"),
        _ => String::new(),
    };
    ConfigError::UnknownKey {
        key: key.to_owned(),
        hint,
    }
}

/// Flattens a YAML tree into dotted keys. Sequences of scalars become `[a, b]`; sequences of
/// maps (Suricata's `- http:` lists) contribute their members under the parent key.
fn flatten(prefix: &str, v: &serde_yaml::Value, out: &mut Vec<(String, String)>) {
    use serde_yaml::Value;
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                let k = match k {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                flatten(&join(&k), v, out);
            }
        }
        Value::Sequence(items) => {
            if items.iter().all(|i| !matches!(i, Value::Mapping(_))) {
                let vals: Vec<String> = items.iter().map(scalar).collect();
                out.push((prefix.to_owned(), format!("[{}]", vals.join(", "))));
            } else {
                for i in items {
                    match i {
                        Value::Mapping(_) => flatten(prefix, i, out),
                        other => out.push((join(&scalar(other)), "yes".into())),
                    }
                }
            }
        }
        // `- http:` with nothing below it: the key itself is the setting.
        Value::Null => out.push((prefix.to_owned(), String::new())),
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        serde_yaml::Value::Null => String::new(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suricata_keys_apply() {
        let mut s = Settings::default();
        s.set_kv("stream.midstream=true").unwrap();
        s.set_kv("stream.reassembly.depth=2mb").unwrap();
        s.set_kv("flow-timeouts.tcp.established=30").unwrap();
        s.set_kv("vars.address-groups.EXTERNAL_NET=any").unwrap();
        s.set_kv("decoder.vxlan.ports=[4789, 8472]").unwrap();
        assert!(s.stream.midstream);
        assert_eq!(s.stream.depth, 2 << 20);
        assert_eq!(s.flow.tcp.established, 30);
        assert_eq!(s.decode.vxlan_ports, vec![4789, 8472]);
        assert_eq!(
            s.detect
                .get("vars.address-groups.EXTERNAL_NET")
                .map(String::as_str),
            Some("any")
        );
    }

    #[test]
    fn unknown_and_bad_values_are_errors() {
        let mut s = Settings::default();
        let e = s.set_kv("stream.midstreem=true").unwrap_err().to_string();
        assert!(e.contains("unknown setting 'stream.midstreem'"), "{e}");
        assert!(e.contains("did you mean 'stream.midstream'"), "{e}");
        let e = s
            .set_kv("stream.reassembly.depth=lots")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad value 'lots'"), "{e}");
        assert!(s.set_kv("no-equals").is_err());
    }

    #[test]
    fn yaml_flattening() {
        let dir = std::env::temp_dir().join(format!("cfg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s.yaml");
        std::fs::write(
            &p,
            "%YAML 1.1\n---\nstream:\n  midstream: true\n  reassembly:\n    depth: 64kb\n\
             outputs:\n  - fast:\n      enabled: yes\nrunmode: single\n",
        )
        .unwrap();
        let mut s = Settings::default();
        let unused = s.load_yaml(&p).unwrap();
        assert!(s.stream.midstream);
        assert_eq!(s.stream.depth, 64 * 1024);
        assert!(unused.contains(&"runmode".to_owned()));
    }
}
