//! The pcap / pcapng file reader.
//!
//! One reusable buffer holds the bytes read from the current file; [`FileSource::next_packet`]
//! returns a frame borrowed from it. The buffer only grows to fit one record (bounded by
//! [`MAX_BLOCK_LEN`]) and is compacted in place, so reading allocates nothing per packet.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use types::Timestamp;

use crate::{RawPacket, MAX_BLOCK_LEN, MAX_FRAME_LEN};

/// Bytes read from the file per refill.
const READ_CHUNK: usize = 1 << 20;

/// Most interfaces one pcapng section may declare (each costs a few bytes; real captures use a
/// handful). More is treated as a corrupt file.
const MAX_INTERFACES: usize = 4096;

/// Why a file could not be read (completely). The source records it and moves on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file does not start with a pcap or pcapng magic number.
    #[error("{path}: not a pcap or pcapng file (first bytes {magic})")]
    NotACapture {
        /// The file.
        path: PathBuf,
        /// The first bytes in hex.
        magic: String,
    },
    /// The file ends in the middle of a record: the packets before it were read.
    #[error("{path}: truncated at byte {offset} after {packets} packets (partial {what})")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Offset of the incomplete record.
        offset: u64,
        /// Packets read from this file.
        packets: u64,
        /// What was incomplete.
        what: &'static str,
    },
    /// A length or field in the file is impossible; reading stopped there.
    #[error("{path}: corrupt at byte {offset}: {why}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset of the bad record.
        offset: u64,
        /// What is wrong.
        why: String,
    },
}

/// Counters of a [`FileSource`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Frames delivered.
    pub packets: u64,
    /// Captured bytes delivered.
    pub bytes: u64,
    /// Files read to the end.
    pub files_ok: u64,
    /// Files that stopped early or could not be read.
    pub files_failed: u64,
    /// Records skipped because they were larger than [`MAX_FRAME_LEN`] or referenced an
    /// unknown interface.
    pub records_skipped: u64,
}

#[derive(Clone, Copy, Debug)]
enum Resol {
    /// Units of 10^-n seconds.
    Dec(u8),
    /// Units of 2^-n seconds.
    Bin(u8),
}

impl Resol {
    fn to_ts(self, units: u64, offset_secs: i64) -> Timestamp {
        let (secs, nanos) = match self {
            Resol::Dec(n) => {
                let n = u32::from(n.min(19));
                let div = 10u64.pow(n);
                let secs = units / div;
                let frac = units % div;
                let nanos = if n <= 9 {
                    frac.saturating_mul(10u64.pow(9 - n))
                } else {
                    frac / 10u64.pow(n - 9)
                };
                (secs, nanos)
            }
            Resol::Bin(n) => {
                let n = u32::from(n.min(63));
                let secs = units >> n;
                let frac = units & ((1u64 << n) - 1);
                let nanos = ((u128::from(frac) * 1_000_000_000) >> n) as u64;
                (secs, nanos)
            }
        };
        let secs = secs.saturating_add_signed(offset_secs);
        Timestamp::from_secs_nanos(secs, nanos)
    }
}

#[derive(Clone, Copy, Debug)]
struct Iface {
    linktype: u32,
    resol: Resol,
    offset_secs: i64,
}

#[derive(Debug)]
enum Format {
    Pcap {
        swapped: bool,
        nanos: bool,
        linktype: u32,
    },
    Pcapng {
        swapped: bool,
        ifaces: Vec<Iface>,
    },
}

struct Open {
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    format: Format,
    /// File offset of `buf[start]`.
    offset: u64,
    packets: u64,
    eof: bool,
}

impl fmt::Debug for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Open")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

/// One input of a [`FileSource`].
#[derive(Debug, Clone)]
enum Input {
    /// A file on disk.
    Path(PathBuf),
    /// Bytes already in memory (tests, fuzzing, captures received over the network).
    Memory(std::sync::Arc<[u8]>),
}

/// Reads pcap and pcapng files one after the other as one packet stream.
#[derive(Debug)]
pub struct FileSource {
    pending: VecDeque<Input>,
    cur: Option<Open>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    last_ts: Timestamp,
    errors: Vec<FileError>,
    stats: SourceStats,
}

