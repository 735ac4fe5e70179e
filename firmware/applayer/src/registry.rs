//! The protocols the app layer knows: name, probe, ports and parser constructor.

use events::app::{Probe, StreamParser};
use types::Direction;

use crate::DatagramParser;

/// App-layer settings for every protocol.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Ports on which DNS is probed (`app-layer.protocols.dns.{tcp,udp}.detection-ports.dp`).
    pub dns_ports: Vec<u16>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            dns_ports: vec![53],
        }
    }
}

impl AppConfig {
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
            _ => Err(None),
        }
    }
}

/// A stream protocol.
pub(crate) struct StreamProto {
    pub(crate) name: &'static str,
    pub(crate) probe: fn(Direction, &[u8]) -> Probe,
    /// When set, only probed on flows with one of these ports.
    pub(crate) ports: Option<Vec<u16>>,
    pub(crate) make: fn(&AppConfig) -> Box<dyn StreamParser + Send>,
}

/// A datagram protocol.
pub(crate) struct DatagramProto {
    pub(crate) name: &'static str,
    pub(crate) probe: fn(Direction, &[u8]) -> Probe,
    pub(crate) ports: Option<Vec<u16>>,
    pub(crate) make: fn(&AppConfig) -> Box<dyn DatagramParser + Send>,
}

fn ports_match(ports: &Option<Vec<u16>>, flow: (u16, u16)) -> bool {
    match ports {
        None => true,
        Some(list) => list.contains(&flow.0) || list.contains(&flow.1),
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
            .field("stream", &self.stream.iter().map(|p| p.name).collect::<Vec<_>>())
            .field("datagram", &self.datagram.iter().map(|p| p.name).collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// The registry for `cfg`.
    pub fn new(cfg: AppConfig) -> Registry {
        Registry {
            cfg,
            stream: Vec::new(),
            datagram: Vec::new(),
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
