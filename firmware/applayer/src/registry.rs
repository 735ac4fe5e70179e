//! The protocols the app layer knows: name, probe, ports and parser constructor.

use std::sync::Arc;

use events::app::{Probe, StreamParser};
use types::Direction;

use crate::DatagramParser;

/// App-layer settings for every protocol.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Ports on which DNS is probed (`app-layer.protocols.dns.{tcp,udp}.detection-ports.dp`).
    pub dns_ports: Vec<u16>,
    /// DNS parser and logger settings.
    pub dns: applayer_dns::DnsConfig,
    /// DNS enabled (`app-layer.protocols.dns.enabled`).
    pub dns_enabled: bool,
    /// HTTP parser and logger settings (shared by every HTTP flow).
    pub http: Arc<applayer_http::HttpConfig>,
    /// HTTP enabled (`app-layer.protocols.http.enabled`).
    pub http_enabled: bool,
    /// TLS parser and logger settings.
    pub tls: applayer_tls::TlsConfig,
    /// TLS enabled (`app-layer.protocols.tls.enabled`).
    pub tls_enabled: bool,
    /// Follow SMTP for STARTTLS (`app-layer.protocols.smtp.enabled`).
    pub smtp_enabled: bool,
    /// Follow FTP for AUTH TLS (`app-layer.protocols.ftp.enabled`).
    pub ftp_enabled: bool,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            dns_ports: vec![53],
            dns: applayer_dns::DnsConfig::default(),
            dns_enabled: true,
            http: Arc::new(applayer_http::HttpConfig::default()),
            http_enabled: true,
            tls: applayer_tls::TlsConfig::default(),
            tls_enabled: true,
            smtp_enabled: true,
            ftp_enabled: true,
        }
    }
}

impl AppConfig {
    /// Makes the HTTP, TLS and DNS parsers keep per-transaction inspection buffers
    /// ([`events::inspect::TxBuffers`]) for the signature engine. Off by default: a probe
    /// without app-layer rules does not pay for the snapshots.
    pub fn set_inspect(&mut self, on: bool) {
        Arc::make_mut(&mut self.http).inspect = on;
        self.tls.inspect = on;
        self.dns.inspect = on;
    }

