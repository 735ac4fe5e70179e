//! Files carried by HTTP bodies (Suricata's file tracking) and the multipart/form-data
//! splitter that finds uploaded files in request bodies.
//!
//! Suricata opens a file for the first body byte of: a response (named by the
//! Content-Disposition `filename=`, else the normalised URI path); a POST or PUT request (URI
//! path); each multipart part with a `filename=`. A body with no byte yields no file. File
//! content is the dechunked, decompressed body, cut at the body limit: the next byte past the
//! limit closes the file as `TRUNCATED`.

use md5::Digest as _;

use crate::config::ForceHash;
use crate::util::{find_nocase, to_hex};

/// Files per transaction (multipart parts with a filename). A form with more parts than this
/// is hostile or broken; later parts are not tracked.
pub const MAX_FILES_PER_TX: usize = 64;
/// Longest file name kept (Suricata `SC_FILENAME_MAX`); longer names are cut and raise
/// `FILE_NAME_TOO_LONG`.
pub const MAX_FILENAME: usize = 1024;
/// Bytes of multipart part headers buffered before giving up on the part
/// (`MULTIPART_INVALID_HEADER`).
pub const MAX_PART_HEADERS: usize = 8192;
/// Longest multipart boundary accepted (RFC 2046 allows 70).
pub const MAX_BOUNDARY: usize = 200;

/// Final state of a file, as EVE prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileState {
    /// Still receiving data.
    Open,
    /// Complete.
    Closed,
    /// Cut short (body limit, flow end, parser stop).
    Truncated,
    /// Broken.
    Error,
}

impl FileState {
    /// EVE spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Open => "OPEN",
            FileState::Closed => "CLOSED",
            FileState::Truncated => "TRUNCATED",
            FileState::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Hashers {
    md5: Option<md5::Md5>,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
}

/// One tracked file.
#[derive(Debug, Clone)]
pub struct HttpFile {
    /// File name bytes.
    pub name: Vec<u8>,
    /// Content bytes seen.
    pub size: u64,
    /// State.
    pub state: FileState,
    /// A reassembly gap hit the file.
    pub gaps: bool,
    /// Hex digests, filled when the file closes (if hashing is on).
    pub md5: Option<String>,
    /// SHA-1 hex digest.
    pub sha1: Option<String>,
    /// SHA-256 hex digest.
    pub sha256: Option<String>,
    /// First and last byte of a `206` response's `Content-Range` (EVE `start` / `end`).
    pub range: Option<(u64, u64)>,
    hashers: Hashers,
    /// Content kept for detection (`file.data`), when the parser inspects: at most
    /// `inspect_cap` bytes (the body limit the content already obeys).
    inspect: Option<Vec<u8>>,
    inspect_cap: usize,
    pub(crate) logged: bool,
}

impl HttpFile {
    pub(crate) fn new(name: &[u8], hash: ForceHash) -> HttpFile {
        HttpFile {
            name: name.get(..MAX_FILENAME).unwrap_or(name).to_vec(),
            size: 0,
            state: FileState::Open,
            gaps: false,
            md5: None,
            sha1: None,
            sha256: None,
            range: None,
            hashers: Hashers {
                md5: hash.md5.then(md5::Md5::new),
                sha1: hash.sha1.then(sha1::Sha1::new),
                sha256: hash.sha256.then(sha2::Sha256::new),
            },
            inspect: None,
            inspect_cap: 0,
            logged: false,
        }
    }

    /// Keeps up to `cap` bytes of content for detection (`file.data`).
    pub(crate) fn keep_content(mut self, cap: usize) -> HttpFile {
        self.inspect = Some(Vec::new());
        self.inspect_cap = cap;
        self
    }

    /// The content kept for detection, when this file keeps it.
    pub fn inspect_data(&self) -> Option<&[u8]> {
        self.inspect.as_deref()
    }

    /// Moves the kept content out (for a snapshot), leaving the file without it.
    pub(crate) fn take_content(&mut self) -> Option<Vec<u8>> {
        self.inspect.take()
    }

    /// Puts content taken by [`HttpFile::take_content`] back (into a snapshot's copy).
    pub(crate) fn put_content(&mut self, c: Option<Vec<u8>>) {
        self.inspect = c;
    }

