//! SMTP and FTP only as far as needed to follow STARTTLS / AUTH TLS: the commands are
//! watched line by line; once the server accepts (`220` to `STARTTLS`, `234` to `AUTH TLS`)
//! the stream is handed back for detection, where the TLS parser takes over, as Suricata does.
//! No `smtp` or `ftp` records are written.

use events::app::{AppOutput, ParseStatus, Probe, StreamParser};
use types::Direction;

/// Longest command or reply line kept (RFC 5321 allows 512 for commands; servers send longer
/// EHLO replies, which only need their first bytes).
const MAX_LINE: usize = 1024;

/// Which protocol is being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Smtp,
    Ftp,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Smtp => "smtp",
            Kind::Ftp => "ftp",
        }
    }
}

/// Is this the start of an SMTP client stream (`EHLO`/`HELO`)?
pub(crate) fn probe_smtp(dir: Direction, data: &[u8]) -> Probe {
    probe_words(dir, data, &[b"EHLO ", b"HELO "])
}

/// Is this the start of an FTP client stream?
pub(crate) fn probe_ftp(dir: Direction, data: &[u8]) -> Probe {
    probe_words(
        dir,
        data,
        &[
            b"USER ", b"AUTH ", b"FEAT\r", b"SYST\r", b"OPTS ", b"FEAT\n", b"SYST\n",
        ],
    )
}

fn probe_words(dir: Direction, data: &[u8], words: &[&[u8]]) -> Probe {
    if dir != Direction::ToServer {
        return Probe::NoMatch;
    }
    let mut need_more = false;
    for w in words {
        let n = w.len().min(data.len());
        if data[..n].eq_ignore_ascii_case(&w[..n]) {
            if n == w.len() {
                return Probe::Match;
            }
            need_more = true;
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// The STARTTLS follower of one flow.
#[derive(Debug)]
pub(crate) struct Starttls {
    kind: Kind,
    line: [Vec<u8>; 2],
    pending: bool,
    switched: bool,
}

impl Starttls {
    pub(crate) fn new(kind: Kind) -> Starttls {
        Starttls {
            kind,
            line: [Vec::new(), Vec::new()],
            pending: false,
            switched: false,
        }
    }

    fn on_line(&mut self, dir: Direction, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match dir {
            Direction::ToServer => {
                let upper = line.to_ascii_uppercase();
                let t = upper.trim_ascii();
                self.pending = match self.kind {
                    Kind::Smtp => t == b"STARTTLS",
                    Kind::Ftp => {
                        t == b"AUTH TLS"
                            || t == b"AUTH SSL"
                            || t == b"AUTH TLS-C"
                            || t == b"AUTH TLS-P"
                    }
                };
            }
            Direction::ToClient => {
                if !self.pending || line.len() < 3 {
                    return;
                }
                // "220-" continues a multi-line reply; the final line has a space.
                if line.get(3) == Some(&b'-') {
                    return;
                }
                let ok = match self.kind {
                    Kind::Smtp => line.starts_with(b"220"),
                    Kind::Ftp => line.starts_with(b"234"),
                };
                self.pending = false;
                if ok {
                    self.switched = true;
                }
            }
        }
    }
}

impl StreamParser for Starttls {
    fn parse(&mut self, dir: Direction, data: &[u8], _out: &mut Vec<AppOutput>) -> ParseStatus {
        let mut rest = data;
        while !rest.is_empty() && !self.switched {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let buf = &mut self.line[dir.idx()];
                    let room = MAX_LINE.saturating_sub(buf.len());
                    buf.extend_from_slice(&rest[..i.min(room)]);
                    let line = std::mem::take(buf);
                    self.on_line(dir, &line);
                    rest = &rest[i + 1..];
                }
                None => {
                    let buf = &mut self.line[dir.idx()];
                    let room = MAX_LINE.saturating_sub(buf.len());
                    buf.extend_from_slice(&rest[..rest.len().min(room)]);
                    rest = &[];
                }
            }
        }
        ParseStatus::Ok
    }
    fn gap(&mut self, dir: Direction, _len: u64, _out: &mut Vec<AppOutput>) {
        self.line[dir.idx()].clear();
        self.pending = false;
    }
    fn eof(&mut self, _dir: Direction, _out: &mut Vec<AppOutput>) {}
    fn flush(&mut self, _out: &mut Vec<AppOutput>) {}
    fn handoff(&self) -> Option<&'static str> {
        self.switched.then(|| self.kind.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(p: &mut Starttls, dir: Direction, s: &[u8], bytewise: bool) {
        let mut out = Vec::new();
        if bytewise {
            for b in s {
                p.parse(dir, std::slice::from_ref(b), &mut out);
            }
        } else {
            p.parse(dir, s, &mut out);
        }
    }

    #[test]
    fn smtp_starttls_hands_off_after_220() {
        for bytewise in [false, true] {
            let mut p = Starttls::new(Kind::Smtp);
            feed(
                &mut p,
                Direction::ToClient,
                b"220 mx.example ESMTP\r\n",
                bytewise,
            );
            feed(&mut p, Direction::ToServer, b"EHLO client\r\n", bytewise);
            feed(
                &mut p,
                Direction::ToClient,
                b"250-mx\r\n250 STARTTLS\r\n",
                bytewise,
            );
            assert_eq!(p.handoff(), None);
            feed(&mut p, Direction::ToServer, b"STARTTLS\r\n", bytewise);
            feed(
                &mut p,
                Direction::ToClient,
                b"220 2.0.0 Ready to start TLS\r\n",
                bytewise,
            );
            assert_eq!(p.handoff(), Some("smtp"));
        }
    }

    #[test]
    fn refused_starttls_and_ftp_auth() {
        let mut p = Starttls::new(Kind::Smtp);
        feed(&mut p, Direction::ToServer, b"STARTTLS\r\n", false);
        feed(
            &mut p,
            Direction::ToClient,
            b"454 TLS not available\r\n",
            false,
        );
        assert_eq!(p.handoff(), None);
        let mut f = Starttls::new(Kind::Ftp);
        feed(&mut f, Direction::ToServer, b"AUTH TLS\r\n", false);
        feed(&mut f, Direction::ToClient, b"234 Proceed\r\n", false);
        assert_eq!(f.handoff(), Some("ftp"));
        assert_eq!(probe_smtp(Direction::ToServer, b"EH"), Probe::NeedMore);
        assert_eq!(probe_smtp(Direction::ToServer, b"ehlo x"), Probe::Match);
        assert_eq!(probe_ftp(Direction::ToServer, b"GET /"), Probe::NoMatch);
    }

    #[test]
    fn long_lines_are_capped() {
        let mut p = Starttls::new(Kind::Smtp);
        feed(&mut p, Direction::ToServer, &vec![b'A'; 1 << 20], false);
        assert!(p.line[0].len() <= MAX_LINE);
    }
}
