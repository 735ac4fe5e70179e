//! Streaming gzip / deflate decoding of HTTP bodies, modelled on libhtp 0.5's decompressor as
//! Suricata 7.0.10 runs it (checked against it on crafted bodies, see the tests).
//!
//! Each layer is a zlib inflater (`flate2` on its zlib-compatible backend, so partial output
//! before an error is zlib's) plus an 8 KiB output buffer that is handed on only when full,
//! when the stream ends, or when the body ends. `gzip` starts in zlib's automatic mode (a gzip
//! member if the body starts with `1f 8b`, else a zlib stream), `deflate` as raw deflate.
//!
//! libhtp's recovery rules, kept as observed:
//! - an error while the buffer holds output, on a layer that never restarted, ends the
//!   stream: the output is kept (a server that appends junk still gets its body inspected);
//!   the next chunk then finds the inflater broken and goes through the restart rules;
//! - otherwise an error (`GZIP_DECOMPRESSION_FAILED`) restarts the layer on the *current*
//!   chunk, at most 3 times: first with the same framing (skipping a gzip header with flags),
//!   then alternating gzip and raw deflate; bytes of earlier chunks are lost;
//! - when every restart failed, the current chunk and all later ones pass through raw, and
//!   what the failed attempts left in the buffer is dropped;
//! - after the end of a stream, input is ignored.
//!
//! Layers chain in header order; a layer that gave up passes its raw input straight to the
//! body, past the inner layers, as libhtp does.
//!
//! Bombs: libhtp's ratio rule (more than [`BOMB_RATIO`] decoded bytes per body byte once past
//! `compression-bomb-limit`) raises `COMPRESSION_BOMB` and stops all decoding, and so does a
//! hard bound of [`MAX_DECODED_PER_LAYER`] decoded bytes (deflate cannot pass the ratio check,
//! its maximum ratio being about 1032:1, and libhtp's extra time limit has no equivalent here).
//! Memory: one [`OUT_BUF`] buffer per layer; output is produced as it is decoded.

use flate2::{Decompress, FlushDecompress, Status};

/// Output buffer per layer (libhtp `GZIP_BUF_SIZE`): output reaches the body in blocks of
/// this size, or at the end of the stream or body.
pub(crate) const OUT_BUF: usize = 8192;
/// libhtp's compression-bomb ratio: more than this many decoded bytes per body byte, once past
/// the bomb size limit, is a bomb.
const BOMB_RATIO: u64 = 2048;
/// Decoded bytes per body, whatever the ratio. 64 MiB is far past any inspection limit;
/// decoding more only burns CPU.
pub(crate) const MAX_DECODED_PER_LAYER: u64 = 64 << 20;
/// Restarts per layer (libhtp tries 3 times before passing data through).
const MAX_RESTARTS: u8 = 3;

/// Which coding a layer decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// gzip (zlib's automatic gzip-or-zlib mode).
    Gzip,
    /// deflate (raw).
    Deflate,
}

/// Events a decoding step can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecompressEvent {
    /// Inflate failed (`GZIP_DECOMPRESSION_FAILED`).
    Failed,
    /// Output limit or ratio exceeded (`COMPRESSION_BOMB`).
    Bomb,
}

#[derive(Debug)]
enum Inflater {
    /// Automatic mode before the first two bytes are known (kept here until then).
    Sniff(Vec<u8>),
    /// Inflating.
    Run(Box<Decompress>),
    /// The stream ended: zlib answers "stream end" to anything more.
    Ended,
    /// zlib is in its error state: anything more is an error.
    Broken,
}

/// One decoding layer.
#[derive(Debug)]
struct Layer {
    coding: Coding,
    inflater: Inflater,
    restarts: u8,
    /// Every attempt failed: input goes straight to the body.
    passthrough: bool,
    out: Vec<u8>,
}

/// Outcome of one inflate step.
enum Step {
    Ok,
    End,
    Error,
}

impl Layer {
    fn new(coding: Coding) -> Layer {
        Layer {
            coding,
            inflater: start(coding),
            restarts: 0,
            passthrough: false,
            out: Vec::with_capacity(OUT_BUF),
        }
    }

