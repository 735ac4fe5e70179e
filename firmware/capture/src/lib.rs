//! Packet sources: where frames enter the probe.
//!
//! Layer: the first stage of the dataplane. A source yields [`RawPacket`]s (a borrowed frame,
//! its capture time, link type and original length) and counts what it could not deliver. It
//! never parses beyond the frame boundary.
//!
//! Live capture: [`AfPacketSource`] (AF_PACKET with a TPACKET_V3 ring and fanout) and, with
//! the `dpdk` feature, `dpdk::DpdkSource` (DPDK ports, one RX queue per worker, symmetric
//! RSS). Their `unsafe` is confined to `src/sys/`; assembling chained buffers is the safe
//! [`chain::gather`].
//!
//! This crate holds the offline source, [`FileSource`]: pcap (both byte orders, µs and ns
//! resolution, gzip-compressed too) and pcapng (several sections and interfaces, a link type and
//! timestamp resolution per interface). Several files form one continuous time line. Live sources
//! (AF_PACKET, DPDK) implement the same lending shape so the pipeline only gains a new source.
//!
//! Hostile files: every length read from a file is checked against [`MAX_FRAME_LEN`] and
//! [`MAX_BLOCK_LEN`]; a file that is not a capture, or is truncated, becomes a [`FileError`]
//! and the source goes on with the next file. Nothing here panics on file contents.
//!
//! Why our own reader rather than `pcap-parser`: the pipeline needs a lending reader over one
//! reusable buffer (one copy from the kernel, none after), per-interface link types and
//! `if_tsresol`/`if_tsoffset` folded into one timestamp type, and file errors that never stop
//! the run; the format itself is small.
#![deny(unsafe_code)]

pub mod chain;
mod file;
pub mod linktype;
#[cfg(target_os = "linux")]
mod sys;

#[cfg(target_os = "linux")]
pub use sys::afpacket::{AfPacketConfig, AfPacketSource, KernelStats};
/// DPDK ports and sources (feature `dpdk`).
#[cfg(feature = "dpdk")]
pub use sys::dpdk;

pub use file::{FileError, FileSource, SourceStats};

/// Fuzz entry points (see `firmware/fuzz`).
#[doc(hidden)]
pub use file::fuzzing;

/// Fuzz entry point for the AF_PACKET block walker (see `firmware/fuzz`).
#[doc(hidden)]
#[cfg(target_os = "linux")]
pub fn fuzz_afpacket_block(data: &[u8]) {
    let mut scratch = Vec::new();
    sys::afpacket::parse_block(data, linktype::ETHERNET, &mut scratch, &mut |p| {
        assert!(p.data.len() <= data.len() + 4);
    });
}
use types::Timestamp;

/// Largest frame we accept from a file (256 KiB, above any real MTU incl. jumbo and TSO
/// super-frames captured on the host). Larger records are skipped with a counted error.
pub const MAX_FRAME_LEN: usize = 256 * 1024;

/// Largest pcapng block we accept (frame cap plus room for options). A larger block length
/// means the file is corrupt; reading stops with a [`FileError`].
pub const MAX_BLOCK_LEN: usize = MAX_FRAME_LEN + 64 * 1024;

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type of the interface the frame came from (see [`linktype`]).
    pub linktype: u32,
    /// Captured bytes (may be shorter than `wire_len` when the capture had a snap length).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub wire_len: u32,
}
