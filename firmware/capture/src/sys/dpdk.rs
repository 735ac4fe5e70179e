//! DPDK capture: EAL set-up, ports with N RX queues and symmetric RSS, and one
//! [`DpdkSource`] per worker reading its queue on every port.
//!
//! Invariants the unsafe code relies on:
//! - The EAL is initialised once per process ([`init`] refuses a second call); nothing else
//!   here runs before it succeeded.
//! - A [`Port`] is configured and started before any [`DpdkSource`] holds it, and stopped and
//!   closed only when the last holder drops it (it is reference-counted); its mempool outlives
//!   it.
//! - Each (port, queue) pair is read by exactly one source, on one thread at a time (a source
//!   is `Send` but not `Sync`), as DPDK's lock-free RX path requires.
//! - An mbuf's bytes are lent to the packet callback only until the callback returns; the
//!   mbuf is freed right after, and never touched again.
//!
//! Frames in one buffer are handed over without copying; chained mbufs (jumbo frames) are
//! assembled by the safe [`crate::chain::gather`] into a per-source scratch buffer.

use std::ffi::{CStr, CString};
use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use dpdk_sys as ffi;
use types::Timestamp;

use crate::chain::{gather, MAX_CHAIN_SEGS};
use crate::{linktype, RawPacket};

/// Packets taken from a queue per RX burst.
pub const BURST: usize = 32;
/// Empty polls before a source starts sleeping between polls (a pinned probe core would
/// spin; a shared CI machine must not).
const SPIN_POLLS: u32 = 256;
/// Sleep between polls once the queue has been quiet for [`SPIN_POLLS`].
const IDLE_SLEEP: Duration = Duration::from_micros(100);

/// A symmetric Toeplitz key: `0x6d5a` repeated makes the hash of (src, dst) equal the hash of
/// (dst, src), so both directions of a flow reach one queue.
static SYMMETRIC_RSS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
];

/// Buffer size (data room with headroom) for capture-file vdevs: a 9,600-byte jumbo frame
/// and DPDK's 128-byte headroom, rounded up.
const JUMBO_BUF_SIZE: u16 = 9856;

static EAL_STARTED: AtomicBool = AtomicBool::new(false);

fn rte_error(what: &str, code: i32) -> io::Error {
    let code = code.abs();
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated
    // string for any error number.
    let msg = unsafe { CStr::from_ptr(ffi::rte_strerror(code)) };
    io::Error::other(format!(
        "{what}: {} (rte_errno {code})",
        msg.to_string_lossy()
    ))
}

fn last_error(what: &str) -> io::Error {
    // SAFETY: probe_errno reads DPDK's per-thread rte_errno; it has no preconditions.
    rte_error(what, unsafe { ffi::probe_errno() })
}

/// Initialises DPDK's EAL with `args` (program name first). Once per process: DPDK cannot
/// be initialised twice. Returns the number of ports it found.
pub fn init(args: &[String]) -> io::Result<u16> {
    if EAL_STARTED.swap(true, Ordering::SeqCst) {
        return Err(io::Error::other(
            "DPDK's EAL is already initialised in this process (rte_eal_init works once)",
        ));
    }
    let owned: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<_, _>>()
        .map_err(|_| io::Error::other("EAL arguments: a NUL byte in an argument"))?;
    // The EAL keeps pointers into argv for the life of the process: the strings are leaked
    // on purpose (once per process, a few hundred bytes).
    let owned: &'static [CString] = Box::leak(owned.into_boxed_slice());
    let mut argv: Vec<*mut std::os::raw::c_char> =
        owned.iter().map(|c| c.as_ptr().cast_mut()).collect();
    let argc = i32::try_from(argv.len()).map_err(|_| io::Error::other("too many EAL arguments"))?;
    argv.push(std::ptr::null_mut());
    let argv: &'static mut [*mut std::os::raw::c_char] = Box::leak(argv.into_boxed_slice());
    // SAFETY: argv holds argc valid NUL-terminated strings followed by NULL, all leaked so
    // they outlive the EAL; the swap above makes this the only call in the process.
    let r = unsafe { ffi::rte_eal_init(argc, argv.as_mut_ptr()) };
    if r < 0 {
        return Err(last_error("rte_eal_init"));
    }
    // SAFETY: the EAL is initialised.
    Ok(unsafe { ffi::rte_eth_dev_count_avail() })
}