    /// Applies an `app-layer.protocols.*` or `outputs.eve-log.types.*` setting. `Err(None)`
    /// means the key is unknown, `Err(Some(why))` that the value is bad.
    pub fn apply(&mut self, key: &str, v: &str) -> Result<(), Option<&'static str>> {
        let parts: Vec<&str> = key.split('.').collect();
        match parts.as_slice() {
            ["app-layer", "protocols", "dns", "tcp" | "udp", "detection-ports", "dp"] => {
                let t = v.trim().trim_matches(|c| c == '[' || c == ']' || c == '"');
                self.dns_ports = t
                    .split(',')
                    .map(|p| p.trim().parse::<u16>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| Some("expected a port list"))?;
                Ok(())
            }
            ["app-layer", "protocols", "http", "enabled"] => {
                self.http_enabled = bool_of(v)?;
                Ok(())
            }
            ["app-layer", "protocols", "http", "libhtp", "default-config", what] => {
                let h = Arc::make_mut(&mut self.http);
                match *what {
                    "request-body-limit" => {
                        h.request_body_limit =
                            u32::try_from(size_of(v)?).map_err(|_| Some("limit too large"))?
                    }
                    "response-body-limit" => {
                        h.response_body_limit =
                            u32::try_from(size_of(v)?).map_err(|_| Some("limit too large"))?
                    }
                    "response-body-decompress-layer-limit" => {
                        h.decompress_layer_limit =
                            v.trim().parse().map_err(|_| Some("expected a number"))?
                    }
                    "personality"
                    | "request-body-minimal-inspect-size"
                    | "request-body-inspect-window"
                    | "response-body-minimal-inspect-size"
                    | "response-body-inspect-window"
                    | "response-body-inspect-size"
                    | "double-decode-path"
                    | "double-decode-query"
                    | "http-body-inline"
                    | "swf-decompression"
                    | "meta-field-limit"
                    | "uri-include-all"
                    | "randomize-inspection-sizes"
                    | "randomize-inspection-range" => {}
                    _ => return Err(None),
                }
                Ok(())
            }
            ["outputs", "eve-log", "types", "http", what] => {
                let h = Arc::make_mut(&mut self.http);
                match *what {
                    "extended" => h.extended = bool_of(v)?,
                    "base64" => h.base64 = bool_of(v)?,
                    "dump-all-headers" => {
                        h.dump_all_headers = match v.trim() {
                            "none" => applayer_http::DumpHeaders::None,
                            "request" => applayer_http::DumpHeaders::Request,
                            "response" => applayer_http::DumpHeaders::Response,
                            "both" => applayer_http::DumpHeaders::Both,
                            _ => return Err(Some("expected none, request, response or both")),
                        }
                    }
                    "custom" => {
                        h.custom_headers = list_of(v);
                    }
                    "enabled" => {}
                    _ => return Err(None),
                }
                Ok(())
            }
            ["outputs", "eve-log", "types", "files", what] => {
                match *what {
                    "force-hash" => {
                        let h = Arc::make_mut(&mut self.http);
                        for a in list_of(v) {
                            match a.to_ascii_lowercase().as_str() {
                                "md5" => h.force_hash.md5 = true,
                                "sha1" => h.force_hash.sha1 = true,
                                "sha256" => h.force_hash.sha256 = true,
                                _ => return Err(Some("expected md5, sha1 or sha256")),
                            }
                        }
                    }
                    "force-magic" | "enabled" => {}
                    _ => return Err(None),
                }
                Ok(())
            }
            ["app-layer", "protocols", "smtp", "enabled"] => {
                self.smtp_enabled = bool_of(v)?;
                Ok(())
            }
            ["app-layer", "protocols", "ftp", "enabled"] => {
                self.ftp_enabled = bool_of(v)?;
                Ok(())
            }
            ["app-layer", "protocols", "smtp" | "ftp", ..] => Ok(()),
            ["app-layer", "protocols", "tls", what] => {
                match *what {
                    "enabled" => self.tls_enabled = bool_of(v)?,
                    // `auto` means "when a rule needs it"; without rules that is off.
                    "ja3-fingerprints" => self.tls.ja3 = v.trim() != "auto" && bool_of(v)?,
                    "ja4-fingerprints" => self.tls.ja4 = v.trim() != "auto" && bool_of(v)?,
                    "encryption-handling" => {
                        self.tls.encryption_handling =
                            applayer_tls::EncryptionHandling::from_config(v)
                    }
                    "detection-ports" | "no-reassemble" => {}
                    _ => return Err(None),
                }
                Ok(())
            }
            ["outputs", "eve-log", "types", "tls", what] => {
                match *what {
                    "extended" => self.tls.extended = bool_of(v)?,
                    "session-resumption" => self.tls.log_resumed = bool_of(v)?,
                    "ja4" => self.tls.log_ja4 = bool_of(v)?,
                    "custom" => {
                        let names = list_of(v);
                        let (fields, unknown) =
                            applayer_tls::TlsFields::from_names(names.iter().map(String::as_str));
                        if !unknown.is_empty() {
                            return Err(Some("unknown field in the tls custom list"));
                        }
                        self.tls.custom = Some(fields);
                    }
                    "enabled" => {}
                    _ => return Err(None),
                }
                Ok(())
            }
            ["app-layer", "protocols", "dns", "enabled"] => {
                self.dns_enabled = bool_of(v)?;
                Ok(())
            }
            ["outputs", "eve-log", "types", "dns", what] => {
                match *what {
                    "enabled" => {
                        let on = bool_of(v)?;
                        self.dns.log_queries = on;
                        self.dns.log_answers = on;
                    }
                    "requests" | "query" => self.dns.log_queries = bool_of(v)?,
                    "responses" | "answer" => self.dns.log_answers = bool_of(v)?,
                    "version" => {
                        if v.trim() != "2" {
                            return Err(Some("only version 2 of the DNS log is supported"));
                        }
                    }
                    "formats" => {
                        let l = v.to_ascii_lowercase();
                        self.dns.detailed = l.contains("detailed");
                        self.dns.grouped = l.contains("grouped");
                    }
                    "types" => {
                        let mut list = Vec::new();
                        for t in v.trim_matches(|c| c == '[' || c == ']').split(',') {
                            let t = t.trim().to_ascii_uppercase();
                            if t.is_empty() {
                                continue;
                            }
                            let n = (0..=u16::MAX)
                                .find(|&n| applayer_dns::rrtype_name(n) == t.as_str())
                                .ok_or(Some("unknown DNS record type"))?;
                            list.push(n);
                        }
                        self.dns.types = Some(list);
                    }
                    _ => return Err(None),
                }
                Ok(())
            }
            _ => Err(None),
        }
    }
}

fn list_of(v: &str) -> Vec<String> {
    v.trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|x| x.trim().trim_matches('"').to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

fn size_of(v: &str) -> Result<u64, Option<&'static str>> {
    let t = v.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| Some("expected a size such as 100kb"))?;
    let mult = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(Some("unknown size unit")),
    };
    n.checked_mul(mult).ok_or(Some("size out of range"))
}

fn bool_of(v: &str) -> Result<bool, Option<&'static str>> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(Some("expected yes/no")),
    }
}

/// Wraps the DNS-over-UDP state as a [`DatagramParser`].
struct DnsUdpParser(applayer_dns::DnsUdp);

