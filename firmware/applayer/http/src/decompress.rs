//! Streaming gzip / deflate decoding of response bodies, modelled on libhtp's decompressor.
//!
//! libhtp's behaviour we keep: `gzip` accepts a gzip or zlib stream, `deflate` starts as raw
//! deflate; when the first attempt fails the decoder restarts once with the other framing; when
//! every attempt fails it reports `GZIP_DECOMPRESSION_FAILED` and passes the raw bytes through
//! (a server that lies about compression still gets its body inspected). A stream that ends
//! ignores whatever follows. Layers chain in header order, as libhtp does.
//!
//! Bombs: output per layer is bounded by [`crate::HttpConfig::decompress_limit`] bytes and by a
//! ratio check (libhtp's compression-bomb limit); hitting either reports `COMPRESSION_BOMB` and
//! stops decoding. A 1 GB body therefore never allocates more than one output buffer.

use flate2::{Decompress, FlushDecompress, Status};

/// Output buffer handed to the inflater per step (libhtp `GZIP_BUF_SIZE`).
const OUT_BUF: usize = 8192;
/// libhtp's default compression-bomb ratio: more than this many output bytes per input byte,
/// once past the bomb size limit, is a bomb.
const BOMB_RATIO: u64 = 2048;
/// Decoded bytes per layer, whatever the ratio: deflate cannot pass libhtp's 2048:1 ratio check
/// (its maximum is about 1032:1), so a gzip bomb needs this absolute bound. 64 MiB is far past
/// any inspection limit; decoding more only burns CPU.
pub(crate) const MAX_DECODED_PER_LAYER: u64 = 64 << 20;
/// Restarts allowed per layer (libhtp tries the other framing once it sees a failure).
const MAX_RESTARTS: u8 = 2;

/// Which coding a layer decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// gzip (or zlib, auto-detected).
    Gzip,
    /// deflate (raw, or zlib on restart).
    Deflate,
}

#[derive(Debug)]
enum Inner {
    /// Parsing a gzip member header; the bytes collected so far.
    GzipHeader(Vec<u8>),
    /// Inflating.
    Inflate(Box<Decompress>),
    /// Decoding failed: bytes pass through untouched.
    Passthrough,
    /// The compressed stream ended (or was abandoned): further input is ignored.
    Done,
}

/// Events a decoding step can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecompressEvent {
    /// Inflate failed (`GZIP_DECOMPRESSION_FAILED`).
    Failed,
    /// Output limit or ratio exceeded (`COMPRESSION_BOMB`).
    Bomb,
}

/// One decoding layer.
#[derive(Debug)]
pub(crate) struct Layer {
    /// Framing currently tried: true = zlib wrapper, false = raw deflate (after a gzip header).
    zlib: bool,
    inner: Inner,
    restarts: u8,
    produced_any: bool,
    total_in: u64,
    total_out: u64,
    hard_cap: u64,
}

impl Layer {
    pub(crate) fn new(coding: Coding) -> Layer {
        let mut l = Layer {
            zlib: false,
            inner: Inner::Done,
            restarts: 0,
            produced_any: false,
            total_in: 0,
            total_out: 0,
            hard_cap: MAX_DECODED_PER_LAYER,
        };
        l.inner = match coding {
            // gzip: sniff the first bytes for a gzip or zlib header.
            Coding::Gzip => Inner::GzipHeader(Vec::new()),
            Coding::Deflate => Inner::Inflate(Box::new(Decompress::new(false))),
        };
        l
    }

