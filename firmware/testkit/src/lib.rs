//! Dev-only builders: Ethernet/IPv4/IPv6/TCP/UDP frames with correct checksums, whole TCP
//! conversations (handshake, segmented data both ways, close), and a pcap writer.
//!
//! Never shipped in the image; used by tests, fuzz seeds, benchmarks and to build the small
//! example capture in `testdata/pcaps/`.
#![forbid(unsafe_code)]

use std::io::{self, Write};

use types::Timestamp;

/// An IP endpoint: address bytes (4 or 16) and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ep {
    /// IPv4 (4 bytes used) or IPv6 address.
    pub addr: [u8; 16],
    /// True for IPv6.
    pub v6: bool,
    /// Port.
    pub port: u16,
}

impl Ep {
    /// An IPv4 endpoint.
    pub fn v4(a: [u8; 4], port: u16) -> Ep {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&a);
        Ep {
            addr,
            v6: false,
            port,
        }
    }
    /// An IPv6 endpoint.
    pub fn v6(a: [u8; 16], port: u16) -> Ep {
        Ep {
            addr: a,
            v6: true,
            port,
        }
    }
    fn ip(&self) -> &[u8] {
        if self.v6 {
            &self.addr
        } else {
            &self.addr[..4]
        }
    }
}

fn csum_add(sum: &mut u32, b: &[u8]) {
    let mut it = b.chunks_exact(2);
    for c in &mut it {
        *sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [x] = it.remainder() {
        *sum += u32::from(*x) << 8;
    }
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Wraps an L4 segment (`proto`, with its checksum field at `ck_at`, zeroed) in IP and
/// Ethernet, filling in every checksum.
pub fn ip_frame(src: &Ep, dst: &Ep, proto: u8, mut l4: Vec<u8>, ck_at: Option<usize>) -> Vec<u8> {
    if let Some(at) = ck_at {
        let mut sum = 0u32;
        csum_add(&mut sum, src.ip());
        csum_add(&mut sum, dst.ip());
        sum += u32::from(proto) + l4.len() as u32;
        csum_add(&mut sum, &l4);
        let ck = csum_fold(sum);
        let ck = if proto == 17 && ck == 0 { 0xffff } else { ck };
        l4[at..at + 2].copy_from_slice(&ck.to_be_bytes());
    }
    let mut f = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];
    if src.v6 {
        f.extend_from_slice(&[0x86, 0xdd]);
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        f.push(proto);
        f.push(64);
        f.extend_from_slice(&src.addr);
        f.extend_from_slice(&dst.addr);
    } else {
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + l4.len()) as u16;
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0]);
        h.extend_from_slice(src.ip());
        h.extend_from_slice(dst.ip());
        let mut sum = 0u32;
        csum_add(&mut sum, &h);
        let ck = csum_fold(sum);
        h[10..12].copy_from_slice(&ck.to_be_bytes());
        f.extend_from_slice(&h);
    }
    f.extend_from_slice(&l4);
    f
}

/// A TCP segment frame.
pub fn tcp_frame(src: &Ep, dst: &Ep, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&src.port.to_be_bytes());
    t.extend_from_slice(&dst.port.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    ip_frame(src, dst, 6, t, Some(16))
}

/// A UDP datagram frame.
pub fn udp_frame(src: &Ep, dst: &Ep, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&src.port.to_be_bytes());
    u.extend_from_slice(&dst.port.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    ip_frame(src, dst, 17, u, Some(6))
}

pub mod scenario;

/// TCP flag bits.
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// Frames with timestamps, written out as a pcap file.
#[derive(Debug, Default, Clone)]
pub struct Capture {
    /// (time, frame) in capture order.
    pub frames: Vec<(Timestamp, Vec<u8>)>,
}

impl Capture {
    /// Appends a frame.
    pub fn push(&mut self, ts: Timestamp, frame: Vec<u8>) {
        self.frames.push((ts, frame));
    }

    /// Writes a microsecond pcap (Ethernet).
    pub fn write_pcap(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        w.write_all(&2u16.to_le_bytes())?;
        w.write_all(&4u16.to_le_bytes())?;
        w.write_all(&[0; 8])?;
        w.write_all(&262_144u32.to_le_bytes())?;
        w.write_all(&1u32.to_le_bytes())?;
        for (ts, f) in &self.frames {
            w.write_all(&(ts.secs() as u32).to_le_bytes())?;
            w.write_all(&ts.subsec_micros().to_le_bytes())?;
            w.write_all(&(f.len() as u32).to_le_bytes())?;
            w.write_all(&(f.len() as u32).to_le_bytes())?;
            w.write_all(f)?;
        }
        Ok(())
    }

    /// The pcap as bytes.
    pub fn to_pcap(&self) -> Vec<u8> {
        let mut v = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_pcap(&mut v);
        v
    }
}

/// Builds a TCP conversation between a client and a server, segment by segment.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// Client endpoint.
    pub client: Ep,
    /// Server endpoint.
    pub server: Ep,
    cseq: u32,
    sseq: u32,
    /// Current time.
    pub ts: Timestamp,
    /// Time step between packets, in microseconds.
    pub step_us: u64,
    /// Maximum segment size used by [`Conversation::send`].
    pub mss: usize,
}

