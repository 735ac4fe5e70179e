//! App-layer protocol detection and dispatch.
//!
//! Layer: after reassembly. Each flow owns an [`AppLayer`]: it buffers the first bytes of each
//! direction (up to [`MAX_DETECT_BYTES`]), asks every registered protocol's probe whether the
//! bytes are its protocol (by content, with ports only narrowing which probes run, as Suricata
//! does for DNS), and once one matches hands everything buffered, and all later data, to that
//! protocol's parser. Parsers emit [`AppOutput`]s, which the pipeline turns into EVE events.
//!
//! A flow whose first bytes match no protocol in either direction is marked `failed` (EVE
//! `app_proto: "failed"`), as Suricata does, and its data is no longer buffered.
#![forbid(unsafe_code)]

mod registry;
mod starttls;

pub use registry::{AppConfig, Registry};

use events::anomaly::AnomalyEve;
use events::app::{AppOutput, ParseStatus, Probe, StreamParser};
use events::Body;
use types::Direction;

/// Bytes buffered per direction while the protocol is unknown. Suricata's pattern detection
/// looks at the first few hundred bytes; probing parsers need a full header. Past this, the
/// direction counts as "no match".
pub const MAX_DETECT_BYTES: usize = 4096;

/// A datagram (UDP) parser for one flow.
pub trait DatagramParser {
    /// Parses one datagram travelling in `dir`.
    fn parse(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppOutput>) -> ParseStatus;
    /// The flow ends.
    fn flush(&mut self, out: &mut Vec<AppOutput>);
}

enum State {
    /// Still looking: bytes seen so far per direction, in arrival order.
    Detecting {
        buf: Vec<(Direction, Vec<u8>)>,
        bytes: [usize; 2],
        failed: [bool; 2],
        /// The protocol the flow switched from (STARTTLS, CONNECT), if any.
        from: Option<&'static str>,
    },
    Stream {
        name: &'static str,
        parser: Box<dyn StreamParser + Send>,
        stopped: [bool; 2],
    },
    Datagram {
        name: &'static str,
        parser: Box<dyn DatagramParser + Send>,
        stopped: bool,
    },
    Failed,
}

/// The app-layer state of one flow.
pub struct AppLayer {
    state: State,
}

impl std::fmt::Debug for AppLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppLayer")
            .field("app_proto", &self.app_proto())
            .finish()
    }
}

impl Default for AppLayer {
    fn default() -> Self {
        AppLayer::new()
    }
}

impl AppLayer {
    /// A flow whose protocol is not known yet.
    pub fn new() -> AppLayer {
        AppLayer {
            state: State::Detecting {
                buf: Vec::new(),
                bytes: [0; 2],
                failed: [false; 2],
                from: None,
            },
        }
    }

    /// After a parse call: if the parser handed the stream over (STARTTLS, CONNECT), start
    /// detecting again. Bytes of the current chunk after the switch point are not replayed:
    /// the new protocol's first bytes come after the peer's go-ahead, in a later segment.
    fn check_handoff(&mut self, reg: &Registry, ports: (u16, u16), out: &mut Vec<AppOutput>) {
        let State::Stream { parser, .. } = &mut self.state else {
            return;
        };
        let Some(from) = parser.handoff() else {
            return;
        };
        // The old protocol's pending transactions (the CONNECT itself) are logged now.
        parser.flush(out);
        let replay = parser.take_replay();
        self.state = State::Detecting {
            buf: Vec::new(),
            bytes: [0; 2],
            failed: [false; 2],
            from: Some(from),
        };
        if let Some((dir, data)) = replay {
            self.on_data(reg, dir, &data, ports, out);
        }
    }

