//! AF_PACKET capture with a TPACKET_V3 memory-mapped ring, fanout across workers, promiscuous
//! mode, an optional classic BPF filter, and the kernel's drop counters.
//!
//! The ring is `block_nr` blocks of `block_size` bytes shared with the kernel. A block belongs
//! to us from the moment its `block_status` has `TP_STATUS_USER` until we write
//! `TP_STATUS_KERNEL` back; only in between do we make a slice of it, and the frames handed to
//! the caller borrow from that slice, so no frame outlives its block. Everything inside a block
//! (packet count, offsets, lengths) is untrusted and bounds-checked by [`parse_block`], which
//! is safe code.
//!
//! Layouts are those of `linux/if_packet.h` (a stable kernel ABI); offsets are spelled out
//! rather than taken from `libc` structs so they can be checked against the header at a
//! glance.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use types::Timestamp;

use crate::RawPacket;

// linux/if_packet.h and linux/if_ether.h
const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_FANOUT: libc::c_int = 18;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const TPACKET_V3: libc::c_int = 2;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
const ETH_P_ALL: u16 = 0x0003;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

// Offsets in `struct tpacket_block_desc` (version, offset_to_priv, then tpacket_hdr_v1).
const BD_STATUS: usize = 8;
const BD_NUM_PKTS: usize = 12;
const BD_FIRST: usize = 16;
// Offsets in `struct tpacket3_hdr`.
const H_NEXT: usize = 0;
const H_SEC: usize = 4;
const H_NSEC: usize = 8;
const H_SNAPLEN: usize = 12;
const H_LEN: usize = 16;
const H_STATUS: usize = 20;
const H_MAC: usize = 24;
const H_VLAN_TCI: usize = 32;
const H_VLAN_TPID: usize = 36;
const H_SIZE: usize = 48;

/// How to open an AF_PACKET ring.
#[derive(Debug, Clone)]
pub struct AfPacketConfig {
    /// Interface name.
    pub iface: String,
    /// Fanout group shared by the sockets of one capture (flows hashed symmetrically by the
    /// kernel, fragments reassembled first); `None` for a single socket.
    pub fanout_group: Option<u16>,
    /// Bytes per ring block (a power of two, a multiple of the page size).
    pub block_size: u32,
    /// Blocks in the ring.
    pub block_nr: u32,
    /// How long the kernel holds a partly filled block before handing it over.
    pub block_timeout_ms: u32,
    /// Put the interface in promiscuous mode.
    pub promisc: bool,
    /// A classic BPF program (as `tcpdump -ddd` prints it: code, jt, jf, k).
    pub bpf: Option<Vec<(u16, u8, u8, u32)>>,
}

impl AfPacketConfig {
    /// Defaults for `iface`: 64 blocks of 1 MiB (64 MiB per socket), 10 ms block timeout,
    /// promiscuous.
    pub fn new(iface: &str) -> AfPacketConfig {
        AfPacketConfig {
            iface: iface.to_string(),
            fanout_group: None,
            block_size: 1 << 20,
            block_nr: 64,
            block_timeout_ms: 10,
            promisc: true,
            bpf: None,
        }
    }
}

/// Kernel counters of one socket, accumulated since it opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the kernel saw for this socket (`tp_packets`, which includes the drops).
    pub packets: u64,
    /// Packets the kernel dropped because the ring was full.
    pub drops: u64,
}

/// One AF_PACKET socket with its ring.
#[derive(Debug)]
pub struct AfPacketSource {
    fd: OwnedFd,
    ring: *mut u8,
    ring_len: usize,
    block_size: usize,
    block_nr: usize,
    next: usize,
    linktype: u32,
    stats: KernelStats,
    scratch: Vec<u8>,
    iface: String,
}

// SAFETY: the ring is owned by this value alone (no other handle to the mapping exists), so
// moving it to another thread moves the only access to it.
unsafe impl Send for AfPacketSource {}

fn last_err(what: &str, iface: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("af-packet {iface}: {what}: {e}"))
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: &T) -> libc::c_int {
    // SAFETY: `v` points to a live `T` of the size passed; the kernel only reads it.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (v as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    }
}