    pub(crate) fn append(&mut self, data: &[u8]) {
        if self.state != FileState::Open {
            return;
        }
        self.size = self.size.saturating_add(data.len() as u64);
        if let Some(buf) = self.inspect.as_mut() {
            let room = self.inspect_cap.saturating_sub(buf.len());
            buf.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
        }
        if let Some(h) = self.hashers.md5.as_mut() {
            h.update(data);
        }
        if let Some(h) = self.hashers.sha1.as_mut() {
            h.update(data);
        }
        if let Some(h) = self.hashers.sha256.as_mut() {
            h.update(data);
        }
    }

    /// Missing bytes (reassembly gap): counted in the size, hashing stops, the file will close
    /// as `TRUNCATED` (Suricata `FileAppendGAP`).
    pub(crate) fn append_gap(&mut self, len: u64) {
        if self.state != FileState::Open {
            return;
        }
        self.size = self.size.saturating_add(len);
        self.gaps = true;
        self.hashers = Hashers::default();
    }

    pub(crate) fn close(&mut self, state: FileState) {
        if self.state != FileState::Open {
            return;
        }
        self.state = if self.gaps && state == FileState::Closed {
            FileState::Truncated
        } else {
            state
        };
        let h = std::mem::take(&mut self.hashers);
        self.md5 = h.md5.map(|x| to_hex(&x.finalize()));
        self.sha1 = h.sha1.map(|x| to_hex(&x.finalize()));
        self.sha256 = h.sha256.map(|x| to_hex(&x.finalize()));
    }
}

/// What the multipart splitter asks the caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MpAction {
    /// A part with this filename starts.
    Open(Vec<u8>),
    /// Content of the current file part.
    Data(Vec<u8>),
    /// The current file part ended.
    Close,
    /// Malformed part headers.
    InvalidHeader,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MpState {
    Preamble,
    AfterBoundary,
    Headers,
    Data,
    Done,
}

/// Streaming multipart/form-data splitter.
#[derive(Debug, Clone)]
pub(crate) struct Multipart {
    /// `--boundary`.
    delim: Vec<u8>,
    state: MpState,
    buf: Vec<u8>,
    in_file: bool,
}

/// Extracts the boundary from a request Content-Type, when it is multipart/form-data.
pub(crate) fn multipart_boundary(ct: &[u8]) -> Option<Vec<u8>> {
    find_nocase(ct, b"multipart/form-data")?;
    let i = find_nocase(ct, b"boundary=")?;
    let mut v = ct.get(i + 9..)?;
    if let Some(end) = v.iter().position(|&c| c == b';' || c == b',') {
        v = &v[..end];
    }
    let mut v = crate::util::trim(v);
    if v.first() == Some(&b'"') {
        v = &v[1..];
        if let Some(e) = v.iter().position(|&c| c == b'"') {
            v = &v[..e];
        }
    }
    if v.is_empty() || v.len() > MAX_BOUNDARY {
        return None;
    }
    Some(v.to_vec())
}

impl Multipart {
    pub(crate) fn new(boundary: &[u8]) -> Multipart {
        let mut delim = b"--".to_vec();
        delim.extend_from_slice(boundary);
        Multipart {
            delim,
            state: MpState::Preamble,
            buf: Vec::new(),
            in_file: false,
        }
    }

