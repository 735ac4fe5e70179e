//! Hardware profiles: which NICs a probe reads, on which cores, with how much memory.
//!
//! A profile is a TOML file (schema below, examples in `hw-profiles/profiles/`). Three things
//! happen to it, in this order:
//!
//! 1. [`Profile::parse`] checks that it is well formed: unknown keys, a NIC that names no
//!    device or two, a NIC kind the capture method cannot read, and sizes that do not parse are
//!    errors naming the field (`nic[1].rx-queues`).
//! 2. [`check`] compares it with a machine ([`Machine`], read from `/sys` and `/proc`) field by
//!    field: devices present and bound to the right driver, cores that exist and are ours,
//!    hugepages free, memcaps within RAM. `probed hw-check` prints the findings; `probed run`
//!    refuses to start capture while any is a failure.
//! 3. [`apply`] turns it into what the data plane consumes: the worker and management cores,
//!    the DPDK EAL arguments, and the memcaps as `--set` keys.
//!
//! The profiles the project ships are compiled in ([`builtin`]); `-p NAME` finds them, and
//! `-p PATH` reads any other file.

pub mod apply;
pub mod check;
pub mod machine;
pub mod setup;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use apply::{apply, pin_current_thread, Applied};
pub use check::{check, Finding, Level};
pub use machine::Machine;

/// The profiles shipped with the probe, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("virtual", include_str!("../profiles/virtual.toml")),
    (
        "virtual-dpdk",
        include_str!("../profiles/virtual-dpdk.toml"),
    ),
    (
        "generic-afpacket",
        include_str!("../profiles/generic-afpacket.toml"),
    ),
    ("qemu-virt", include_str!("../profiles/qemu-virt.toml")),
    ("e810-10g", include_str!("../profiles/e810-10g.toml")),
    ("e810-25g", include_str!("../profiles/e810-25g.toml")),
    ("e810-40g", include_str!("../profiles/e810-40g.toml")),
    ("cx6-10g", include_str!("../profiles/cx6-10g.toml")),
    ("cx6-25g", include_str!("../profiles/cx6-25g.toml")),
    ("cx6-40g", include_str!("../profiles/cx6-40g.toml")),
];

/// The name `file = "..."` uses for the example capture compiled into `probed`.
pub const EXAMPLE_CAPTURE: &str = "@example";

/// Most RX queues per port (DPDK's own limit is 1024; no NIC we know exceeds 256).
pub const MAX_RX_QUEUES: u16 = 1024;
/// Most NICs in one profile.
pub const MAX_NICS: usize = 64;
/// Most cores named in one profile.
pub const MAX_CORES: usize = 4096;

/// A profile that could not be read, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not valid TOML, or a key the schema does not have.
    #[error("{origin}: {why}")]
    Syntax {
        /// File name or profile name.
        origin: String,
        /// The TOML parser's message (it names the line and the key).
        why: String,
    },
    /// A field with a value that cannot work.
    #[error("{origin}: {field}: {why}")]
    Field {
        /// File name or profile name.
        origin: String,
        /// The field, e.g. `nic[0].rx-queues`.
        field: String,
        /// What is wrong.
        why: String,
    },
    /// Neither a shipped profile nor a readable file.
    #[error("profile `{0}`: no such shipped profile ({names}) and no such file", names = builtin_names().join(", "))]
    NotFound(String),
}

/// How packets are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// DPDK poll-mode drivers: NICs bound to vfio-pci (or mlx5's bifurcated driver), or vdevs.
    Dpdk,
    /// AF_PACKET TPACKET_V3 rings on kernel interfaces, one fanout member per worker.
    Afpacket,
    /// Capture files, read once (tests, demonstrations).
    Pcap,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Dpdk => "dpdk",
            Method::Afpacket => "afpacket",
            Method::Pcap => "pcap",
        })
    }
}