impl DatagramParser for DnsUdpParser {
    fn parse(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut Vec<events::AppOutput>,
    ) -> events::app::ParseStatus {
        self.0.parse_datagram(dir, data, out)
    }
    fn flush(&mut self, out: &mut Vec<events::AppOutput>) {
        self.0.flush(out)
    }
}

/// A stream protocol.
pub(crate) struct StreamProto {
    pub(crate) name: &'static str,
    pub(crate) probe: fn(Direction, &[u8]) -> Probe,
    /// When set, only probed on flows with one of these ports.
    pub(crate) ports: Option<Vec<u16>>,
    /// Builds the parser; the second argument is the protocol the flow switched from.
    pub(crate) make: fn(&AppConfig, Option<&'static str>) -> Box<dyn StreamParser + Send>,
}

/// A datagram protocol.
pub(crate) struct DatagramProto {
    pub(crate) name: &'static str,
    /// The verdict and, on a match, the direction the message claims to travel.
    pub(crate) probe: fn(&[u8]) -> (Probe, Option<Direction>),
    pub(crate) ports: Option<Vec<u16>>,
    pub(crate) make: fn(&AppConfig) -> Box<dyn DatagramParser + Send>,
}

/// Port-restricted protocols are probed only when the flow's server port (the destination of
/// its first packet) is listed, as Suricata's probing parsers match on the destination port.
fn ports_match(ports: &Option<Vec<u16>>, flow: (u16, u16)) -> bool {
    match ports {
        None => true,
        Some(list) => list.contains(&flow.1),
    }
}

impl StreamProto {
    pub(crate) fn ports_ok(&self, flow: (u16, u16)) -> bool {
        flow == (0, 0) || ports_match(&self.ports, flow)
    }
}

impl DatagramProto {
    pub(crate) fn ports_ok(&self, flow: (u16, u16)) -> bool {
        ports_match(&self.ports, flow)
    }
}

/// The set of protocols in use, built once from the configuration and shared by workers.
pub struct Registry {
    cfg: AppConfig,
    stream: Vec<StreamProto>,
    datagram: Vec<DatagramProto>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "stream",
                &self.stream.iter().map(|p| p.name).collect::<Vec<_>>(),
            )
            .field(
                "datagram",
                &self.datagram.iter().map(|p| p.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    /// The registry for `cfg`: every enabled protocol, in probing order.
    pub fn new(cfg: AppConfig) -> Registry {
        let mut stream = Vec::new();
        let mut datagram = Vec::new();
        if cfg.http_enabled {
            stream.push(StreamProto {
                name: applayer_http::APP_PROTO,
                probe: applayer_http::probe,
                ports: None,
                make: |c, _| Box::new(applayer_http::HttpState::new(c.http.clone())),
            });
        }
        if cfg.tls_enabled {
            stream.push(StreamProto {
                name: applayer_tls::APP_PROTO,
                probe: applayer_tls::probe,
                ports: None,
                make: |c, from| {
                    let mut t = applayer_tls::TlsState::new(&c.tls);
                    if let Some(f) = from {
                        t.set_from_proto(f);
                    }
                    Box::new(t)
                },
            });
        }
        if cfg.dns_enabled {
            stream.push(StreamProto {
                name: applayer_dns::APP_PROTO,
                probe: |_, d| applayer_dns::probe_tcp(d),
                ports: Some(cfg.dns_ports.clone()),
                make: |c, _| Box::new(applayer_dns::DnsTcp::new(&c.dns)),
            });
            datagram.push(DatagramProto {
                name: applayer_dns::APP_PROTO,
                probe: applayer_dns::probe_udp_dir,
                ports: Some(cfg.dns_ports.clone()),
                make: |c| Box::new(DnsUdpParser(applayer_dns::DnsUdp::new(&c.dns))),
            });
        }
        if cfg.smtp_enabled {
            stream.push(StreamProto {
                name: "smtp",
                probe: crate::starttls::probe_smtp,
                ports: None,
                make: |_, _| Box::new(crate::starttls::Starttls::new(crate::starttls::Kind::Smtp)),
            });
        }
        if cfg.ftp_enabled {
            stream.push(StreamProto {
                name: "ftp",
                probe: crate::starttls::probe_ftp,
                ports: None,
                make: |_, _| Box::new(crate::starttls::Starttls::new(crate::starttls::Kind::Ftp)),
            });
        }
        Registry {
            cfg,
            stream,
            datagram,
        }
    }

    pub(crate) fn config(&self) -> &AppConfig {
        &self.cfg
    }

    pub(crate) fn stream_protos(&self) -> impl Iterator<Item = &StreamProto> {
        self.stream.iter()
    }

    pub(crate) fn datagram_protos(&self) -> impl Iterator<Item = &DatagramProto> {
        self.datagram.iter()
    }
}