    /// Feeds body bytes; `eof` flushes a part that never saw its closing boundary.
    pub(crate) fn feed(&mut self, data: &[u8], eof: bool, acts: &mut Vec<MpAction>) {
        self.buf.extend_from_slice(data);
        loop {
            match self.state {
                MpState::Done => {
                    self.buf.clear();
                    return;
                }
                MpState::Preamble => match memchr::memmem::find(&self.buf, &self.delim) {
                    Some(i) => {
                        self.buf.drain(..i + self.delim.len());
                        self.state = MpState::AfterBoundary;
                    }
                    None => {
                        let keep = self.delim.len().saturating_sub(1);
                        let cut = self.buf.len().saturating_sub(keep);
                        self.buf.drain(..cut);
                        return;
                    }
                },
                MpState::AfterBoundary => {
                    if self.buf.len() < 2 {
                        return;
                    }
                    if self.buf.starts_with(b"--") {
                        self.state = MpState::Done;
                        continue;
                    }
                    match memchr::memchr(b'\n', &self.buf) {
                        Some(i) => {
                            self.buf.drain(..=i);
                            self.state = MpState::Headers;
                        }
                        None => {
                            if self.buf.len() > MAX_PART_HEADERS {
                                acts.push(MpAction::InvalidHeader);
                                self.state = MpState::Done;
                            }
                            return;
                        }
                    }
                }
                MpState::Headers => {
                    let end = memchr::memmem::find(&self.buf, b"\r\n\r\n")
                        .map(|i| (i, 4))
                        .or_else(|| memchr::memmem::find(&self.buf, b"\n\n").map(|i| (i, 2)))
                        .or_else(|| {
                            // A part without headers: the blank line comes first.
                            if self.buf.starts_with(b"\r\n") {
                                Some((0, 2))
                            } else {
                                None
                            }
                        });
                    let Some((i, n)) = end else {
                        if self.buf.len() > MAX_PART_HEADERS {
                            acts.push(MpAction::InvalidHeader);
                            self.state = MpState::Done;
                        }
                        return;
                    };
                    let filename = part_filename(&self.buf[..i]);
                    self.buf.drain(..i + n);
                    self.in_file = false;
                    if let Some(f) = filename {
                        acts.push(MpAction::Open(f));
                        self.in_file = true;
                    }
                    self.state = MpState::Data;
                }
                MpState::Data => {
                    let mut needle = b"\r\n".to_vec();
                    needle.extend_from_slice(&self.delim);
                    match memchr::memmem::find(&self.buf, &needle) {
                        Some(i) => {
                            if self.in_file {
                                if i > 0 {
                                    acts.push(MpAction::Data(self.buf[..i].to_vec()));
                                }
                                acts.push(MpAction::Close);
                                self.in_file = false;
                            }
                            self.buf.drain(..i + needle.len());
                            self.state = MpState::AfterBoundary;
                        }
                        None => {
                            let keep = if eof {
                                0
                            } else {
                                needle.len().saturating_sub(1)
                            };
                            let cut = self.buf.len().saturating_sub(keep);
                            if self.in_file && cut > 0 {
                                acts.push(MpAction::Data(self.buf[..cut].to_vec()));
                            }
                            self.buf.drain(..cut);
                            if eof && self.in_file {
                                acts.push(MpAction::Close);
                                self.in_file = false;
                            }
                            return;
                        }
                    }
                }
            }
        }
    }
}

impl Multipart {
    /// File bytes held back while looking for a boundary that may straddle the next chunk.
    /// Suricata still stores them when the flow ends inside the part (the file is then
    /// truncated): a 100 KiB upload cut by the end of the capture keeps all its bytes.
    pub(crate) fn take_pending(&mut self) -> Option<Vec<u8>> {
        if self.state != MpState::Data || !self.in_file || self.buf.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.buf))
    }
}

/// The `filename=` of a part's Content-Disposition header.
fn part_filename(headers: &[u8]) -> Option<Vec<u8>> {
    for line in headers.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        if crate::util::trim(&line[..colon]).eq_ignore_ascii_case(b"content-disposition") {
            return crate::uri::content_disposition_param(&line[colon + 1..], b"filename=")
                .map(<[u8]>::to_vec);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"up.txt\"\r\n\
Content-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";

    fn run(chunks: &[&[u8]]) -> Vec<MpAction> {
        let mut m = Multipart::new(b"XyZ");
        let mut acts = Vec::new();
        for c in chunks {
            m.feed(c, false, &mut acts);
        }
        m.feed(&[], true, &mut acts);
        // merge data
        let mut out: Vec<MpAction> = Vec::new();
        for a in acts {
            if let (MpAction::Data(d), Some(MpAction::Data(p))) = (&a, out.last_mut()) {
                p.extend_from_slice(d);
                continue;
            }
            out.push(a);
        }
        out
    }

    #[test]
    fn multipart_whole_and_bytewise() {
        let want = vec![
            MpAction::Open(b"up.txt".to_vec()),
            MpAction::Data(b"file body".to_vec()),
            MpAction::Close,
        ];
        assert_eq!(run(&[BODY]), want);
        let bytes: Vec<&[u8]> = BODY.chunks(1).collect();
        assert_eq!(run(&bytes), want);
    }

    #[test]
    fn boundary() {
        assert_eq!(
            multipart_boundary(b"multipart/form-data; boundary=\"abc\""),
            Some(b"abc".to_vec())
        );
        assert_eq!(multipart_boundary(b"text/plain; boundary=abc"), None);
    }
}