    /// Decodes `input`, appending output to `out` (bounded by `limit` total output bytes).
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
        events: &mut Vec<DecompressEvent>,
    ) {
        self.total_in = self.total_in.saturating_add(input.len() as u64);
        let mut data = input;
        loop {
            match &mut self.inner {
                Inner::Done => return,
                Inner::Passthrough => {
                    out.extend_from_slice(data);
                    return;
                }
                Inner::GzipHeader(buf) => {
                    // Bound the header buffer: names/comments longer than this are hostile.
                    const MAX_GZIP_HEADER: usize = 4096;
                    let take = data.len().min(MAX_GZIP_HEADER.saturating_sub(buf.len()));
                    buf.extend_from_slice(&data[..take]);
                    match gzip_header_len(buf) {
                        HeaderScan::NeedMore if buf.len() < MAX_GZIP_HEADER => return,
                        HeaderScan::Len(n) => {
                            let rest = buf.split_off(n.min(buf.len()));
                            let extra = &data[take..];
                            self.zlib = false;
                            self.inner = Inner::Inflate(Box::new(Decompress::new(false)));
                            let mut all = rest;
                            all.extend_from_slice(extra);
                            self.inflate(&all, out, limit, events);
                            return;
                        }
                        HeaderScan::Zlib => {
                            let pending = std::mem::take(buf);
                            self.zlib = true;
                            self.inner = Inner::Inflate(Box::new(Decompress::new(true)));
                            let mut all = pending;
                            all.extend_from_slice(&data[take..]);
                            self.inflate(&all, out, limit, events);
                            return;
                        }
                        HeaderScan::NeedMore | HeaderScan::NotGzip => {
                            // Neither gzip nor zlib: libhtp's restart tries raw deflate.
                            let pending = std::mem::take(buf);
                            self.restarts = self.restarts.saturating_add(1);
                            self.zlib = false;
                            self.inner = Inner::Inflate(Box::new(Decompress::new(false)));
                            let mut all = pending;
                            all.extend_from_slice(&data[take..]);
                            data = &[];
                            self.inflate(&all, out, limit, events);
                            if data.is_empty() {
                                return;
                            }
                        }
                    }
                }
                Inner::Inflate(_) => {
                    self.inflate(data, out, limit, events);
                    return;
                }
            }
        }
    }

    fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
        events: &mut Vec<DecompressEvent>,
    ) {
        let mut data = input;
        while !data.is_empty() {
            let Inner::Inflate(d) = &mut self.inner else {
                if matches!(self.inner, Inner::Passthrough) {
                    out.extend_from_slice(data);
                }
                return;
            };
            let before_in = d.total_in();
            let before_out = d.total_out();
            let mut buf = Vec::with_capacity(OUT_BUF);
            let r = d.decompress_vec(data, &mut buf, FlushDecompress::None);
            let used =
                usize::try_from(d.total_in().saturating_sub(before_in)).unwrap_or(data.len());
            let made = d.total_out().saturating_sub(before_out);
            data = data.get(used..).unwrap_or(&[]);
            if made > 0 {
                self.produced_any = true;
                self.total_out = self.total_out.saturating_add(made);
                out.extend_from_slice(&buf);
                if (limit > 0
                    && self.total_out > limit
                    && self.total_out / self.total_in.max(1) > BOMB_RATIO)
                    || self.total_out > self.hard_cap
                {
                    events.push(DecompressEvent::Bomb);
                    self.inner = Inner::Done;
                    return;
                }
            }
            match r {
                Ok(Status::StreamEnd) => {
                    self.inner = Inner::Done;
                    return;
                }
                Ok(Status::Ok) | Ok(Status::BufError) => {
                    if used == 0 && made == 0 {
                        // No progress possible with this input: wait for more.
                        return;
                    }
                }
                Err(_) => {
                    events.push(DecompressEvent::Failed);
                    if self.produced_any {
                        // libhtp: data came out before the error, treat it as the end.
                        self.inner = Inner::Done;
                        return;
                    }
                    if self.restarts < MAX_RESTARTS {
                        self.restarts = self.restarts.saturating_add(1);
                        // Try the other framing on the same chunk.
                        self.zlib = !self.zlib;
                        self.inner = Inner::Inflate(Box::new(Decompress::new(self.zlib)));
                        data = input;
                        continue;
                    }
                    // Give up: pass the raw bytes on, like libhtp.
                    self.inner = Inner::Passthrough;
                    out.extend_from_slice(input);
                    return;
                }
            }
        }
    }
}