    /// One inflate call on `input` into the free part of the output buffer: (step, bytes
    /// consumed).
    fn step(&mut self, input: &[u8]) -> (Step, usize) {
        let room = OUT_BUF.saturating_sub(self.out.len());
        match &mut self.inflater {
            Inflater::Ended => (Step::End, 0),
            Inflater::Broken => (Step::Error, 0),
            Inflater::Sniff(held) => {
                // zlib's automatic mode reads two bytes before choosing the framing.
                let need = 2usize.saturating_sub(held.len()).min(input.len());
                held.extend_from_slice(&input[..need]);
                if held.len() < 2 {
                    return (Step::Ok, need);
                }
                let d = if held[0] == 0x1f && held[1] == 0x8b {
                    Decompress::new_gzip(15)
                } else {
                    Decompress::new(true)
                };
                let head = std::mem::take(held);
                self.inflater = Inflater::Run(Box::new(d));
                // zlib reads the two header bytes before writing anything: they go in whole.
                let (st, _) = self.inflate(&head, room);
                (st, need)
            }
            Inflater::Run(_) => self.inflate(input, room),
        }
    }

    fn inflate(&mut self, input: &[u8], room: usize) -> (Step, usize) {
        let Inflater::Run(d) = &mut self.inflater else {
            return (Step::Error, 0);
        };
        let filled = self.out.len();
        self.out.resize(filled + room, 0);
        let before_in = d.total_in();
        let before_out = d.total_out();
        let r = d.decompress(input, &mut self.out[filled..], FlushDecompress::None);
        let used = usize::try_from(d.total_in().saturating_sub(before_in))
            .unwrap_or(input.len())
            .min(input.len());
        let made = usize::try_from(d.total_out().saturating_sub(before_out))
            .unwrap_or(0)
            .min(room);
        self.out.truncate(filled + made);
        match r {
            Ok(Status::StreamEnd) => {
                self.inflater = Inflater::Ended;
                (Step::End, used)
            }
            Ok(Status::Ok) | Ok(Status::BufError) => (Step::Ok, used),
            Err(_) => {
                self.inflater = Inflater::Broken;
                (Step::Error, used)
            }
        }
    }

    /// libhtp `htp_gzip_decompressor_restart`: a new inflater for the current chunk. Returns
    /// how many bytes of the chunk to skip, or `None` when no restart is left.
    fn restart(&mut self, chunk: &[u8]) -> Option<usize> {
        if self.restarts >= MAX_RESTARTS {
            return None;
        }
        if self.restarts > 0 {
            self.coding = match self.coding {
                Coding::Gzip => Coding::Deflate,
                Coding::Deflate => Coding::Gzip,
            };
        }
        self.restarts += 1;
        self.inflater = start(self.coding);
        Some(gzip_header_skip(chunk))
    }
}

fn start(coding: Coding) -> Inflater {
    match coding {
        Coding::Gzip => Inflater::Sniff(Vec::new()),
        Coding::Deflate => Inflater::Run(Box::new(Decompress::new(false))),
    }
}

/// libhtp `htp_gzip_decompressor_probe`: bytes of a gzip member header with flags to skip
/// when restarting (0 when the chunk does not start with such a header).
fn gzip_header_skip(data: &[u8]) -> usize {
    if data.len() < 4 || data[0] != 0x1f || data[1] != 0x8b || data[3] == 0 {
        return 0;
    }
    let flg = data[3];
    let n = if flg & 0x18 != 0 {
        // FNAME / FCOMMENT: up to and including the first NUL after the fixed header.
        let mut i = 10;
        while i < data.len() && data[i] != 0 {
            i += 1;
        }
        i + 1
    } else if flg & 0x02 != 0 {
        12
    } else {
        10
    };
    if n > data.len() {
        0
    } else {
        n
    }
}

/// Where decoded bytes go, and the body-level bomb accounting.
struct Sink<'a> {
    out: &'a mut Vec<u8>,
    events: &'a mut Vec<DecompressEvent>,
    limit: u64,
    raw_in: u64,
    decoded: &'a mut u64,
    dead: &'a mut bool,
}

impl Sink<'_> {
    /// libhtp's decompressor callback: body bytes, then the bomb check.
    fn deliver(&mut self, data: &[u8]) {
        if *self.dead || data.is_empty() {
            return;
        }
        self.out.extend_from_slice(data);
        *self.decoded = self.decoded.saturating_add(data.len() as u64);
        let ratio_bomb = self.limit > 0
            && *self.decoded > self.limit
            && *self.decoded > self.raw_in.saturating_mul(BOMB_RATIO);
        if ratio_bomb || *self.decoded > MAX_DECODED_PER_LAYER {
            self.events.push(DecompressEvent::Bomb);
            *self.dead = true;
        }
    }
}