/// Outcome of reading one record.
enum Rec {
    /// A frame at `buf[off..off+len]`.
    Frame {
        off: usize,
        len: usize,
        ts: Timestamp,
        linktype: u32,
        wire_len: u32,
    },
    /// A record that carries no frame (or was skipped).
    Skip,
    /// Clean end of file.
    End,
}

fn u16_at(b: &[u8], at: usize, swapped: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if swapped {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    })
}

fn u32_at(b: &[u8], at: usize, swapped: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if swapped {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

fn hex_prefix(b: &[u8]) -> String {
    b.iter().take(8).map(|x| format!("{x:02x}")).collect()
}

impl FileSource {
    /// A source over `paths`, read in order.
    pub fn new<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> FileSource {
        FileSource {
            pending: paths
                .into_iter()
                .map(|p| Input::Path(p.as_ref().to_path_buf()))
                .collect(),
            cur: None,
            buf: vec![0; READ_CHUNK * 2],
            start: 0,
            end: 0,
            last_ts: Timestamp::default(),
            errors: Vec::new(),
            stats: SourceStats::default(),
        }
    }

    /// A source over one capture held in memory (named `<memory>` in errors).
    pub fn from_bytes(bytes: impl Into<std::sync::Arc<[u8]>>) -> FileSource {
        let mut s = FileSource::new(std::iter::empty::<PathBuf>());
        s.pending.push_back(Input::Memory(bytes.into()));
        s
    }

    /// Counters so far.
    pub fn stats(&self) -> &SourceStats {
        &self.stats
    }

    /// File errors raised since the last call.
    pub fn take_errors(&mut self) -> Vec<FileError> {
        std::mem::take(&mut self.errors)
    }

    /// The file being read, if any.
    pub fn current_path(&self) -> Option<&Path> {
        self.cur.as_ref().map(|o| o.path.as_path())
    }

    /// The next frame, or `None` when every file has been read. File errors do not end the
    /// stream: they are recorded (see [`FileSource::take_errors`]) and reading continues with
    /// the next file.
    pub fn next_packet(&mut self) -> Option<RawPacket<'_>> {
        loop {
            if self.cur.is_none() && !self.open_next() {
                return None;
            }
            match self.read_record() {
                Ok(Rec::Frame {
                    off,
                    len,
                    ts,
                    linktype,
                    wire_len,
                }) => {
                    self.stats.packets += 1;
                    self.stats.bytes += len as u64;
                    if let Some(o) = self.cur.as_mut() {
                        o.packets += 1;
                    }
                    self.last_ts = ts;
                    let data = self.buf.get(off..off + len).unwrap_or_default();
                    return Some(RawPacket {
                        ts,
                        linktype,
                        data,
                        wire_len,
                    });
                }
                Ok(Rec::Skip) => {}
                Ok(Rec::End) => {
                    self.stats.files_ok += 1;
                    self.cur = None;
                }
                Err(e) => {
                    self.stats.files_failed += 1;
                    self.errors.push(e);
                    self.cur = None;
                }
            }
        }
    }

    /// Opens the next pending file and reads its header; records failures and tries the next.
    fn open_next(&mut self) -> bool {
        while let Some(input) = self.pending.pop_front() {
            self.start = 0;
            self.end = 0;
            match self.open(&input) {
                Ok(o) => {
                    self.cur = Some(o);
                    return true;
                }
                Err(e) => {
                    self.stats.files_failed += 1;
                    self.errors.push(e);
                }
            }
        }
        false
    }

    fn open(&mut self, input: &Input) -> Result<Open, FileError> {
        let memory_path = PathBuf::from("<memory>");
        let path: &Path = match input {
            Input::Path(p) => p,
            Input::Memory(_) => &memory_path,
        };
        let io_err = |source| FileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (gz, raw): (bool, Box<dyn Read + Send>) = match input {
            Input::Path(p) => {
                let mut file = File::open(p).map_err(io_err)?;
                let mut head = [0u8; 2];
                let n = read_full(&mut file, &mut head).map_err(io_err)?;
                // Re-open rather than seek so that pipes and FIFOs work too.
                let file = File::open(p).map_err(io_err)?;
                (n == 2 && head == [0x1f, 0x8b], Box::new(file))
            }
            Input::Memory(b) => (
                b.starts_with(&[0x1f, 0x8b]),
                Box::new(io::Cursor::new(b.clone())),
            ),
        };
        let reader: Box<dyn Read + Send> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(raw))
        } else {
            raw
        };
        let mut o = Open {
            path: path.to_path_buf(),
            reader,
            format: Format::Pcap {
                swapped: false,
                nanos: false,
                linktype: 0,
            },
            offset: 0,
            packets: 0,
            eof: false,
        };
        let have = self.fill(&mut o, 4).map_err(io_err)?;
        let magic = self.buf.get(self.start..self.start + 4).unwrap_or_default();
        if !have {
            return Err(FileError::NotACapture {
                path: path.to_path_buf(),
                magic: hex_prefix(&self.buf[self.start..self.end]),
            });
        }
        match magic {
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => {
                let swapped = magic[0] == 0xa1;
                let nanos = matches!(magic, [0x4d, ..] | [0xa1, 0xb2, 0x3c, 0x4d]);
                if !self.fill(&mut o, 24).map_err(io_err)? {
                    return Err(FileError::Truncated {
                        path: path.to_path_buf(),
                        offset: 0,
                        packets: 0,
                        what: "file header",
                    });
                }
                let h = &self.buf[self.start..self.start + 24];
                // The link type is the low 16 bits (upper bits carry FCS info in newer files).
                let linktype = u32_at(h, 20, swapped).unwrap_or(0) & 0x0fff_ffff;
                o.format = Format::Pcap {
                    swapped,
                    nanos,
                    linktype,
                };
                self.consume(&mut o, 24);
                Ok(o)
            }
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                o.format = Format::Pcapng {
                    swapped: false,
                    ifaces: Vec::new(),
                };
                Ok(o)
            }
            _ => Err(FileError::NotACapture {
                path: path.to_path_buf(),
                magic: hex_prefix(&self.buf[self.start..self.end]),
            }),
        }
    }

    /// Makes at least `n` bytes available at `buf[start..]`. Returns false at end of file with
    /// fewer bytes available.
    fn fill(&mut self, o: &mut Open, n: usize) -> io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < n + READ_CHUNK {
            self.buf.resize(n + READ_CHUNK, 0);
        }
        while self.end < n && !o.eof {
            let got = match o.reader.read(&mut self.buf[self.end..]) {
                Ok(g) => g,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if got == 0 {
                o.eof = true;
            }
            self.end += got;
        }
        Ok(self.end - self.start >= n)
    }

    fn consume(&mut self, o: &mut Open, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        o.offset += n as u64;
    }

    fn read_record(&mut self) -> Result<Rec, FileError> {
        let Some(mut o) = self.cur.take() else {
            return Ok(Rec::End);
        };
        let r = match o.format {
            Format::Pcap { .. } => self.read_pcap(&mut o),
            Format::Pcapng { .. } => self.read_pcapng(&mut o),
        };
        self.cur = Some(o);
        r
    }

    fn truncated(&self, o: &Open, what: &'static str) -> FileError {
        FileError::Truncated {
            path: o.path.clone(),
            offset: o.offset,
            packets: o.packets,
            what,
        }
    }

    fn corrupt(o: &Open, why: String) -> FileError {
        FileError::Corrupt {
            path: o.path.clone(),
            offset: o.offset,
            why,
        }
    }

    fn read_pcap(&mut self, o: &mut Open) -> Result<Rec, FileError> {
        let Format::Pcap {
            swapped,
            nanos,
            linktype,
        } = o.format
        else {
            return Ok(Rec::End);
        };
        if !self.fill(o, 16).map_err(|e| io_error(o, e))? {
            if self.end == self.start {
                return Ok(Rec::End);
            }
            return Err(self.truncated(o, "record header"));
        }
        let h = &self.buf[self.start..self.start + 16];
        let secs = u32_at(h, 0, swapped).unwrap_or(0);
        let frac = u32_at(h, 4, swapped).unwrap_or(0);
        let caplen = u32_at(h, 8, swapped).unwrap_or(0) as usize;
        let wire_len = u32_at(h, 12, swapped).unwrap_or(0);
        if caplen > MAX_FRAME_LEN {
            return Err(Self::corrupt(
                o,
                format!("record length {caplen} exceeds the {MAX_FRAME_LEN}-byte frame cap"),
            ));
        }
        if !self.fill(o, 16 + caplen).map_err(|e| io_error(o, e))? {
            return Err(self.truncated(o, "packet data"));
        }
        let nanos_v = if nanos {
            u64::from(frac)
        } else {
            u64::from(frac).saturating_mul(1000)
        };
        let ts = Timestamp::from_secs_nanos(u64::from(secs), nanos_v);
        let off = self.start + 16;
        self.consume(o, 16 + caplen);
        Ok(Rec::Frame {
            off,
            len: caplen,
            ts,
            linktype,
            wire_len: wire_len.max(caplen as u32),
        })
    }

    fn read_pcapng(&mut self, o: &mut Open) -> Result<Rec, FileError> {
        if !self.fill(o, 12).map_err(|e| io_error(o, e))? {
            if self.end == self.start {
                return Ok(Rec::End);
            }
            return Err(self.truncated(o, "block header"));
        }
        let head = &self.buf[self.start..self.start + 12];
        let raw_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if raw_type == 0x0a0d_0d0a {
            // Section header: its byte-order magic decides the order of everything after it.
            let swapped = match head[8..12] {
                [0x4d, 0x3c, 0x2b, 0x1a] => false,
                [0x1a, 0x2b, 0x3c, 0x4d] => true,
                _ => {
                    return Err(Self::corrupt(
                        o,
                        "section header with a bad byte-order magic".into(),
                    ))
                }
            };
            o.format = Format::Pcapng {
                swapped,
                ifaces: Vec::new(),
            };
        }
        let Format::Pcapng { swapped, .. } = o.format else {
            return Ok(Rec::End);
        };
        let btype = u32_at(head, 0, swapped).unwrap_or(0);
        let blen = u32_at(head, 4, swapped).unwrap_or(0) as usize;
        if !(12..=MAX_BLOCK_LEN).contains(&blen) {
            return Err(Self::corrupt(
                o,
                format!("block length {blen} outside 12..={MAX_BLOCK_LEN}"),
            ));
        }
        if !self.fill(o, blen).map_err(|e| io_error(o, e))? {
            return Err(self.truncated(o, "block"));
        }
        let block_start = self.start;
        let body = &self.buf[block_start + 8..block_start + blen - 4];
        let trailer = u32_at(
            &self.buf[block_start..block_start + blen],
            blen - 4,
            swapped,
        );
        if trailer != Some(blen as u32) {
            return Err(Self::corrupt(
                o,
                format!("block length {blen} does not match its trailer {trailer:?}"),
            ));
        }
        let rec = match btype {
            // Interface description.
            1 => {
                let linktype = u32::from(u16_at(body, 0, swapped).unwrap_or(0));
                let mut iface = Iface {
                    linktype,
                    resol: Resol::Dec(6),
                    offset_secs: 0,
                };
                parse_idb_options(body.get(8..).unwrap_or_default(), swapped, &mut iface);
                if let Format::Pcapng { ifaces, .. } = &mut o.format {
                    if ifaces.len() >= MAX_INTERFACES {
                        return Err(Self::corrupt(
                            o,
                            format!("more than {MAX_INTERFACES} interfaces"),
                        ));
                    }
                    ifaces.push(iface);
                }
                Rec::Skip
            }
            // Enhanced packet (6) and obsolete packet (2) blocks.
            6 | 2 => {
                let (ifid, hdr) = if btype == 6 {
                    (u32_at(body, 0, swapped).unwrap_or(u32::MAX), 20)
                } else {
                    (u32::from(u16_at(body, 0, swapped).unwrap_or(u16::MAX)), 20)
                };
                let ts_hi = u32_at(body, 4, swapped).unwrap_or(0);
                let ts_lo = u32_at(body, 8, swapped).unwrap_or(0);
                let caplen = u32_at(body, 12, swapped).unwrap_or(0) as usize;
                let wire_len = u32_at(body, 16, swapped).unwrap_or(0);
                let iface = match &o.format {
                    Format::Pcapng { ifaces, .. } => ifaces.get(ifid as usize).copied(),
                    Format::Pcap { .. } => None,
                };
                match iface {
                    Some(ifc) if hdr + caplen <= body.len() && caplen <= MAX_FRAME_LEN => {
                        let units = (u64::from(ts_hi) << 32) | u64::from(ts_lo);
                        Rec::Frame {
                            off: block_start + 8 + hdr,
                            len: caplen,
                            ts: ifc.resol.to_ts(units, ifc.offset_secs),
                            linktype: ifc.linktype,
                            wire_len: wire_len.max(caplen as u32),
                        }
                    }
                    Some(_) => {
                        return Err(Self::corrupt(
                            o,
                            format!("packet length {caplen} overruns its block"),
                        ))
                    }
                    None => {
                        self.stats.records_skipped += 1;
                        Rec::Skip
                    }
                }
            }
            // Simple packet block: interface 0, no timestamp (reuse the previous one).
            3 => {
                let wire_len = u32_at(body, 0, swapped).unwrap_or(0);
                let avail = body.len().saturating_sub(4);
                let caplen = (wire_len as usize).min(avail);
                let iface = match &o.format {
                    Format::Pcapng { ifaces, .. } => ifaces.first().copied(),
                    Format::Pcap { .. } => None,
                };
                match iface {
                    Some(ifc) => Rec::Frame {
                        off: block_start + 12,
                        len: caplen,
                        ts: self.last_ts,
                        linktype: ifc.linktype,
                        wire_len,
                    },
                    None => {
                        self.stats.records_skipped += 1;
                        Rec::Skip
                    }
                }
            }
            // Section header (handled above), name resolution, statistics, custom, etc.
            _ => Rec::Skip,
        };
        self.consume(o, blen);
        Ok(rec)
    }
}