enum HeaderScan {
    NeedMore,
    Len(usize),
    Zlib,
    NotGzip,
}

/// Length of a gzip member header (RFC 1952) at the start of `b`.
fn gzip_header_len(b: &[u8]) -> HeaderScan {
    if b.len() < 2 {
        return HeaderScan::NeedMore;
    }
    if b[0] != 0x1f || b[1] != 0x8b {
        // zlib header: CMF/FLG check.
        if b[0] & 0x0f == 8 && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0 {
            return HeaderScan::Zlib;
        }
        return HeaderScan::NotGzip;
    }
    if b.len() < 10 {
        return HeaderScan::NeedMore;
    }
    let flg = b[3];
    let mut pos = 10usize;
    if flg & 0x04 != 0 {
        let Some(x) = b.get(pos..pos + 2) else {
            return HeaderScan::NeedMore;
        };
        pos = pos + 2 + usize::from(u16::from_le_bytes([x[0], x[1]]));
    }
    for bit in [0x08u8, 0x10] {
        if flg & bit != 0 {
            match b.get(pos..).and_then(|r| memchr::memchr(0, r)) {
                Some(z) => pos = pos + z + 1,
                None => return HeaderScan::NeedMore,
            }
        }
    }
    if flg & 0x02 != 0 {
        pos += 2;
    }
    if pos > b.len() {
        return HeaderScan::NeedMore;
    }
    HeaderScan::Len(pos)
}

/// A chain of layers (outermost first, in Content-Encoding header order).
#[derive(Debug, Default)]
pub(crate) struct Chain {
    layers: Vec<Layer>,
}

impl Chain {
    pub(crate) fn new(codings: &[Coding]) -> Chain {
        Chain {
            layers: codings.iter().map(|&c| Layer::new(c)).collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Runs `input` through every layer; returns the decoded bytes.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        limit: u64,
        events: &mut Vec<DecompressEvent>,
    ) -> Vec<u8> {
        let mut cur = input.to_vec();
        for l in &mut self.layers {
            let mut next = Vec::new();
            l.feed(&cur, &mut next, limit, events);
            cur = next;
        }
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_bytewise() {
        let plain = b"hello hello hello hello world".repeat(20);
        let z = gz(&plain);
        let mut l = Layer::new(Coding::Gzip);
        let mut out = Vec::new();
        let mut ev = Vec::new();
        for b in &z {
            l.feed(std::slice::from_ref(b), &mut out, 0, &mut ev);
        }
        assert_eq!(out, plain);
        assert!(ev.is_empty());
    }

    #[test]
    fn deflate_with_zlib_header_restarts() {
        let plain = b"some data some data some data".to_vec();
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&plain).unwrap();
        let z = e.finish().unwrap();
        let mut c = Chain::new(&[Coding::Deflate]);
        let mut ev = Vec::new();
        let out = c.feed(&z, 0, &mut ev);
        assert_eq!(out, plain);
    }

    #[test]
    fn garbage_passes_through() {
        let mut c = Chain::new(&[Coding::Gzip]);
        let mut ev = Vec::new();
        let out = c.feed(b"this is not compressed at all", 0, &mut ev);
        assert_eq!(out, b"this is not compressed at all");
        assert!(ev.contains(&DecompressEvent::Failed));
        let out = c.feed(b" more", 0, &mut ev);
        assert_eq!(out, b" more");
    }

    #[test]
    fn bomb_is_stopped() {
        let plain = vec![0u8; 4 << 20];
        let z = gz(&plain);
        let mut c = Chain::new(&[Coding::Gzip]);
        for l in &mut c.layers {
            l.hard_cap = 1 << 20;
        }
        let mut ev = Vec::new();
        let mut total = 0usize;
        for ch in z.chunks(512) {
            total += c.feed(ch, 1 << 20, &mut ev).len();
        }
        assert!(ev.contains(&DecompressEvent::Bomb));
        assert!(total < (2 << 20));
    }
}