/// Decodes `data` with `layers[0]`, handing output to the next layers (or the body).
fn feed_layers(layers: &mut [Layer], data: &[u8], sink: &mut Sink<'_>) {
    let Some((layer, rest)) = layers.split_first_mut() else {
        sink.deliver(data);
        return;
    };
    if layer.passthrough {
        sink.deliver(data);
        return;
    }
    let mut consumed = 0usize;
    'restart: loop {
        let mut input = data.get(consumed..).unwrap_or(&[]);
        while !input.is_empty() {
            if *sink.dead {
                return;
            }
            if layer.out.len() >= OUT_BUF {
                let block = std::mem::take(&mut layer.out);
                feed_layers(rest, &block, sink);
                layer.out = block;
                layer.out.clear();
            }
            let (mut step, used) = layer.step(input);
            input = input.get(used..).unwrap_or(&[]);
            if matches!(step, Step::Error) && !layer.out.is_empty() && layer.restarts == 0 {
                // Output came out before the error: libhtp keeps it and calls it the end.
                sink.events.push(DecompressEvent::Failed);
                step = Step::End;
            }
            match step {
                Step::End => {
                    let block = std::mem::take(&mut layer.out);
                    feed_layers(rest, &block, sink);
                    layer.out = block;
                    layer.out.clear();
                    return;
                }
                Step::Error => {
                    sink.events.push(DecompressEvent::Failed);
                    if let Some(skip) = layer.restart(data) {
                        consumed = skip;
                        continue 'restart;
                    }
                    // All attempts failed: this chunk and the rest go through raw.
                    layer.passthrough = true;
                    layer.out.clear();
                    sink.deliver(data);
                    return;
                }
                Step::Ok => {
                    if used == 0 && layer.out.len() < OUT_BUF {
                        // No progress possible (cannot happen with zlib; guards the loop).
                        return;
                    }
                }
            }
        }
        return;
    }
}

/// End of body: buffered output goes on (libhtp's NULL chunk).
fn finish_layers(layers: &mut [Layer], sink: &mut Sink<'_>) {
    let Some((layer, rest)) = layers.split_first_mut() else {
        return;
    };
    if layer.passthrough {
        return;
    }
    if layer.out.is_empty() {
        finish_layers(rest, sink);
    } else {
        // libhtp hands the buffer to the next layer as data, without finishing it.
        let block = std::mem::take(&mut layer.out);
        feed_layers(rest, &block, sink);
    }
}

/// A chain of layers (outermost first, in Content-Encoding header order).
#[derive(Debug, Default)]
pub(crate) struct Chain {
    layers: Vec<Layer>,
    raw_in: u64,
    decoded: u64,
    dead: bool,
}