impl AfPacketSource {
    /// Opens a socket bound to the interface with a TPACKET_V3 ring (needs CAP_NET_RAW).
    pub fn open(cfg: &AfPacketConfig) -> io::Result<AfPacketSource> {
        let iface = &cfg.iface;
        let name = CString::new(iface.as_str())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name with NUL"))?;
        // SAFETY: `name` is a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("af-packet {iface}: no such interface"),
            ));
        }
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ALL.to_be()),
            )
        };
        if raw < 0 {
            return Err(last_err("socket (needs CAP_NET_RAW)", iface));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        if setsockopt(&fd, SOL_PACKET, PACKET_VERSION, &TPACKET_V3) != 0 {
            return Err(last_err("TPACKET_V3", iface));
        }
        if let Some(prog) = &cfg.bpf {
            attach_bpf(&fd, prog, iface)?;
        }
        let block_size = cfg.block_size as usize;
        let block_nr = cfg.block_nr as usize;
        let frame_size: u32 = 2048;
        // struct tpacket_req3
        let req: [u32; 7] = [
            cfg.block_size,
            cfg.block_nr,
            frame_size,
            cfg.block_size / frame_size * cfg.block_nr,
            cfg.block_timeout_ms,
            0,
            0,
        ];
        if setsockopt(&fd, SOL_PACKET, PACKET_RX_RING, &req) != 0 {
            return Err(last_err("ring setup (PACKET_RX_RING)", iface));
        }
        let ring_len = block_size * block_nr;
        // SAFETY: maps the ring the kernel just allocated for this socket; checked below.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(last_err("mmap of the ring", iface));
        }
        let mut src = AfPacketSource {
            fd,
            ring: ring.cast(),
            ring_len,
            block_size,
            block_nr,
            next: 0,
            linktype: crate::linktype::ETHERNET,
            stats: KernelStats::default(),
            scratch: Vec::with_capacity(crate::MAX_FRAME_LEN),
            iface: iface.to_owned(),
        };
        // struct sockaddr_ll
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
        let r = unsafe {
            libc::bind(
                src.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(last_err("bind", iface));
        }
        src.linktype = link_type(ifindex, iface);
        if cfg.promisc {
            // struct packet_mreq { int ifindex; unsigned short type, alen; unsigned char address[8]; }
            // SAFETY: all-zero is a valid packet_mreq.
            let mut mr: libc::packet_mreq = unsafe { std::mem::zeroed() };
            mr.mr_ifindex = ifindex as i32;
            mr.mr_type = PACKET_MR_PROMISC;
            if setsockopt(&src.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr) != 0 {
                return Err(last_err("promiscuous mode", iface));
            }
        }
        if let Some(g) = cfg.fanout_group {
            let v: u32 = u32::from(g) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
            if setsockopt(&src.fd, SOL_PACKET, PACKET_FANOUT, &v) != 0 {
                return Err(last_err("fanout group", iface));
            }
        }
        Ok(src)
    }

    /// The interface this socket reads.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Link type of the frames (Ethernet for Ethernet-like and loopback interfaces).
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// Waits up to `timeout` for the next block and calls `f` for each frame in it. Returns
    /// the number of frames (0 after a timeout).
    pub fn next_block(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(RawPacket<'_>),
    ) -> io::Result<usize> {
        let off = self.next * self.block_size;
        if off + self.block_size > self.ring_len {
            self.next = 0;
            return Ok(0);
        }
        // SAFETY: `off + BD_STATUS + 4 <= ring_len`; the status word is read volatile because
        // the kernel writes it concurrently.
        let status_ptr = unsafe { self.ring.add(off + BD_STATUS) }.cast::<u32>();
        // SAFETY: `status_ptr` is inside the mapping and 4-byte aligned (blocks are page
        // aligned).
        let mut status = unsafe { status_ptr.read_volatile() };
        if status & TP_STATUS_USER == 0 {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(e);
            }
            if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0
                && pfd.revents & libc::POLLIN == 0
            {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the interface went away",
                ));
            }
            // SAFETY: as above.
            status = unsafe { status_ptr.read_volatile() };
            if status & TP_STATUS_USER == 0 {
                return Ok(0);
            }
        }
        // The block is ours until we hand it back: see everything the kernel wrote into it.
        fence(Ordering::Acquire);
        // SAFETY: the block `[off, off + block_size)` lies inside the mapping, and the kernel
        // does not write to a block whose status is TP_STATUS_USER until we reset it below,
        // after the last use of this slice.
        let block = unsafe { std::slice::from_raw_parts(self.ring.add(off), self.block_size) };
        let n = parse_block(block, self.linktype, &mut self.scratch, f);
        fence(Ordering::Release);
        // SAFETY: as above; writing TP_STATUS_KERNEL returns the block to the kernel.
        unsafe { status_ptr.write_volatile(TP_STATUS_KERNEL) };
        self.next = (self.next + 1) % self.block_nr;
        Ok(n)
    }

    /// The kernel's counters, accumulated (the kernel resets them on every read).
    pub fn kernel_stats(&mut self) -> io::Result<KernelStats> {
        let mut st = [0u32; 3];
        let mut len = size_of_val(&st) as libc::socklen_t;
        // SAFETY: `st` has room for `len` bytes (struct tpacket_stats_v3).
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_STATISTICS,
                st.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        self.stats.packets += u64::from(st[0]);
        self.stats.drops += u64::from(st[1]);
        Ok(self.stats)
    }
}