/// The `[capture]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capture {
    /// How packets are read.
    pub method: Method,
    /// Extra EAL arguments (DPDK), appended to the ones the profile implies.
    #[serde(default)]
    pub eal: Vec<String>,
}

/// How a NIC spreads flows over its RX queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rss {
    /// Toeplitz with a symmetric key: both directions of a flow reach the same queue.
    #[default]
    Symmetric,
    /// No RSS (one queue).
    None,
}

/// One `[[nic]]`: exactly one of `pci`, `vdev`, `iface`, `file` names the device.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Nic {
    /// A name for messages and counters.
    pub name: String,
    /// The driver family: `ice`, `mlx5`, `i40e`, `ixgbe` … for PCI NICs (what the check
    /// expects the device to be bound to follows from it).
    #[serde(default)]
    pub driver: Option<String>,
    /// PCI address, `0000:3b:00.0` (DPDK).
    #[serde(default)]
    pub pci: Option<String>,
    /// A DPDK virtual device, `net_pcap0,rx_pcap=FILE` (DPDK).
    #[serde(default)]
    pub vdev: Option<String>,
    /// A kernel interface (AF_PACKET).
    #[serde(default)]
    pub iface: Option<String>,
    /// A capture file, or `@example` for the example compiled into `probed` (pcap).
    #[serde(default)]
    pub file: Option<String>,
    /// RX queues (DPDK: one per worker, each worker reading its queue on every port).
    #[serde(default = "one")]
    pub rx_queues: u16,
    /// RX descriptors per queue (DPDK).
    #[serde(default = "default_descriptors")]
    pub rx_descriptors: u16,
    /// Flow spreading over queues.
    #[serde(default)]
    pub rss: Rss,
    /// The NUMA node the NIC is attached to, when the profile expects one.
    #[serde(default)]
    pub numa_node: Option<u32>,
}

fn one() -> u16 {
    1
}

fn default_descriptors() -> u16 {
    1024
}

/// What a NIC entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NicKind<'a> {
    /// A PCI device.
    Pci(&'a str),
    /// A DPDK vdev.
    Vdev(&'a str),
    /// A kernel interface.
    Iface(&'a str),
    /// A capture file.
    File(&'a str),
}

impl Nic {
    /// The device this entry names (checked by [`Profile::parse`] to be exactly one).
    pub fn kind(&self) -> Option<NicKind<'_>> {
        match (&self.pci, &self.vdev, &self.iface, &self.file) {
            (Some(p), None, None, None) => Some(NicKind::Pci(p)),
            (None, Some(v), None, None) => Some(NicKind::Vdev(v)),
            (None, None, Some(i), None) => Some(NicKind::Iface(i)),
            (None, None, None, Some(f)) => Some(NicKind::File(f)),
            _ => None,
        }
    }
}

/// Cores: explicit numbers, or `"auto"` (every core this process may use but the management
/// ones; the management cores themselves on a one-core machine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CoreList {
    /// `"auto"`.
    Auto(AutoWord),
    /// `[2, 3, 4]`.
    List(Vec<usize>),
}

/// The word `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoWord {
    /// Let the machine decide.
    Auto,
}

/// The `[cores]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cores {
    /// Cores for management, the hunt ingest, the EVE writer and (DPDK) the main lcore.
    pub management: Vec<usize>,
    /// One worker per core; each owns a flow shard.
    pub workers: CoreList,
    /// The NUMA node every named core should be on (the NICs' node, for DPDK).
    #[serde(default)]
    pub numa_node: Option<u32>,
}

/// The `[memory]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Memory {
    /// Hugepage size, `2M` or `1G`.
    #[serde(default = "default_hugepage_size")]
    pub hugepage_size: String,
    /// Hugepages DPDK needs free; 0 runs DPDK without hugepages (`--no-huge`: tests only).
    #[serde(default)]
    pub hugepages: u64,
    /// Packet buffers per port (DPDK mbuf pool size).
    #[serde(default = "default_mbufs")]
    pub mbufs: u32,
}