fn io_error(o: &Open, source: io::Error) -> FileError {
    FileError::Io {
        path: o.path.clone(),
        source,
    }
}

/// Reads `if_tsresol` (code 9) and `if_tsoffset` (code 14) from interface options.
fn parse_idb_options(mut opts: &[u8], swapped: bool, iface: &mut Iface) {
    while opts.len() >= 4 {
        let code = u16_at(opts, 0, swapped).unwrap_or(0);
        let len = usize::from(u16_at(opts, 2, swapped).unwrap_or(0));
        let Some(val) = opts.get(4..4 + len) else {
            return;
        };
        match code {
            0 => return,
            9 if len >= 1 => {
                let v = val[0];
                iface.resol = if v & 0x80 != 0 {
                    Resol::Bin(v & 0x7f)
                } else {
                    Resol::Dec(v)
                };
            }
            14 if len >= 8 => {
                let a: [u8; 8] = val[..8].try_into().unwrap_or([0; 8]);
                iface.offset_secs = if swapped {
                    i64::from_be_bytes(a)
                } else {
                    i64::from_le_bytes(a)
                };
            }
            _ => {}
        }
        let padded = (4 + len + 3) & !3;
        opts = opts.get(padded..).unwrap_or_default();
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pcap_bytes(swapped: bool, nanos: bool, pkts: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let w32 = |v: &mut Vec<u8>, x: u32| {
            if swapped {
                v.extend_from_slice(&x.to_be_bytes())
            } else {
                v.extend_from_slice(&x.to_le_bytes())
            }
        };
        let w16 = |v: &mut Vec<u8>, x: u16| {
            if swapped {
                v.extend_from_slice(&x.to_be_bytes())
            } else {
                v.extend_from_slice(&x.to_le_bytes())
            }
        };
        w32(&mut v, magic);
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, 1);
        for (s, f, d) in pkts {
            w32(&mut v, *s);
            w32(&mut v, *f);
            w32(&mut v, d.len() as u32);
            w32(&mut v, d.len() as u32);
            v.extend_from_slice(d);
        }
        v
    }

    fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("capture-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    fn collect(src: &mut FileSource) -> Vec<(Timestamp, u32, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(p) = src.next_packet() {
            out.push((p.ts, p.linktype, p.data.to_vec()));
        }
        out
    }

    #[test]
    fn pcap_all_byte_orders_and_resolutions() {
        for swapped in [false, true] {
            for nanos in [false, true] {
                let b = pcap_bytes(swapped, nanos, &[(10, 5, b"abc"), (11, 6, b"defg")]);
                let p = tmp(&format!("p{swapped}{nanos}.pcap"), &b);
                let mut s = FileSource::new([&p]);
                let got = collect(&mut s);
                assert_eq!(got.len(), 2);
                let mult = if nanos { 1 } else { 1000 };
                assert_eq!(got[0].0, Timestamp::from_secs_nanos(10, 5 * mult));
                assert_eq!(got[1].2, b"defg");
                assert_eq!(got[0].1, 1);
                assert!(s.take_errors().is_empty());
            }
        }
    }

    #[test]
    fn truncated_and_garbage_files_report_and_continue() {
        let good = pcap_bytes(false, false, &[(1, 0, b"xyz")]);
        let mut trunc = good.clone();
        trunc.extend_from_slice(&[1, 0, 0, 0, 0, 0]);
        let a = tmp("trunc.pcap", &trunc);
        let b = tmp("junk.pcap", b"this is not a capture file at all");
        let c = tmp("good.pcap", &good);
        let e = tmp("empty.pcap", b"");
        let mut s = FileSource::new([&a, &b, &e, &c]);
        let got = collect(&mut s);
        assert_eq!(got.len(), 2);
        let errs = s.take_errors();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(matches!(errs[0], FileError::Truncated { packets: 1, .. }));
        assert!(matches!(errs[1], FileError::NotACapture { .. }));
        assert!(errs[1].to_string().contains("not a pcap"));
    }

    #[test]
    fn oversized_record_is_corrupt() {
        let mut b = pcap_bytes(false, false, &[]);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
        b.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let p = tmp("huge.pcap", &b);
        let mut s = FileSource::new([&p]);
        assert!(collect(&mut s).is_empty());
        assert!(matches!(s.take_errors()[0], FileError::Corrupt { .. }));
    }

    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = 12 + body.len().div_ceil(4) * 4;
        let mut v = Vec::new();
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v.extend_from_slice(body);
        v.resize(len - 4, 0);
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v
    }

    #[test]
    fn pcapng_interfaces_and_resolutions() {
        let mut f = Vec::new();
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        f.extend(block(0x0a0d_0d0a, &shb));
        // Interface 0: Ethernet, default µs.
        let mut idb0 = vec![1, 0, 0, 0];
        idb0.extend_from_slice(&0u32.to_le_bytes());
        f.extend(block(1, &idb0));
        // Interface 1: raw IP, ns resolution (if_tsresol = 9).
        let mut idb1 = vec![101, 0, 0, 0];
        idb1.extend_from_slice(&0u32.to_le_bytes());
        idb1.extend_from_slice(&9u16.to_le_bytes());
        idb1.extend_from_slice(&1u16.to_le_bytes());
        idb1.extend_from_slice(&[9, 0, 0, 0]);
        idb1.extend_from_slice(&[0, 0, 0, 0]);
        f.extend(block(1, &idb1));
        let epb = |ifid: u32, units: u64, data: &[u8]| {
            let mut b = Vec::new();
            b.extend_from_slice(&ifid.to_le_bytes());
            b.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
            b.extend_from_slice(&(units as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            block(6, &b)
        };
        f.extend(epb(0, 5_000_001, b"eth"));
        f.extend(epb(1, 7_000_000_002, b"rawip"));
        f.extend(epb(9, 1, b"nope"));
        let p = tmp("ifaces.pcapng", &f);
        let mut s = FileSource::new([&p]);
        let got = collect(&mut s);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            (Timestamp::from_secs_nanos(5, 1000), 1, b"eth".to_vec())
        );
        assert_eq!(
            got[1],
            (Timestamp::from_secs_nanos(7, 2), 101, b"rawip".to_vec())
        );
        assert_eq!(s.stats().records_skipped, 1);
        assert!(s.take_errors().is_empty());
    }

    #[test]
    fn gzip_pcap_reads() {
        let b = pcap_bytes(false, false, &[(1, 0, b"gz!")]);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&b).unwrap();
        let p = tmp("z.pcap.gz", &enc.finish().unwrap());
        let mut s = FileSource::new([&p]);
        assert_eq!(collect(&mut s).len(), 1);
    }
}

/// Entry points for the fuzz targets.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// Reads `data` as a capture file and drains it.
    pub fn fuzz_file(data: &[u8]) {
        let mut s = FileSource::from_bytes(data.to_vec());
        let mut n = 0usize;
        while let Some(p) = s.next_packet() {
            assert!(p.data.len() <= MAX_FRAME_LEN);
            n += 1;
        }
        let _ = s.take_errors();
        std::hint::black_box(n);
    }
}