/// How a port is set up.
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// RX queues (one per worker).
    pub rx_queues: u16,
    /// Descriptors per RX queue (adjusted to what the device accepts).
    pub rx_descriptors: u16,
    /// Packet buffers in the port's pool (raised to what the queues need).
    pub mbufs: u32,
    /// Spread flows over queues with the symmetric key.
    pub symmetric_rss: bool,
    /// Kernel interfaces behind `net_af_packet` vdevs, by vdev name (`net_af_packet0` →
    /// `eth1`): that driver does not report its ring's drops, so they are counted as the
    /// interface's received packets minus the port's.
    pub kernel_ifaces: Vec<(String, String)>,
}

/// A started port, shared by the sources reading its queues.
#[derive(Debug)]
pub struct Port {
    /// DPDK port id.
    pub id: u16,
    /// Device name (`net_pcap0`, `0000:3b:00.0`).
    pub name: String,
    /// Driver name (`net_pcap`, `net_ice`, `mlx5_pci`).
    pub driver: String,
    /// RX queues set up.
    pub rx_queues: u16,
    /// Where the RX timestamp lives in an mbuf and the flag saying it is set (net_pcap).
    timestamp: Option<(i32, u64)>,
    /// A kernel interface whose RX counter (at start) bounds what the port should have got.
    kernel_rx: Option<(std::path::PathBuf, u64)>,
    pool: *mut ffi::rte_mempool,
}

// SAFETY: a Port is only a port id and a mempool pointer; DPDK's ethdev control calls and the
// mempool are usable from any thread, and the RX queues are partitioned among sources (one
// per queue, see the module invariants).
unsafe impl Send for Port {}
// SAFETY: as above; shared access only reads the id, names and stats.
unsafe impl Sync for Port {}

/// Port counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets the NIC dropped because the RX queues were full.
    pub imissed: u64,
    /// Erroneous packets.
    pub ierrors: u64,
    /// RX mbuf allocation failures.
    pub rx_nombuf: u64,
}