fn default_hugepage_size() -> String {
    "2M".into()
}

fn default_mbufs() -> u32 {
    8191
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            hugepage_size: default_hugepage_size(),
            hugepages: 0,
            mbufs: default_mbufs(),
        }
    }
}

/// The `[memcaps]` table: totals over all workers (each worker gets its share).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Memcaps {
    /// Flows tracked at once.
    #[serde(default = "default_flows")]
    pub flows: u64,
    /// Memory for out-of-order TCP segments, e.g. `1G`.
    #[serde(default = "default_reassembly")]
    pub reassembly: String,
    /// Bytes reassembled per flow direction, e.g. `1M` (`0`: unlimited).
    #[serde(default = "default_depth")]
    pub stream_depth: String,
}

fn default_flows() -> u64 {
    65_536
}

fn default_reassembly() -> String {
    "256M".into()
}

fn default_depth() -> String {
    "1M".into()
}

impl Default for Memcaps {
    fn default() -> Self {
        Memcaps {
            flows: default_flows(),
            reassembly: default_reassembly(),
            stream_depth: default_depth(),
        }
    }
}

/// Bytes a tracked flow costs at most besides its reassembly data (flow record, parser and
/// detection state, table slot), used to check `memcaps.flows` against RAM.
pub const FLOW_BYTES: u64 = 1024;
/// Bytes one DPDK mbuf occupies (2 KiB data room plus headroom and header).
pub const MBUF_BYTES: u64 = 2176;

/// A hardware profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// How packets are read.
    pub capture: Capture,
    /// The NICs.
    #[serde(default, rename = "nic")]
    pub nics: Vec<Nic>,
    /// Core layout.
    pub cores: Cores,
    /// Hugepages and packet buffers.
    #[serde(default)]
    pub memory: Memory,
    /// Caps on input-driven memory.
    #[serde(default)]
    pub memcaps: Memcaps,
}

/// Sizes in bytes, parsed from a profile's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// `memory.hugepage-size`.
    pub hugepage: u64,
    /// `memcaps.reassembly`.
    pub reassembly: u64,
    /// `memcaps.stream-depth`.
    pub stream_depth: u64,
}