    /// EVE `app_proto`: the protocol, `failed`, or `None` while undecided.
    pub fn app_proto(&self) -> Option<&'static str> {
        match &self.state {
            State::Detecting { .. } => None,
            State::Stream { name, .. } | State::Datagram { name, .. } => Some(name),
            State::Failed => Some("failed"),
        }
    }

    /// In-order stream bytes travelling in `dir`. `ports` are the flow's (client, server) ports.
    pub fn on_data(
        &mut self,
        reg: &Registry,
        dir: Direction,
        data: &[u8],
        ports: (u16, u16),
        out: &mut Vec<AppOutput>,
    ) {
        match &mut self.state {
            State::Stream {
                parser, stopped, ..
            } => {
                if !stopped[dir.idx()] && parser.parse(dir, data, out) == ParseStatus::Error {
                    stopped[dir.idx()] = true;
                }
                self.check_handoff(reg, ports, out);
            }
            State::Detecting {
                buf, bytes, failed, ..
            } => {
                // A direction that matched nothing keeps its bytes (up to the detection
                // buffer): if the other direction is detected, Suricata parses this one with
                // that protocol too (APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION).
                let room = MAX_DETECT_BYTES - bytes[dir.idx()];
                let take = data.len().min(room);
                if take > 0 {
                    match buf.last_mut() {
                        Some((d, b)) if *d == dir => b.extend_from_slice(&data[..take]),
                        _ => buf.push((dir, data[..take].to_vec())),
                    }
                }
                bytes[dir.idx()] += take;
                if failed[dir.idx()] {
                    return;
                }
                self.try_detect(reg, dir, ports, take < data.len(), out);
                // Bytes beyond the detection buffer go straight to a parser found just now.
                if take < data.len() {
                    if let State::Stream {
                        parser, stopped, ..
                    } = &mut self.state
                    {
                        if !stopped[dir.idx()]
                            && parser.parse(dir, &data[take..], out) == ParseStatus::Error
                        {
                            stopped[dir.idx()] = true;
                        }
                    }
                    self.check_handoff(reg, ports, out);
                }
            }
            State::Datagram { .. } | State::Failed => {}
        }
    }

    /// Runs the probes over what `dir` has buffered; on a match, switches to the parser and
    /// replays the buffer.
    fn try_detect(
        &mut self,
        reg: &Registry,
        dir: Direction,
        ports: (u16, u16),
        buffer_full: bool,
        out: &mut Vec<AppOutput>,
    ) {
        let State::Detecting {
            buf, failed, from, ..
        } = &mut self.state
        else {
            return;
        };
        let from = *from;
        let mut seen: Vec<u8> = Vec::new();
        for (d, b) in buf.iter() {
            if *d == dir {
                seen.extend_from_slice(b);
            }
        }
        let mut need_more = false;
        let mut found = None;
        for p in reg.stream_protos() {
            if !p.ports_ok(ports) {
                continue;
            }
            match (p.probe)(dir, &seen) {
                Probe::Match => {
                    found = Some(p);
                    break;
                }
                Probe::NeedMore => need_more = true,
                Probe::NoMatch => {}
            }
        }
        match found {
            Some(p) => {
                // The other direction matched nothing: it is parsed as this protocol anyway,
                // and Suricata says so.
                let one_direction = failed[dir.flip().idx()];
                let buffered = std::mem::take(buf);
                let mut parser = (p.make)(reg.config(), from);
                let mut stopped = [false; 2];
                for (d, b) in &buffered {
                    if !stopped[d.idx()] && parser.parse(*d, b, out) == ParseStatus::Error {
                        stopped[d.idx()] = true;
                    }
                }
                if one_direction {
                    let mut a = detect_anomaly("APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION", dir);
                    if let Body::Anomaly(an) = &mut a.body {
                        an.app_proto = Some(p.name);
                    }
                    out.push(a);
                }
                self.state = State::Stream {
                    name: p.name,
                    parser,
                    stopped,
                };
                self.check_handoff(reg, ports, out);
            }
            None if !need_more || buffer_full => {
                failed[dir.idx()] = true;
                if failed[0] && failed[1] {
                    self.state = State::Failed;
                }
            }
            None => {}
        }
    }

    /// `len` bytes are missing in `dir`.
    pub fn on_gap(&mut self, dir: Direction, len: u64, out: &mut Vec<AppOutput>) {
        match &mut self.state {
            State::Stream {
                parser, stopped, ..
            } if !stopped[dir.idx()] => {
                parser.gap(dir, len, out);
            }
            State::Detecting {
                buf, failed, bytes, ..
            } => {
                // A gap before the protocol is known: this direction can no longer be detected.
                failed[dir.idx()] = true;
                bytes[dir.idx()] = MAX_DETECT_BYTES;
                buf.retain(|(d, _)| *d != dir);
                if failed[0] && failed[1] {
                    self.state = State::Failed;
                }
            }
            _ => {}
        }
    }

    /// The sender in `dir` closed its side.
    pub fn on_eof(&mut self, reg: &Registry, dir: Direction, out: &mut Vec<AppOutput>) {
        if let State::Detecting { bytes, .. } = &self.state {
            // A direction that ended while the probes wanted more bytes: decide now.
            if bytes[dir.idx()] > 0 {
                self.try_detect(reg, dir, (0, 0), true, out);
            }
        }
        if let State::Stream {
            parser, stopped, ..
        } = &mut self.state
        {
            if !stopped[dir.idx()] {
                parser.eof(dir, out);
            }
        }
    }

    /// A UDP datagram travelling in `dir`. Returns true when detection found the message
    /// travelling against the flow's direction (a response sent to the server port): the caller
    /// must swap the flow; the datagram has been parsed as travelling the other way.
    pub fn on_datagram(
        &mut self,
        reg: &Registry,
        mut dir: Direction,
        data: &[u8],
        ports: (u16, u16),
        out: &mut Vec<AppOutput>,
    ) -> bool {
        let mut swapped = false;
        if let State::Detecting { .. } = self.state {
            if data.is_empty() {
                return false;
            }
            let mut found = None;
            for p in reg.datagram_protos() {
                if !p.ports_ok(ports) {
                    continue;
                }
                let (verdict, claimed) = (p.probe)(data);
                if verdict == Probe::Match {
                    found = Some(p);
                    if let Some(c) = claimed {
                        if c != dir {
                            swapped = true;
                            dir = c;
                        }
                    }
                    break;
                }
            }
            self.state = match found {
                Some(p) => State::Datagram {
                    name: p.name,
                    parser: (p.make)(reg.config()),
                    stopped: false,
                },
                None => State::Failed,
            };
        }
        if let State::Datagram {
            parser, stopped, ..
        } = &mut self.state
        {
            if !*stopped && parser.parse(dir, data, out) == ParseStatus::Error {
                *stopped = true;
            }
        }
        swapped
    }

    /// Snapshots for the signature engine that ride on no logged record (see
    /// [`StreamParser::take_inspect`]); their bodies are never written.
    pub fn take_inspect(&mut self, out: &mut Vec<AppOutput>) {
        if let State::Stream { parser, .. } = &mut self.state {
            parser.take_inspect(out);
        }
    }

    /// The flow ends: parsers log what is pending.
    pub fn flush(&mut self, out: &mut Vec<AppOutput>) {
        match &mut self.state {
            State::Stream { parser, .. } => parser.flush(out),
            State::Datagram { parser, .. } => parser.flush(out),
            _ => {}
        }
    }
}

/// An app-layer anomaly output not tied to a parser (detection problems).
pub fn detect_anomaly(event: &'static str, dir: Direction) -> AppOutput {
    AppOutput {
        body: Body::Anomaly(AnomalyEve {
            app_proto: None,
            kind: "applayer",
            event,
            layer: Some("proto_detect"),
        }),
        tx_id: None,
        dir,
        inspect: None,
    }
}