impl Port {
    /// Configures and starts port `id`.
    pub fn open(id: u16, cfg: &PortConfig) -> io::Result<Arc<Port>> {
        if !EAL_STARTED.load(Ordering::SeqCst) {
            return Err(io::Error::other("DPDK: the EAL is not initialised"));
        }
        // SAFETY: the EAL is initialised; the call only reads the port table.
        if unsafe { ffi::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(io::Error::other(format!("DPDK port {id} does not exist")));
        }
        let mut info = ffi::rte_eth_dev_info::default();
        // SAFETY: `info` is a valid, writable rte_eth_dev_info; the port is valid.
        let r = unsafe { ffi::rte_eth_dev_info_get(id, &mut info) };
        if r != 0 {
            return Err(rte_error(&format!("port {id}: rte_eth_dev_info_get"), r));
        }
        let driver = if info.driver_name.is_null() {
            String::from("?")
        } else {
            // SAFETY: driver_name points to the driver's static NUL-terminated name.
            unsafe { CStr::from_ptr(info.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        let mut name_buf = [0 as std::os::raw::c_char; 64];
        // SAFETY: name_buf is writable and larger than RTE_ETH_NAME_MAX_LEN (64 with NUL).
        let name = if unsafe { ffi::rte_eth_dev_get_name_by_port(id, name_buf.as_mut_ptr()) } == 0 {
            // SAFETY: on success the buffer holds a NUL-terminated name.
            unsafe { CStr::from_ptr(name_buf.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        } else {
            format!("port{id}")
        };
        let label = format!("port {id} ({name})");
        let what = |s: &str| format!("{label}: {s}");
        if cfg.rx_queues == 0 || cfg.rx_queues > info.max_rx_queues {
            return Err(io::Error::other(what(&format!(
                "{} RX queue(s) asked for, the device has {}",
                cfg.rx_queues, info.max_rx_queues
            ))));
        }
        let mut conf = ffi::rte_eth_conf::default();
        if cfg.rx_queues > 1 && cfg.symmetric_rss {
            conf.rxmode.mq_mode = ffi::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = SYMMETRIC_RSS_KEY.as_ptr().cast_mut();
            conf.rx_adv_conf.rss_conf.rss_key_len = SYMMETRIC_RSS_KEY.len() as u8;
            // SAFETY: a pure function returning a constant.
            conf.rx_adv_conf.rss_conf.rss_hf =
                unsafe { ffi::probe_rss_ip_tcp_udp() } & info.flow_type_rss_offloads;
        }
        // net_pcap stamps every mbuf with the file's time (a dynamic field, whatever the
        // offload flags say); NIC clocks are not wall time, so other drivers get the time of
        // the burst.
        let want_ts = driver == "net_pcap";
        // One TX queue: never used for sending, but net_tap and net_af_xdp need one set up.
        // SAFETY: `conf` is a valid configuration that outlives the call (the RSS key is
        // static).
        let r = unsafe { ffi::rte_eth_dev_configure(id, cfg.rx_queues, 1, &conf) };
        if r != 0 {
            return Err(rte_error(&what("rte_eth_dev_configure"), r));
        }
        let mut nb_rx = cfg.rx_descriptors;
        let mut nb_tx: u16 = 512;
        // SAFETY: both pointers are valid u16s.
        let r = unsafe { ffi::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut nb_rx, &mut nb_tx) };
        if r != 0 {
            return Err(rte_error(&what("rte_eth_dev_adjust_nb_rx_tx_desc"), r));
        }
        // SAFETY: a valid port.
        let socket = unsafe { ffi::rte_eth_dev_socket_id(id) };
        let socket = if socket < 0 { 0 } else { socket };
        let need = u32::from(cfg.rx_queues) * (u32::from(nb_rx) + BURST as u32) + 1024;
        // Buffers hold a whole frame where they can: capture-file vdevs hold jumbo frames
        // (net_pcap's infinite_rx cannot chain), NICs use DPDK's default 2 KiB and chain.
        // SAFETY: a pure function returning a constant.
        let default_room = unsafe { ffi::probe_mbuf_default_buf_size() };
        let room = if driver == "net_pcap" {
            JUMBO_BUF_SIZE
        } else {
            u16::try_from(default_room).unwrap_or(u16::MAX)
        };
        let n = cfg.mbufs.max(need);
        let pool_name =
            CString::new(format!("probe_rx_{id}")).map_err(|_| io::Error::other("pool name"))?;
        // SAFETY: a valid name; sizes within DPDK's limits (cache 256 ≤ n/1.5 as n ≥ 1024).
        let pool =
            unsafe { ffi::rte_pktmbuf_pool_create(pool_name.as_ptr(), n, 256, 0, room, socket) };
        if pool.is_null() {
            return Err(last_error(&what(&format!("mbuf pool of {n}"))));
        }
        let mut port = Port {
            id,
            name,
            driver,
            rx_queues: cfg.rx_queues,
            timestamp: None,
            kernel_rx: None,
            pool,
        };
        for q in 0..cfg.rx_queues {
            // SAFETY: configured port, valid queue index, live pool; NULL rx_conf means the
            // driver's defaults.
            let r = unsafe {
                ffi::rte_eth_rx_queue_setup(id, q, nb_rx, socket as u32, std::ptr::null(), pool)
            };
            if r != 0 {
                return Err(rte_error(&what(&format!("RX queue {q}")), r));
            }
        }
        // SAFETY: configured port, queue 0 of the one TX queue; NULL means defaults.
        let r =
            unsafe { ffi::rte_eth_tx_queue_setup(id, 0, nb_tx, socket as u32, std::ptr::null()) };
        if r != 0 {
            return Err(rte_error(&what("TX queue"), r));
        }
        // SAFETY: all queues are set up.
        let r = unsafe { ffi::rte_eth_dev_start(id) };
        if r != 0 {
            return Err(rte_error(&what("rte_eth_dev_start"), r));
        }
        // Not every device has a promiscuous mode (vdevs): failure is not an error.
        // SAFETY: a started port.
        let _ = unsafe { ffi::rte_eth_promiscuous_enable(id) };
        // SAFETY: a started port; stats reset so counters start with this run.
        let _ = unsafe { ffi::rte_eth_stats_reset(id) };
        if let Some((_, iface)) = cfg.kernel_ifaces.iter().find(|(n, _)| *n == port.name) {
            let path = std::path::Path::new("/sys/class/net")
                .join(iface)
                .join("statistics/rx_packets");
            port.kernel_rx = read_counter(&path).map(|base| (path, base));
        }
        if want_ts {
            // SAFETY: static NUL-terminated names; a NULL params pointer is allowed.
            let off = unsafe {
                ffi::rte_mbuf_dynfield_lookup(
                    ffi::RTE_MBUF_DYNFIELD_TIMESTAMP_NAME.as_ptr().cast(),
                    std::ptr::null_mut(),
                )
            };
            // SAFETY: as above.
            let bit = unsafe {
                ffi::rte_mbuf_dynflag_lookup(
                    ffi::RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME.as_ptr().cast(),
                    std::ptr::null_mut(),
                )
            };
            if off >= 0 && (0..64).contains(&bit) {
                port.timestamp = Some((off, 1u64 << bit));
            }
        }
        Ok(Arc::new(port))
    }

    /// The port's counters.
    pub fn stats(&self) -> io::Result<PortStats> {
        let mut s = ffi::rte_eth_stats::default();
        // SAFETY: a started port and a writable stats struct.
        let r = unsafe { ffi::rte_eth_stats_get(self.id, &mut s) };
        if r != 0 {
            return Err(rte_error(&format!("port {} stats", self.id), r));
        }
        // net_af_packet: what the interface received and the port did not get was dropped
        // by the packet ring (exact once the ring is drained; while running, frames still in
        // the ring count as dropped until they are read).
        let ring_drops = self
            .kernel_rx
            .as_ref()
            .and_then(|(path, base)| read_counter(path).map(|now| now.saturating_sub(*base)))
            .map_or(0, |got| got.saturating_sub(s.ipackets));
        Ok(PortStats {
            ipackets: s.ipackets,
            imissed: s.imissed.max(ring_drops),
            ierrors: s.ierrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Whether the link is up (vdevs report up; a `net_af_packet` port is down once its
    /// kernel interface is gone).
    pub fn link_up(&self) -> bool {
        if let Some((path, _)) = &self.kernel_rx {
            if !path.exists() {
                return false;
            }
        }
        let mut l = ffi::rte_eth_link::default();
        // SAFETY: a started port and a writable link struct.
        let r = unsafe { ffi::rte_eth_link_get_nowait(self.id, &mut l) };
        r == 0 && l.link_status() != 0
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        // SAFETY: no source holds the port any more (this is the last reference), so no RX
        // burst runs; the pool is freed after the port that used it is closed.
        unsafe {
            ffi::rte_eth_dev_stop(self.id);
            ffi::rte_eth_dev_close(self.id);
            ffi::rte_mempool_free(self.pool);
        }
    }
}

/// Counters of one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DpdkCounters {
    /// Packets taken from the queues.
    pub packets: u64,
    /// Chains with something off (see [`ChainAnomaly`]).
    pub chain_anomalies: u64,
}

/// One worker's view: queue `queue` of every port.
#[derive(Debug)]
pub struct DpdkSource {
    ports: Vec<Arc<Port>>,
    queue: u16,
    registered: bool,
    scratch: Vec<u8>,
    idle_polls: u32,
    counters: DpdkCounters,
    /// Whether this source reports the ports' drop counters and link changes (one source
    /// does).
    reports_port_drops: bool,
    /// Each port's link state when last looked at.
    links: Vec<bool>,
    last_link_check: Option<Instant>,
}

impl DpdkSource {
    /// A source for `queue` of `ports`; `reports_port_drops` for exactly one source.
    pub fn new(ports: Vec<Arc<Port>>, queue: u16, reports_port_drops: bool) -> io::Result<Self> {
        for p in &ports {
            if queue >= p.rx_queues {
                return Err(io::Error::other(format!(
                    "port {} ({}) has {} RX queue(s), no queue {queue}",
                    p.id, p.name, p.rx_queues
                )));
            }
        }
        Ok(DpdkSource {
            queue,
            registered: false,
            scratch: Vec::new(),
            idle_polls: 0,
            counters: DpdkCounters::default(),
            reports_port_drops,
            links: vec![true; ports.len()],
            last_link_check: None,
            ports,
        })
    }

    /// This source's counters.
    pub fn counters(&self) -> DpdkCounters {
        self.counters
    }

    /// The ports' drops (imissed + ierrors + rx_nombuf) when this source is the one that
    /// reports them, else 0.
    pub fn port_drops(&self) -> io::Result<u64> {
        if !self.reports_port_drops {
            return Ok(0);
        }
        let mut drops = 0;
        for p in &self.ports {
            let s = p.stats()?;
            drops += s.imissed + s.ierrors + s.rx_nombuf;
        }
        Ok(drops)
    }

    /// Ports whose link went down or came back since the last call (at most once a second;
    /// only the source that reports the ports' counters looks). The other ports keep being
    /// read either way.
    pub fn link_changes(&mut self) -> Vec<String> {
        if !self.reports_port_drops
            || self
                .last_link_check
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return Vec::new();
        }
        self.last_link_check = Some(Instant::now());
        let mut out = Vec::new();
        for (i, p) in self.ports.iter().enumerate() {
            let up = p.link_up();
            if up != self.links[i] {
                self.links[i] = up;
                out.push(format!(
                    "DPDK port {} ({}): link {}",
                    p.id,
                    p.name,
                    if up {
                        "up again"
                    } else {
                        "down; the other ports go on"
                    }
                ));
            }
        }
        out
    }

    /// The ports this source reads.
    pub fn ports(&self) -> &[Arc<Port>] {
        &self.ports
    }

    /// Polls every port's queue until packets come or `timeout` passes, handing each packet
    /// to `f`. Returns how many were handed over.
    pub fn next_burst(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(RawPacket<'_>),
    ) -> io::Result<usize> {
        if !self.registered {
            // Gives this (non-EAL) thread an lcore id, so the mempool's per-lcore cache
            // serves it. Failure (no free lcore id) only costs speed.
            // SAFETY: the EAL is initialised (a Port exists); registering is per thread.
            let _ = unsafe { ffi::rte_thread_register() };
            self.registered = true;
        }
        let start = Instant::now();
        loop {
            let mut n = 0;
            for i in 0..self.ports.len() {
                n += self.burst(i, f);
            }
            if n > 0 {
                self.idle_polls = 0;
                return Ok(n);
            }
            self.idle_polls = self.idle_polls.saturating_add(1);
            if start.elapsed() >= timeout {
                return Ok(0);
            }
            if self.idle_polls > SPIN_POLLS {
                std::thread::sleep(IDLE_SLEEP);
            }
        }
    }

    fn burst(&mut self, port_index: usize, f: &mut dyn FnMut(RawPacket<'_>)) -> usize {
        let port = &self.ports[port_index];
        let mut bufs: [*mut ffi::rte_mbuf; BURST] = [std::ptr::null_mut(); BURST];
        // SAFETY: the port is started, this source is the only reader of (port, queue), and
        // `bufs` has room for BURST pointers.
        let got =
            unsafe { ffi::probe_rx_burst(port.id, self.queue, bufs.as_mut_ptr(), BURST as u16) };
        let got = usize::from(got).min(BURST);
        if got == 0 {
            return 0;
        }
        let wall = wall_now();
        for &m in &bufs[..got] {
            // SAFETY: rx_burst returned `got` valid mbufs, owned by us until freed below.
            let (pkt_len, nb_segs, first) = unsafe {
                (
                    ffi::probe_mbuf_pkt_len(m),
                    ffi::probe_mbuf_nb_segs(m),
                    segment(m),
                )
            };
            let ts = port
                .timestamp
                .and_then(|(off, flag)| {
                    // SAFETY: `m` is valid; the offset came from the dynfield registry and
                    // is read only when the driver set the flag.
                    let flags = unsafe { ffi::probe_mbuf_ol_flags(m) };
                    (flags & flag != 0)
                        // SAFETY: as above.
                        .then(|| unsafe { ffi::probe_mbuf_dynfield_u64(m, off) })
                })
                .map(pcap_timestamp)
                .unwrap_or(wall);
            if nb_segs <= 1 {
                let len = first.len().min(pkt_len as usize);
                f(RawPacket {
                    ts,
                    linktype: linktype::ETHERNET,
                    data: &first[..len],
                    wire_len: pkt_len,
                });
            } else {
                let g = gather(
                    ChainIter {
                        next: m,
                        left: MAX_CHAIN_SEGS + 1,
                        _chain: PhantomData,
                    },
                    pkt_len,
                    &mut self.scratch,
                );
                if g.anomaly.is_some() {
                    self.counters.chain_anomalies += 1;
                }
                f(RawPacket {
                    ts,
                    linktype: linktype::ETHERNET,
                    data: &self.scratch[..g.len],
                    wire_len: pkt_len,
                });
            }
            // SAFETY: the callback has returned, nothing borrows the mbuf's bytes any more;
            // freeing the head frees the whole chain.
            unsafe { ffi::probe_pktmbuf_free(m) };
        }
        self.counters.packets += got as u64;
        got
    }
}

/// The bytes of one mbuf segment.
///
/// # Safety
/// `m` must be a valid mbuf that stays alive (not freed) while the slice is used.
unsafe fn segment<'a>(m: *const ffi::rte_mbuf) -> &'a [u8] {
    // SAFETY: per the contract, `m` is valid; data points at data_len readable bytes in the
    // mbuf's buffer.
    unsafe {
        let p = ffi::probe_mbuf_data(m);
        let n = usize::from(ffi::probe_mbuf_data_len(m));
        if p.is_null() || n == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(p, n)
        }
    }
}

/// Walks a chain, at most `left` segments; `'a` is the time the chain stays alive.
struct ChainIter<'a> {
    next: *const ffi::rte_mbuf,
    left: usize,
    _chain: PhantomData<&'a ()>,
}

impl<'a> Iterator for ChainIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.next.is_null() || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let m = self.next;
        // SAFETY: `m` is a segment of a chain received by rx_burst and not yet freed: the
        // iterator lives only inside `burst`, which frees the chain after `gather` returned.
        unsafe {
            self.next = ffi::probe_mbuf_next(m);
            Some(segment(m))
        }
    }
}

/// A kernel counter file (sysfs).
fn read_counter(path: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs(), u64::from(d.subsec_nanos()))
}

/// net_pcap's RX timestamp: microseconds since the epoch in DPDK 22.11 (nanoseconds in later
/// releases); an epoch time in µs is below 10^17 until the year 5138.
fn pcap_timestamp(v: u64) -> Timestamp {
    if v < 100_000_000_000_000_000 {
        Timestamp::from_secs_nanos(v / 1_000_000, (v % 1_000_000) * 1000)
    } else {
        Timestamp::from_secs_nanos(v / 1_000_000_000, v % 1_000_000_000)
    }
}