impl Profile {
    /// Parses and validates a profile's text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Profile, ProfileError> {
        let p: Profile = toml::from_str(text).map_err(|e| ProfileError::Syntax {
            origin: source.to_owned(),
            why: e.to_string().trim_end().replace('\n', " "),
        })?;
        p.validate(source)?;
        Ok(p)
    }

    /// A shipped profile by name, or a file.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::parse(name_or_path, text);
        }
        let path = Path::new(name_or_path);
        match std::fs::read_to_string(path) {
            Ok(text) => Profile::parse(name_or_path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ProfileError::NotFound(name_or_path.to_owned()))
            }
            Err(e) => Err(ProfileError::Syntax {
                origin: name_or_path.to_owned(),
                why: e.to_string(),
            }),
        }
    }

    /// The parsed sizes (validated by [`Profile::parse`]).
    pub fn sizes(&self) -> Sizes {
        let size = |s: &str| types::units::parse_size(s).unwrap_or(0);
        Sizes {
            hugepage: size(&self.memory.hugepage_size),
            reassembly: size(&self.memcaps.reassembly),
            stream_depth: size(&self.memcaps.stream_depth),
        }
    }

    fn validate(&self, source: &str) -> Result<(), ProfileError> {
        let err = |field: String, why: String| ProfileError::Field {
            origin: source.to_owned(),
            field,
            why,
        };
        if self.nics.is_empty() {
            return Err(err(
                "nic".into(),
                "a profile needs at least one [[nic]]".into(),
            ));
        }
        if self.nics.len() > MAX_NICS {
            return Err(err("nic".into(), format!("more than {MAX_NICS} NICs")));
        }
        for (i, n) in self.nics.iter().enumerate() {
            let f = |k: &str| format!("nic[{i}].{k}");
            let Some(kind) = n.kind() else {
                return Err(err(
                    format!("nic[{i}]"),
                    format!(
                        "`{}` must name exactly one of pci, vdev, iface, file",
                        n.name
                    ),
                ));
            };
            let fits = matches!(
                (self.capture.method, kind),
                (Method::Dpdk, NicKind::Pci(_) | NicKind::Vdev(_))
                    | (Method::Afpacket, NicKind::Iface(_))
                    | (Method::Pcap, NicKind::File(_))
            );
            if !fits {
                let need = match self.capture.method {
                    Method::Dpdk => "pci or vdev",
                    Method::Afpacket => "iface",
                    Method::Pcap => "file",
                };
                return Err(err(
                    format!("nic[{i}]"),
                    format!(
                        "capture method {} reads NICs given by {need}",
                        self.capture.method
                    ),
                ));
            }
            if let NicKind::Pci(addr) = kind {
                if !valid_pci(addr) {
                    return Err(err(
                        f("pci"),
                        format!("`{addr}` is not a PCI address like 0000:3b:00.0"),
                    ));
                }
            }
            if n.rx_queues == 0 || n.rx_queues > MAX_RX_QUEUES {
                return Err(err(
                    f("rx-queues"),
                    format!("{} is not within 1..={MAX_RX_QUEUES}", n.rx_queues),
                ));
            }
            if n.rss == Rss::None && n.rx_queues > 1 {
                return Err(err(
                    f("rss"),
                    "several RX queues need RSS to keep each flow on one queue".into(),
                ));
            }
            if !n.rx_descriptors.is_power_of_two() || n.rx_descriptors < 64 {
                return Err(err(
                    f("rx-descriptors"),
                    format!("{} is not a power of two ≥ 64", n.rx_descriptors),
                ));
            }
        }
        if self.cores.management.is_empty() {
            return Err(err(
                "cores.management".into(),
                "at least one core is needed".into(),
            ));
        }
        let named = self.cores.management.len()
            + match &self.cores.workers {
                CoreList::List(v) => v.len(),
                CoreList::Auto(_) => 0,
            };
        if named > MAX_CORES {
            return Err(err("cores".into(), format!("more than {MAX_CORES} cores")));
        }
        if let CoreList::List(v) = &self.cores.workers {
            if v.is_empty() {
                return Err(err(
                    "cores.workers".into(),
                    "at least one worker core (or \"auto\")".into(),
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for c in v.iter().chain(&self.cores.management) {
                if !seen.insert(*c) {
                    return Err(err(
                        "cores".into(),
                        format!(
                            "core {c} is listed twice (workers and management cores are disjoint)"
                        ),
                    ));
                }
            }
        }
        for (field, s) in [
            ("memory.hugepage-size", &self.memory.hugepage_size),
            ("memcaps.reassembly", &self.memcaps.reassembly),
            ("memcaps.stream-depth", &self.memcaps.stream_depth),
        ] {
            types::units::parse_size(s).map_err(|e| err(field.into(), e))?;
        }
        let hp = self.sizes().hugepage;
        if hp != 2 << 20 && hp != 1 << 30 {
            return Err(err(
                "memory.hugepage-size".into(),
                format!(
                    "`{}`: x86-64 hugepages are 2M or 1G",
                    self.memory.hugepage_size
                ),
            ));
        }
        if self.memcaps.flows == 0 {
            return Err(err("memcaps.flows".into(), "must be at least 1".into()));
        }
        if self.memory.mbufs < 512 {
            return Err(err(
                "memory.mbufs".into(),
                format!("{} is below 512", self.memory.mbufs),
            ));
        }
        Ok(())
    }
}

/// `DDDD:BB:DD.F` with hex digits.
fn valid_pci(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10) || c.is_ascii_hexdigit())
}