impl Drop for AfPacketSource {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `open`; no slice of it outlives `next_block`.
        unsafe {
            libc::munmap(self.ring.cast(), self.ring_len);
        }
    }
}

fn attach_bpf(fd: &OwnedFd, prog: &[(u16, u8, u8, u32)], iface: &str) -> io::Result<()> {
    if prog.is_empty() || prog.len() > 4096 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("af-packet {iface}: a BPF program has 1 to 4096 instructions"),
        ));
    }
    let mut insns: Vec<libc::sock_filter> = prog
        .iter()
        .map(|&(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
        .collect();
    let fprog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_mut_ptr(),
    };
    if setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog) != 0 {
        return Err(last_err(
            "BPF filter (the kernel refused the program)",
            iface,
        ));
    }
    Ok(())
}

/// The pcap link type of an interface, from its ARPHRD type in sysfs.
fn link_type(_ifindex: u32, iface: &str) -> u32 {
    let t = std::fs::read_to_string(format!("/sys/class/net/{iface}/type"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1);
    match t {
        // ARPHRD_NONE (tun): raw IP.
        65534 => crate::linktype::RAW,
        // ARPHRD_ETHER, ARPHRD_LOOPBACK and the rest deliver an Ethernet header.
        _ => crate::linktype::ETHERNET,
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_ne_bytes)
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    b.get(off..off + 2)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map(u16::from_ne_bytes)
}

/// Walks the frames of one TPACKET_V3 block, calling `f` for each; returns how many. Every
/// offset and length is checked against the block: a corrupt block ends the walk, it never
/// reads outside. A VLAN tag the kernel took off the frame (offload) is put back, as Suricata
/// does, so the frame is the one on the wire.
pub fn parse_block(
    block: &[u8],
    linktype: u32,
    scratch: &mut Vec<u8>,
    f: &mut dyn FnMut(RawPacket<'_>),
) -> usize {
    let (Some(num), Some(first)) = (u32_at(block, BD_NUM_PKTS), u32_at(block, BD_FIRST)) else {
        return 0;
    };
    let mut off = first as usize;
    let mut n = 0;
    for _ in 0..num {
        if off < BD_FIRST + 4 || off + H_SIZE > block.len() {
            break;
        }
        let h = &block[off..];
        let (Some(next), Some(sec), Some(nsec), Some(snap), Some(len), Some(status), Some(mac)) = (
            u32_at(h, H_NEXT),
            u32_at(h, H_SEC),
            u32_at(h, H_NSEC),
            u32_at(h, H_SNAPLEN),
            u32_at(h, H_LEN),
            u32_at(h, H_STATUS),
            u16_at(h, H_MAC),
        ) else {
            break;
        };
        let start = mac as usize;
        let Some(data) = h.get(start..start.saturating_add(snap as usize)) else {
            break;
        };
        let ts = Timestamp::from_secs_nanos(u64::from(sec), u64::from(nsec.min(999_999_999)));
        let tci = u32_at(h, H_VLAN_TCI).unwrap_or(0);
        if status & TP_STATUS_VLAN_VALID != 0 && tci != 0 && data.len() >= 12 {
            let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 {
                u16_at(h, H_VLAN_TPID).unwrap_or(0x8100)
            } else {
                0x8100
            };
            scratch.clear();
            scratch.extend_from_slice(&data[..12]);
            scratch.extend_from_slice(&tpid.to_be_bytes());
            scratch.extend_from_slice(&(tci as u16).to_be_bytes());
            scratch.extend_from_slice(&data[12..]);
            f(RawPacket {
                ts,
                linktype,
                data: scratch,
                wire_len: len.saturating_add(4),
            });
        } else {
            f(RawPacket {
                ts,
                linktype,
                data,
                wire_len: len,
            });
        }
        n += 1;
        if next == 0 {
            break;
        }
        off = off.saturating_add(next as usize);
    }
    n
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn put32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// A block with `frames` laid out as the kernel does.
    fn block(frames: &[(&[u8], u32, u16)]) -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        put32(&mut b, BD_NUM_PKTS, frames.len() as u32);
        put32(&mut b, BD_FIRST, 48);
        let mut off = 48;
        for (i, (data, status, tci)) in frames.iter().enumerate() {
            let mac = 66u16;
            let size = (mac as usize + data.len() + 15) & !15;
            let next = if i + 1 == frames.len() {
                0
            } else {
                size as u32
            };
            put32(&mut b, off + H_NEXT, next);
            put32(&mut b, off + H_SEC, 100 + i as u32);
            put32(&mut b, off + H_NSEC, 5);
            put32(&mut b, off + H_SNAPLEN, data.len() as u32);
            put32(&mut b, off + H_LEN, data.len() as u32);
            put32(&mut b, off + H_STATUS, *status);
            b[off + H_MAC..off + H_MAC + 2].copy_from_slice(&mac.to_ne_bytes());
            put32(&mut b, off + H_VLAN_TCI, u32::from(*tci));
            b[off + mac as usize..off + mac as usize + data.len()].copy_from_slice(data);
            off += size;
        }
        b
    }

    #[test]
    fn frames_are_walked_and_vlan_tags_put_back() {
        let eth = [0xaau8; 60];
        let b = block(&[(&eth, 0, 0), (&eth, TP_STATUS_VLAN_VALID, 42)]);
        let mut got = Vec::new();
        let n = parse_block(&b, 1, &mut Vec::new(), &mut |p| {
            got.push((p.ts, p.data.to_vec(), p.wire_len))
        });
        assert_eq!(n, 2);
        assert_eq!(got[0].1, eth.to_vec());
        assert_eq!(got[0].0, Timestamp::from_secs_nanos(100, 5));
        assert_eq!(got[1].1.len(), 64);
        assert_eq!(&got[1].1[12..16], &[0x81, 0x00, 0, 42]);
        assert_eq!(got[1].2, 64);
    }

    #[test]
    fn corrupt_blocks_never_read_outside() {
        let eth = [1u8; 60];
        let mut b = block(&[(&eth, 0, 0), (&eth, 0, 0)]);
        // A count far above what is there, a snap length past the end, a wild next offset.
        put32(&mut b, BD_NUM_PKTS, 1_000_000);
        put32(&mut b, 48 + H_NEXT, 0xffff_fff0);
        let n = parse_block(&b, 1, &mut Vec::new(), &mut |_| {});
        assert_eq!(n, 1);
        put32(&mut b, 48 + H_SNAPLEN, 1 << 30);
        assert_eq!(parse_block(&b, 1, &mut Vec::new(), &mut |_| {}), 0);
        put32(&mut b, BD_FIRST, 4090);
        assert_eq!(parse_block(&b, 1, &mut Vec::new(), &mut |_| {}), 0);
        assert_eq!(parse_block(&b[..10], 1, &mut Vec::new(), &mut |_| {}), 0);
    }
}