impl Conversation {
    /// A conversation starting at `ts`.
    pub fn new(client: Ep, server: Ep, ts: Timestamp) -> Conversation {
        Conversation {
            client,
            server,
            cseq: 1_000,
            sseq: 50_000,
            ts,
            step_us: 1_000,
            mss: 1_400,
        }
    }

    fn tick(&mut self) -> Timestamp {
        self.ts = Timestamp(self.ts.0 + self.step_us * 1_000);
        self.ts
    }

    /// SYN, SYN/ACK, ACK.
    pub fn handshake(&mut self, cap: &mut Capture) {
        let (c, s) = (self.client, self.server);
        let t = self.tick();
        cap.push(t, tcp_frame(&c, &s, self.cseq, 0, flags::SYN, b""));
        let t = self.tick();
        cap.push(
            t,
            tcp_frame(
                &s,
                &c,
                self.sseq,
                self.cseq + 1,
                flags::SYN | flags::ACK,
                b"",
            ),
        );
        self.cseq += 1;
        self.sseq += 1;
        let t = self.tick();
        cap.push(t, tcp_frame(&c, &s, self.cseq, self.sseq, flags::ACK, b""));
    }

    /// Sends `data` from the client (`to_server`) or the server, in MSS-sized segments, each
    /// acknowledged by the peer.
    pub fn send(&mut self, cap: &mut Capture, to_server: bool, data: &[u8]) {
        for chunk in data.chunks(self.mss.max(1)) {
            let t = self.tick();
            let (c, s) = (self.client, self.server);
            if to_server {
                cap.push(
                    t,
                    tcp_frame(&c, &s, self.cseq, self.sseq, flags::ACK | flags::PSH, chunk),
                );
                self.cseq = self.cseq.wrapping_add(chunk.len() as u32);
                let t = self.tick();
                cap.push(t, tcp_frame(&s, &c, self.sseq, self.cseq, flags::ACK, b""));
            } else {
                cap.push(
                    t,
                    tcp_frame(&s, &c, self.sseq, self.cseq, flags::ACK | flags::PSH, chunk),
                );
                self.sseq = self.sseq.wrapping_add(chunk.len() as u32);
                let t = self.tick();
                cap.push(t, tcp_frame(&c, &s, self.cseq, self.sseq, flags::ACK, b""));
            }
        }
    }

    /// A raw segment from one side at an explicit sequence offset (relative to the next
    /// expected byte), without acknowledgement: for overlap and reordering tests.
    pub fn raw(&mut self, cap: &mut Capture, to_server: bool, rel: i64, data: &[u8]) {
        let t = self.tick();
        let (c, s) = (self.client, self.server);
        if to_server {
            let seq = (i64::from(self.cseq) + rel) as u32;
            cap.push(t, tcp_frame(&c, &s, seq, self.sseq, flags::ACK, data));
        } else {
            let seq = (i64::from(self.sseq) + rel) as u32;
            cap.push(t, tcp_frame(&s, &c, seq, self.cseq, flags::ACK, data));
        }
    }

    /// Advances one side's sequence number as if `n` bytes had been sent.
    pub fn skip(&mut self, to_server: bool, n: u32) {
        if to_server {
            self.cseq = self.cseq.wrapping_add(n);
        } else {
            self.sseq = self.sseq.wrapping_add(n);
        }
    }

    /// FIN from the client, FIN/ACK from the server, last ACK.
    pub fn close(&mut self, cap: &mut Capture) {
        let (c, s) = (self.client, self.server);
        let t = self.tick();
        cap.push(
            t,
            tcp_frame(&c, &s, self.cseq, self.sseq, flags::FIN | flags::ACK, b""),
        );
        self.cseq += 1;
        let t = self.tick();
        cap.push(
            t,
            tcp_frame(&s, &c, self.sseq, self.cseq, flags::FIN | flags::ACK, b""),
        );
        self.sseq += 1;
        let t = self.tick();
        cap.push(t, tcp_frame(&c, &s, self.cseq, self.sseq, flags::ACK, b""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_builds_frames() {
        let mut cap = Capture::default();
        let mut cv = Conversation::new(
            Ep::v4([10, 0, 0, 1], 40000),
            Ep::v4([10, 0, 0, 2], 80),
            Timestamp::from_secs_nanos(1_700_000_000, 0),
        );
        cv.handshake(&mut cap);
        cv.send(&mut cap, true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        cv.close(&mut cap);
        assert_eq!(cap.frames.len(), 3 + 2 + 3);
        let pcap = cap.to_pcap();
        assert_eq!(&pcap[..4], &0xa1b2_c3d4u32.to_le_bytes());
    }
}

/// A `Write` sink whose clones share one buffer: hand a clone to code that takes a
/// `Box<dyn Write + Send>` (a replay's EVE output) and read what it wrote with
/// [`SharedBuf::contents`].
#[derive(Debug, Clone, Default)]
pub struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuf {
    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