impl Chain {
    pub(crate) fn new(codings: &[Coding]) -> Chain {
        Chain {
            layers: codings.iter().map(|&c| Layer::new(c)).collect(),
            raw_in: 0,
            decoded: 0,
            dead: false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Runs body bytes through the layers; returns the decoded bytes now available.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        limit: u64,
        events: &mut Vec<DecompressEvent>,
    ) -> Vec<u8> {
        self.raw_in = self.raw_in.saturating_add(input.len() as u64);
        let mut out = Vec::new();
        if self.dead || input.is_empty() {
            return out;
        }
        let mut sink = Sink {
            out: &mut out,
            events,
            limit,
            raw_in: self.raw_in,
            decoded: &mut self.decoded,
            dead: &mut self.dead,
        };
        feed_layers(&mut self.layers, input, &mut sink);
        out
    }

    /// The body ended: returns what the layers still buffer.
    pub(crate) fn finish(&mut self, limit: u64, events: &mut Vec<DecompressEvent>) -> Vec<u8> {
        let mut out = Vec::new();
        if self.dead {
            return out;
        }
        let mut sink = Sink {
            out: &mut out,
            events,
            limit,
            raw_in: self.raw_in,
            decoded: &mut self.decoded,
            dead: &mut self.dead,
        };
        finish_layers(&mut self.layers, &mut sink);
        // The decoders are done (libhtp destroys them).
        self.dead = true;
        out
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

    fn zl(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Feeds `chunks`, then finishes; returns (decoded length, failure events).
    fn run(coding: Coding, chunks: &[&[u8]]) -> (usize, usize) {
        let mut c = Chain::new(&[coding]);
        let mut ev = Vec::new();
        let mut n = 0;
        for ch in chunks {
            n += c.feed(ch, 1 << 20, &mut ev).len();
        }
        n += c.finish(1 << 20, &mut ev).len();
        let failed = ev.iter().filter(|e| **e == DecompressEvent::Failed).count();
        (n, failed)
    }

    /// The request body of suricata-verify `http-encoding-gzip-uncompressed` (106 bytes).
    const JSON: &[u8] = concat!(
        r#"{"sdk_version":11026,"app_package":"com.xcm.huasheng","#,
        r#""app_version":"1.7.4","device_id":"350672920106648"}"#
    )
    .as_bytes();

    #[test]
    fn gzip_bytewise() {
        let plain = b"hello hello hello hello world".repeat(20);
        let z = gz(&plain);
        let chunks: Vec<&[u8]> = z.chunks(1).collect();
        assert_eq!(run(Coding::Gzip, &chunks), (plain.len(), 0));
    }

    /// Suricata 7.0.10 on crafted responses (sizes of the logged files, number of
    /// GZIP_DECOMPRESSION_FAILED events).
    #[test]
    fn matches_suricata_recovery() {
        let plain = b"hello world, this is some text to compress. ".repeat(40);
        // gzip header on plain JSON: 3 restarts, then passthrough (4 events).
        assert_eq!(run(Coding::Gzip, &[JSON]), (106, 4));
        // Same, split: the first chunk's raw-deflate output is dropped with it.
        assert_eq!(run(Coding::Gzip, &[&JSON[..30], &JSON[30..]]), (76, 4));
        // deflate on plain JSON: zlib's partial output, then the end (1 event).
        assert_eq!(run(Coding::Deflate, &[JSON]), (216, 1));
        // gzip label on raw deflate: restarts into raw deflate (2 events).
        let r = raw(&plain);
        assert_eq!(run(Coding::Gzip, &[&r]), (plain.len(), 2));
        let mut junk = r.clone();
        junk.extend_from_slice(&b"GARBAGE!".repeat(4));
        assert_eq!(run(Coding::Gzip, &[&junk]), (plain.len(), 2));
        // deflate label on zlib: restarts into the automatic mode (2 events).
        let z = zl(&plain);
        assert_eq!(run(Coding::Deflate, &[&z]), (plain.len(), 2));
        // ... with a broken trailer after restarts: output dropped, passthrough.
        let mut bad = z[..z.len() - 4].to_vec();
        bad.extend_from_slice(&b"GARBAGE!".repeat(4));
        assert_eq!(run(Coding::Deflate, &[&bad]), (bad.len(), 4));
        // gzip (Python's, of "hello world " x 50) then junk: the junk is ignored.
        let mut g =
            unhex("1f8b0800bd2f0a6b02ffcb48cdc9c95728cf2fca4951c818658fb2a9c406000d2ead2558020000");
        g.extend_from_slice(&b"GARBAGEGARBAGE".repeat(3));
        assert_eq!(run(Coding::Gzip, &[&g]), (600, 0));
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
    fn output_is_released_in_blocks_and_at_the_end() {
        let plain = vec![7u8; 20_000];
        let z = gz(&plain);
        let mut c = Chain::new(&[Coding::Gzip]);
        let mut ev = Vec::new();
        let mut n = 0;
        for ch in z.chunks(3) {
            let o = c.feed(ch, 0, &mut ev);
            assert!(o.len().is_multiple_of(OUT_BUF) || o.len() == plain.len() % OUT_BUF);
            n += o.len();
        }
        n += c.finish(0, &mut ev).len();
        assert_eq!(n, plain.len());
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn bomb_is_stopped() {
        // Two gzip layers multiply the ratio past 2048:1.
        let plain = vec![0u8; 4 << 20];
        let z = gz(&gz(&plain));
        let mut c = Chain::new(&[Coding::Gzip, Coding::Gzip]);
        let mut ev = Vec::new();
        let mut total = 0usize;
        for ch in z.chunks(512) {
            total += c.feed(ch, 1 << 10, &mut ev).len();
        }
        total += c.finish(1 << 10, &mut ev).len();
        // 4 MiB from ~4 KiB is past 2048:1 once past the 1 KiB limit.
        assert!(ev.contains(&DecompressEvent::Bomb));
        assert!(total < plain.len());
    }

    #[test]
    fn two_layers() {
        let plain = b"layered ".repeat(100);
        let inner = gz(&plain);
        let outer = gz(&inner);
        let mut c = Chain::new(&[Coding::Gzip, Coding::Gzip]);
        let mut ev = Vec::new();
        let mut out = c.feed(&outer, 0, &mut ev);
        out.extend(c.finish(0, &mut ev));
        assert_eq!(out, plain);
    }
}