/// Fuzzing entry point: profile text from an operator's file must never panic the parser,
/// the check or the EAL argument builder.
#[cfg(any(test, fuzzing))]
pub fn fuzz_profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Profile::parse("fuzz", text) {
        let m = Machine::at(Path::new("/nonexistent"), true);
        let _ = check(&p, &m);
        let _ = apply::eal_args(&p, Some("/x.pcap"), "f");
        let _ = p.sizes();
    }
}

/// The shipped profiles' names.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn every_shipped_profile_parses() {
        for (name, text) in BUILTIN {
            let p = Profile::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&p.name, name, "the name inside {name}.toml");
            assert!(!p.description.is_empty(), "{name} has a description");
        }
    }

    fn err_of(text: &str) -> String {
        Profile::parse("t", text).unwrap_err().to_string()
    }

    const BASE: &str = r#"
name = "t"
[capture]
method = "dpdk"
[cores]
management = [0]
workers = [1]
"#;

    #[test]
    fn bad_profiles_name_the_field() {
        let e = err_of(&format!("{BASE}[[nic]]\nname = \"a\"\npci = \"3b:00.0\"\n"));
        assert!(e.contains("nic[0].pci"), "{e}");
        let e = err_of(&format!(
            "{BASE}[[nic]]\nname = \"a\"\npci = \"0000:3b:00.0\"\nvdev = \"net_null0\"\n"
        ));
        assert!(e.contains("nic[0]") && e.contains("exactly one"), "{e}");
        let e = err_of(&format!("{BASE}[[nic]]\nname = \"a\"\niface = \"eth0\"\n"));
        assert!(e.contains("reads NICs given by pci or vdev"), "{e}");
        let e = err_of(&format!(
            "{BASE}[[nic]]\nname = \"a\"\nvdev = \"net_null0\"\nrx-queues = 0\n"
        ));
        assert!(e.contains("nic[0].rx-queues"), "{e}");
        let e = err_of(&format!(
            "{BASE}[[nic]]\nname = \"a\"\nvdev = \"net_null0\"\nrx-descriptors = 1000\n"
        ));
        assert!(e.contains("nic[0].rx-descriptors"), "{e}");
        let e = err_of(&format!(
            "{BASE}[[nic]]\nname = \"a\"\nvdev = \"net_null0\"\n[memcaps]\nreassembly = \"4Q\"\n"
        ));
        assert!(e.contains("memcaps.reassembly"), "{e}");
        let e = err_of(&format!(
            "{BASE}[[nic]]\nname = \"a\"\nvdev = \"net_null0\"\nspeed = 10\n"
        ));
        assert!(e.contains("unknown field") && e.contains("speed"), "{e}");
        let e = err_of(&BASE.replace("workers = [1]", "workers = [0]").to_string());
        assert!(e.contains("nic"), "{e}");
        let e = err_of(&format!(
            "{}[[nic]]\nname = \"a\"\nvdev = \"net_null0\"\n",
            BASE.replace("workers = [1]", "workers = [0]")
        ));
        assert!(e.contains("core 0 is listed twice"), "{e}");
        assert!(matches!(
            Profile::load("no-such-profile"),
            Err(ProfileError::NotFound(_))
        ));
    }

    #[test]
    fn fuzz_entry_takes_the_shipped_profiles() {
        for (_, text) in BUILTIN {
            fuzz_profile(text.as_bytes());
        }
        fuzz_profile(b"name = 1\n[[nic]]\n");
    }

    #[test]
    fn auto_workers() {
        let p = Profile::parse(
            "t",
            &format!(
                "{}[[nic]]\nname = \"a\"\nvdev = \"net_null0\"\n",
                BASE.replace("workers = [1]", "workers = \"auto\"")
            ),
        )
        .unwrap();
        assert_eq!(p.cores.workers, CoreList::Auto(AutoWord::Auto));
    }
}
