//! What a machine has, read from sysfs and procfs under a root directory (`/` for this
//! machine; tests build a small tree of the same files). Every reader tolerates missing and
//! malformed files: a fact that cannot be read is `None`, and the check says so.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Linux capability numbers the capture methods need.
pub mod cap {
    /// Raw sockets (AF_PACKET).
    pub const NET_RAW: u32 = 13;
    /// Locking memory (DPDK, AF_PACKET rings).
    pub const IPC_LOCK: u32 = 14;
    /// Device and hugepage access (DPDK with vfio).
    pub const SYS_ADMIN: u32 = 21;
}

/// Longest file read from sysfs or procfs (`/proc/self/status` is the largest, a few KiB).
const MAX_FILE: u64 = 1 << 20;

/// A machine's hardware and privileges, as files describe them.
#[derive(Debug, Clone)]
pub struct Machine {
    root: PathBuf,
    /// Cores this process may run on (its affinity mask); `None` when not this machine.
    allowed: Option<BTreeSet<usize>>,
    /// Whether `probed` was built with DPDK.
    pub dpdk_built: bool,
}

/// A PCI device as sysfs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDevice {
    /// The kernel driver bound to it, if any (`vfio-pci`, `mlx5_core`, `ice` …).
    pub driver: Option<String>,
    /// Its NUMA node (`None` when the machine reports -1 or nothing).
    pub numa_node: Option<u32>,
}

/// A kernel network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// `up`, `down`, `unknown` …
    pub operstate: String,
    /// RX queues the kernel gives it.
    pub rx_queues: usize,
}

impl Machine {
    /// This machine.
    pub fn local(dpdk_built: bool) -> Machine {
        let allowed = rustix::process::sched_getaffinity(None).ok().map(|set| {
            (0..rustix::process::CpuSet::MAX_CPU)
                .filter(|c| set.is_set(*c))
                .collect()
        });
        Machine {
            root: PathBuf::from("/"),
            allowed,
            dpdk_built,
        }
    }

    /// A machine described by the files under `root` (`root/sys/...`, `root/proc/...`).
    pub fn at(root: &Path, dpdk_built: bool) -> Machine {
        Machine {
            root: root.to_owned(),
            allowed: None,
            dpdk_built,
        }
    }

    fn read(&self, rel: &str) -> Option<String> {
        use std::io::Read;
        let f = fs::File::open(self.root.join(rel)).ok()?;
        let mut s = String::new();
        f.take(MAX_FILE).read_to_string(&mut s).ok()?;
        Some(s.trim().to_owned())
    }

    fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).exists()
    }

    /// Online cores (`/sys/devices/system/cpu/online`).
    pub fn online_cores(&self) -> Option<BTreeSet<usize>> {
        parse_cpu_list(&self.read("sys/devices/system/cpu/online")?)
    }

    /// Cores this process may use: online and in its affinity mask.
    pub fn usable_cores(&self) -> Option<BTreeSet<usize>> {
        let online = self.online_cores()?;
        Some(match &self.allowed {
            Some(a) => online.intersection(a).copied().collect(),
            None => online,
        })
    }

    /// The NUMA node of a core (`cpuN/nodeM`), if the machine says.
    pub fn core_node(&self, core: usize) -> Option<u32> {
        let dir = self.root.join(format!("sys/devices/system/cpu/cpu{core}"));
        let rd = fs::read_dir(dir).ok()?;
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name.strip_prefix("node") {
                if let Ok(n) = n.parse() {
                    return Some(n);
                }
            }
        }
        None
    }

    /// NUMA nodes online.
    pub fn numa_nodes(&self) -> Option<BTreeSet<usize>> {
        parse_cpu_list(&self.read("sys/devices/system/node/online")?)
    }

    /// RAM in bytes (`MemTotal`).
    pub fn mem_total(&self) -> Option<u64> {
        meminfo_kib(&self.read("proc/meminfo")?, "MemTotal:").map(|k| k.saturating_mul(1024))
    }

    /// Hugepages of `size` bytes: (configured, free).
    pub fn hugepages(&self, size: u64) -> Option<(u64, u64)> {
        let dir = format!("sys/kernel/mm/hugepages/hugepages-{}kB", size / 1024);
        let nr = self.read(&format!("{dir}/nr_hugepages"))?.parse().ok()?;
        let free = self.read(&format!("{dir}/free_hugepages"))?.parse().ok()?;
        Some((nr, free))
    }

    /// A PCI device, if present.
    pub fn pci(&self, addr: &str) -> Option<PciDevice> {
        let rel = format!("sys/bus/pci/devices/{addr}");
        if !self.exists(&rel) {
            return None;
        }
        let driver = fs::read_link(self.root.join(format!("{rel}/driver")))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        let numa_node = self
            .read(&format!("{rel}/numa_node"))
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|n| u32::try_from(n).ok());
        Some(PciDevice { driver, numa_node })
    }

    /// A kernel interface, if present.
    pub fn iface(&self, name: &str) -> Option<Interface> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return None;
        }
        let rel = format!("sys/class/net/{name}");
        if !self.exists(&rel) {
            return None;
        }
        let rx_queues = fs::read_dir(self.root.join(format!("{rel}/queues")))
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                    .count()
            })
            .unwrap_or(1);
        Some(Interface {
            operstate: self
                .read(&format!("{rel}/operstate"))
                .unwrap_or_else(|| "unknown".into()),
            rx_queues,
        })
    }

    /// Whether this process has a capability (effective set of `/proc/self/status`).
    pub fn has_cap(&self, cap: u32) -> Option<bool> {
        let status = self.read("proc/self/status")?;
        let hex = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))?
            .trim();
        let bits = u64::from_str_radix(hex, 16).ok()?;
        Some(bits & (1u64 << cap) != 0)
    }

    /// Whether a file exists (vdev arguments, capture files).
    pub fn file_exists(&self, path: &str) -> bool {
        // Relative paths are the caller's working directory, absolute ones are under the root.
        let p = Path::new(path);
        if p.is_absolute() {
            self.root.join(p.strip_prefix("/").unwrap_or(p)).exists()
        } else {
            p.exists()
        }
    }
}

/// Parses `0-3,8,10-11` (sysfs CPU and node lists). `None` for malformed text or a range
/// wider than [`super::MAX_CORES`].
pub fn parse_cpu_list(s: &str) -> Option<BTreeSet<usize>> {
    let mut out = BTreeSet::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let n: usize = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if b < a || b - a > super::MAX_CORES || b > 1 << 20 {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
}

/// Formats a set as `0-3,8`.
pub fn format_cpu_list(set: &BTreeSet<usize>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

fn meminfo_kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cpu_lists() {
        let s = parse_cpu_list("0-3,8,10-11\n").unwrap();
        assert_eq!(s.len(), 7);
        assert_eq!(format_cpu_list(&s), "0-3,8,10-11");
        assert!(parse_cpu_list("3-1").is_none());
        assert!(parse_cpu_list("0-99999999").is_none());
        assert!(parse_cpu_list("x").is_none());
        assert_eq!(parse_cpu_list("").unwrap().len(), 0);
    }

    #[test]
    fn this_machine_reads() {
        let m = Machine::local(false);
        let cores = m.usable_cores().unwrap();
        assert!(!cores.is_empty());
        assert!(m.mem_total().unwrap() > 1 << 20);
        assert!(m.iface("lo").is_some());
        assert!(m.iface("../etc").is_none());
    }
}
