//! Whether a machine can run a profile, field by field.
//!
//! Every field the machine can contradict gets one finding: `ok` with what was found, `warn`
//! for something that runs but not as intended (a NIC on another NUMA node, `--no-huge`), or
//! `fail` with the reason and, where there is one, the fix. A profile with any failure is
//! refused before capture starts.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::machine::{cap, format_cpu_list, Machine};
use crate::{CoreList, Method, NicKind, Profile, EXAMPLE_CAPTURE, FLOW_BYTES, MBUF_BYTES};

/// How a finding bears on running the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// As the profile says.
    Ok,
    /// Runs, but not as the profile intends.
    Warn,
    /// Cannot run.
    Fail,
}

/// One field's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The field, e.g. `nic[0].pci` or `memory.hugepages`.
    pub field: String,
    /// The verdict.
    pub level: Level,
    /// What was found, and for a failure, why and what would fix it.
    pub message: String,
}

/// Part of RAM the probe may plan to use (the rest is the kernel's, the page cache's and the
/// archive's).
pub const RAM_SHARE_PERCENT: u64 = 90;

/// The DPDK virtual devices the probe knows how to drive.
pub const VDEV_DRIVERS: &[&str] = &[
    "net_pcap",
    "net_af_packet",
    "net_tap",
    "net_ring",
    "net_null",
    "net_af_xdp",
    "net_memif",
];

/// Checks `p` against `m`.
pub fn check(p: &Profile, m: &Machine) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |field: &str, level: Level, message: String| {
        out.push(Finding {
            field: field.to_owned(),
            level,
            message,
        })
    };

    // The capture method: built in, and the privileges it needs.
    match p.capture.method {
        Method::Dpdk if !m.dpdk_built => push(
            "capture.method",
            Level::Fail,
            "dpdk: this probed was built without DPDK (cargo build -p probed --features dpdk)"
                .into(),
        ),
        Method::Dpdk => {
            let pci = p.nics.iter().any(|n| matches!(n.kind(), Some(NicKind::Pci(_))));
            match m.has_cap(cap::SYS_ADMIN) {
                Some(false) if pci => push(
                    "capture.method",
                    Level::Fail,
                    "dpdk with PCI devices needs root (CAP_SYS_ADMIN for vfio and hugepages)"
                        .into(),
                ),
                _ => push("capture.method", Level::Ok, "dpdk: built in".into()),
            }
        }
        Method::Afpacket => match m.has_cap(cap::NET_RAW) {
            Some(false) => push(
                "capture.method",
                Level::Fail,
                "afpacket needs CAP_NET_RAW (run as root, or `setcap cap_net_raw,cap_ipc_lock+ep probed`)"
                    .into(),
            ),
            Some(true) => push("capture.method", Level::Ok, "afpacket: CAP_NET_RAW held".into()),
            None => push(
                "capture.method",
                Level::Warn,
                "afpacket: cannot read this process's capabilities".into(),
            ),
        },
        Method::Pcap => push("capture.method", Level::Ok, "pcap: capture files".into()),
    }

    // Cores.
    let usable = m.usable_cores();
    let describe = |s: &Option<BTreeSet<usize>>| {
        s.as_ref()
            .map(format_cpu_list)
            .unwrap_or_else(|| "unknown".into())
    };
    let check_cores = |field: &str, cores: &[usize], out: &mut Vec<Finding>| {
        let Some(usable) = &usable else {
            out.push(Finding {
                field: field.into(),
                level: Level::Warn,
                message: "cannot read the online cores".into(),
            });
            return;
        };
        let missing: Vec<String> = cores
            .iter()
            .filter(|c| !usable.contains(c))
            .map(|c| c.to_string())
            .collect();
        if !missing.is_empty() {
            out.push(Finding {
                field: field.into(),
                level: Level::Fail,
                message: format!(
                    "core{} {} not online or not allowed here (usable cores: {})",
                    if missing.len() > 1 { "s" } else { "" },
                    missing.join(", "),
                    describe(&Some(usable.clone()))
                ),
            });
            return;
        }
        if let Some(want) = p.cores.numa_node {
            let off: Vec<String> = cores
                .iter()
                .filter(|c| m.core_node(**c).is_some_and(|n| n != want))
                .map(|c| c.to_string())
                .collect();
            if !off.is_empty() {
                out.push(Finding {
                    field: field.into(),
                    level: Level::Warn,
                    message: format!(
                        "core(s) {} are not on NUMA node {want} (cores.numa-node): cross-node memory traffic",
                        off.join(", ")
                    ),
                });
                return;
            }
        }
        out.push(Finding {
            field: field.into(),
            level: Level::Ok,
            message: format!(
                "cores {} online",
                format_cpu_list(&cores.iter().copied().collect())
            ),
        });
    };
    check_cores("cores.management", &p.cores.management, &mut out);
    let workers = crate::apply::worker_cores(p, m);
    match (&p.cores.workers, &workers) {
        (CoreList::List(v), _) => check_cores("cores.workers", v, &mut out),
        (CoreList::Auto(_), Ok(w)) => out.push(Finding {
            field: "cores.workers".into(),
            level: Level::Ok,
            message: format!(
                "auto: {} worker(s) on cores {}",
                w.len(),
                format_cpu_list(&w.iter().copied().collect())
            ),
        }),
        (CoreList::Auto(_), Err(e)) => out.push(Finding {
            field: "cores.workers".into(),
            level: Level::Fail,
            message: e.clone(),
        }),
    }
    if let Some(want) = p.cores.numa_node {
        match m.numa_nodes() {
            Some(nodes) if !nodes.contains(&(want as usize)) => out.push(Finding {
                field: "cores.numa-node".into(),
                level: Level::Fail,
                message: format!(
                    "NUMA node {want} does not exist (nodes: {})",
                    format_cpu_list(&nodes)
                ),
            }),
            _ => {}
        }
    }
    let n_workers = workers.as_ref().map(|w| w.len()).unwrap_or(0);

    // NICs.
    for (i, nic) in p.nics.iter().enumerate() {
        let field = |k: &str| format!("nic[{i}].{k}");
        match nic.kind() {
            Some(NicKind::Pci(addr)) => match m.pci(addr) {
                None => out.push(Finding {
                    field: field("pci"),
                    level: Level::Fail,
                    message: format!("{} ({addr}): no such PCI device", nic.name),
                }),
                Some(dev) => {
                    let mlx = nic.driver.as_deref() == Some("mlx5");
                    let bound = dev.driver.as_deref().unwrap_or("no driver");
                    let ok_driver = if mlx {
                        bound == "mlx5_core"
                    } else {
                        matches!(bound, "vfio-pci" | "uio_pci_generic" | "igb_uio")
                    };
                    let want = if mlx {
                        "mlx5_core (bifurcated)"
                    } else {
                        "vfio-pci"
                    };
                    out.push(Finding {
                        field: field("pci"),
                        level: if ok_driver { Level::Ok } else { Level::Fail },
                        message: if ok_driver {
                            format!("{} ({addr}) present, bound to {bound}", nic.name)
                        } else {
                            format!(
                                "{} ({addr}) is bound to {bound}, DPDK needs {want} (dpdk-devbind.py -b vfio-pci {addr})",
                                nic.name
                            )
                        },
                    });
                    let want_node = nic.numa_node.or(p.cores.numa_node);
                    if let (Some(want), Some(have)) = (want_node, dev.numa_node) {
                        if want != have {
                            out.push(Finding {
                                field: field("numa-node"),
                                level: Level::Warn,
                                message: format!(
                                    "{} is on NUMA node {have}, the profile expects {want}",
                                    nic.name
                                ),
                            });
                        }
                    }
                }
            },
            Some(NicKind::Vdev(spec)) => out.push(check_vdev(&field("vdev"), spec, m)),
            Some(NicKind::Iface(name)) => match m.iface(name) {
                None => out.push(Finding {
                    field: field("iface"),
                    level: Level::Fail,
                    message: format!("{}: no interface `{name}`", nic.name),
                }),
                Some(ifc) => out.push(Finding {
                    field: field("iface"),
                    level: if ifc.operstate == "down" {
                        Level::Warn
                    } else {
                        Level::Ok
                    },
                    message: format!(
                        "{name} present, {}, {} kernel RX queue(s)",
                        ifc.operstate, ifc.rx_queues
                    ),
                }),
            },
            Some(NicKind::File(f)) => {
                let ok = f == EXAMPLE_CAPTURE || m.file_exists(f);
                out.push(Finding {
                    field: field("file"),
                    level: if ok { Level::Ok } else { Level::Fail },
                    message: if f == EXAMPLE_CAPTURE {
                        "the example capture built into probed".into()
                    } else if ok {
                        format!("{f} exists")
                    } else {
                        format!("{f}: no such file")
                    },
                });
            }
            None => {}
        }
        // DPDK: worker w reads queue w of every port.
        if p.capture.method == Method::Dpdk && n_workers > 0 {
            let q = usize::from(nic.rx_queues);
            out.push(Finding {
                field: field("rx-queues"),
                level: if q == n_workers { Level::Ok } else { Level::Fail },
                message: if q == n_workers {
                    format!("{q} queue(s), one per worker")
                } else {
                    format!(
                        "{q} queue(s) but {n_workers} worker(s): each worker reads one queue of every port"
                    )
                },
            });
        }
    }

    // Hugepages.
    let sizes = p.sizes();
    if p.capture.method == Method::Dpdk {
        if p.memory.hugepages == 0 {
            out.push(Finding {
                field: "memory.hugepages".into(),
                level: Level::Warn,
                message: "0: DPDK runs without hugepages (--no-huge), for tests only".into(),
            });
        } else {
            let size_name = &p.memory.hugepage_size;
            match m.hugepages(sizes.hugepage) {
                None => out.push(Finding {
                    field: "memory.hugepage-size".into(),
                    level: Level::Fail,
                    message: format!("this machine has no {size_name} hugepages"),
                }),
                Some((_, free)) if free < p.memory.hugepages => out.push(Finding {
                    field: "memory.hugepages".into(),
                    level: Level::Fail,
                    message: format!(
                        "{} x {size_name} needed, {free} free (dpdk-hugepages.py --setup {}, or hugepages= on the kernel command line)",
                        p.memory.hugepages,
                        types::units::format_size(p.memory.hugepages.saturating_mul(sizes.hugepage))
                    ),
                }),
                Some((_, free)) => out.push(Finding {
                    field: "memory.hugepages".into(),
                    level: Level::Ok,
                    message: format!("{} x {size_name} needed, {free} free", p.memory.hugepages),
                }),
            }
        }
    }

    // Memory: flows, reassembly, packet buffers and hugepages must fit in RAM.
    let flows = p.memcaps.flows.saturating_mul(FLOW_BYTES);
    let ports = p.nics.len() as u64;
    let (hugepages, mbufs) = if p.capture.method == Method::Dpdk {
        let hp = p.memory.hugepages.saturating_mul(sizes.hugepage);
        // Without hugepages the mbuf pools come out of ordinary memory.
        let mb = if hp == 0 {
            u64::from(p.memory.mbufs)
                .saturating_mul(MBUF_BYTES)
                .saturating_mul(ports)
        } else {
            0
        };
        (hp, mb)
    } else {
        (0, 0)
    };
    let need = flows
        .saturating_add(sizes.reassembly)
        .saturating_add(hugepages)
        .saturating_add(mbufs);
    match m.mem_total() {
        None => out.push(Finding {
            field: "memcaps".into(),
            level: Level::Warn,
            message: "cannot read MemTotal".into(),
        }),
        Some(ram) => {
            let budget = ram / 100 * RAM_SHARE_PERCENT;
            let fs = types::units::format_size;
            let parts = format!(
                "flows {} ({}) + reassembly {}{}{}",
                p.memcaps.flows,
                fs(flows),
                fs(sizes.reassembly),
                if hugepages > 0 {
                    format!(" + hugepages {}", fs(hugepages))
                } else {
                    String::new()
                },
                if mbufs > 0 {
                    format!(" + mbufs {}", fs(mbufs))
                } else {
                    String::new()
                }
            );
            if need > budget {
                // Name the largest part: that is the one to lower.
                let field = [
                    (flows, "memcaps.flows"),
                    (sizes.reassembly, "memcaps.reassembly"),
                    (hugepages, "memory.hugepages"),
                    (mbufs, "memory.mbufs"),
                ]
                .into_iter()
                .max()
                .map(|(_, f)| f)
                .unwrap_or("memcaps");
                out.push(Finding {
                    field: field.into(),
                    level: Level::Fail,
                    message: format!(
                        "{parts} = {} is over {RAM_SHARE_PERCENT}% of RAM ({} of {})",
                        fs(need),
                        fs(budget),
                        fs(ram)
                    ),
                });
            } else {
                out.push(Finding {
                    field: "memcaps".into(),
                    level: Level::Ok,
                    message: format!("{parts} = {} of {} RAM", fs(need), fs(ram)),
                });
            }
        }
    }
    out
}

fn check_vdev(field: &str, spec: &str, m: &Machine) -> Finding {
    let mut parts = spec.split(',');
    let name = parts.next().unwrap_or("");
    let driver = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if !VDEV_DRIVERS.contains(&driver) {
        return Finding {
            field: field.into(),
            level: Level::Fail,
            message: format!(
                "`{name}`: unknown virtual device (known: {})",
                VDEV_DRIVERS.join(", ")
            ),
        };
    }
    for kv in parts {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let missing = match k {
            "rx_pcap" | "rx_pcap_file" if v != EXAMPLE_CAPTURE && !m.file_exists(v) => {
                Some(format!("{k}={v}: no such file"))
            }
            "iface" | "rx_iface" | "rx_iface_in" if m.iface(v).is_none() => {
                Some(format!("{k}={v}: no such interface"))
            }
            _ => None,
        };
        if let Some(why) = missing {
            return Finding {
                field: field.into(),
                level: Level::Fail,
                message: format!("{name}: {why}"),
            };
        }
    }
    Finding {
        field: field.into(),
        level: Level::Ok,
        message: format!("{name} ({driver})"),
    }
}

/// Whether any finding is a failure.
pub fn refused(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level == Level::Fail)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::fs;
    use std::path::Path;

    /// A small machine: 4 cores on one node, 8 GiB, 512 free 2M hugepages, an E810 port
    /// bound to vfio-pci, a ConnectX port on mlx5_core, and interface eth0.
    fn machine(root: &Path) -> Machine {
        let w = |rel: &str, text: &str| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        };
        w("sys/devices/system/cpu/online", "0-3\n");
        for c in 0..4 {
            fs::create_dir_all(root.join(format!("sys/devices/system/cpu/cpu{c}/node0"))).unwrap();
        }
        w("sys/devices/system/node/online", "0\n");
        w(
            "proc/meminfo",
            "MemTotal:        8388608 kB\nMemFree: 1 kB\n",
        );
        w(
            "proc/self/status",
            "Name:\tprobed\nCapEff:\t000001ffffffffff\n",
        );
        w(
            "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
            "512\n",
        );
        w(
            "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
            "512\n",
        );
        for (addr, drv) in [("0000:3b:00.0", "vfio-pci"), ("0000:5e:00.0", "mlx5_core")] {
            w(&format!("sys/bus/pci/devices/{addr}/numa_node"), "0\n");
            let d = root.join(format!("sys/bus/pci/drivers/{drv}"));
            fs::create_dir_all(&d).unwrap();
            std::os::unix::fs::symlink(&d, root.join(format!("sys/bus/pci/devices/{addr}/driver")))
                .unwrap();
        }
        w("sys/class/net/eth0/operstate", "up\n");
        fs::create_dir_all(root.join("sys/class/net/eth0/queues/rx-0")).unwrap();
        Machine::at(root, true)
    }

    fn profile(body: &str) -> Profile {
        Profile::parse("t", body).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fails(f: &[Finding]) -> Vec<(String, String)> {
        f.iter()
            .filter(|f| f.level == Level::Fail)
            .map(|f| (f.field.clone(), f.message.clone()))
            .collect()
    }

    const GOOD: &str = r#"
name = "t"
[capture]
method = "dpdk"
[[nic]]
name = "p0"
driver = "ice"
pci = "0000:3b:00.0"
rx-queues = 2
[[nic]]
name = "p1"
driver = "mlx5"
pci = "0000:5e:00.0"
rx-queues = 2
[cores]
management = [0]
workers = [2, 3]
numa-node = 0
[memory]
hugepages = 256
[memcaps]
flows = 100000
reassembly = "1G"
"#;

    #[test]
    fn a_fitting_profile_passes() {
        let dir = tempfile::tempdir().unwrap();
        let m = machine(dir.path());
        let f = check(&profile(GOOD), &m);
        assert!(!refused(&f), "{f:#?}");
        assert!(f
            .iter()
            .any(|f| f.field == "nic[1].pci" && f.message.contains("mlx5_core")));
    }

    #[test]
    fn each_misfit_is_refused_naming_its_field() {
        let dir = tempfile::tempdir().unwrap();
        let m = machine(dir.path());
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "0000:3b:00.0",
                "0000:af:00.0",
                "nic[0].pci",
                "no such PCI device",
            ),
            (
                "workers = [2, 3]",
                "workers = [2, 17]",
                "cores.workers",
                "17",
            ),
            (
                "management = [0]",
                "management = [9]",
                "cores.management",
                "9",
            ),
            (
                "hugepages = 256",
                "hugepages = 4096",
                "memory.hugepages",
                "4096 x 2M needed, 512 free",
            ),
            (
                "reassembly = \"1G\"",
                "reassembly = \"64G\"",
                "memcaps.reassembly",
                "over 90% of RAM",
            ),
            (
                "flows = 100000",
                "flows = 100000000",
                "memcaps.flows",
                "over 90% of RAM",
            ),
            (
                "numa-node = 0",
                "numa-node = 3",
                "cores.numa-node",
                "does not exist",
            ),
            (
                "hugepages = 256",
                "hugepages = 2\nhugepage-size = \"1G\"",
                "memory.hugepage-size",
                "no 1G hugepages",
            ),
            (
                "rx-queues = 2\n[[nic]]\nname = \"p1\"",
                "rx-queues = 4\n[[nic]]\nname = \"p1\"",
                "nic[0].rx-queues",
                "4 queue(s) but 2 worker(s)",
            ),
            (
                "driver = \"mlx5\"",
                "driver = \"mlx5x\"",
                "nic[1].pci",
                "DPDK needs vfio-pci",
            ),
        ];
        for (from, to, field, why) in cases {
            assert!(GOOD.contains(from), "{from}");
            let f = check(&profile(&GOOD.replacen(from, to, 1)), &m);
            let bad = fails(&f);
            assert!(
                bad.iter().any(|(fl, msg)| fl == field && msg.contains(why)),
                "{to}: expected {field} failing with `{why}`, got {bad:?}"
            );
        }
        // Not built with DPDK.
        let f = check(&profile(GOOD), &Machine::at(dir.path(), false));
        assert!(fails(&f)
            .iter()
            .any(|(fl, m)| fl == "capture.method" && m.contains("--features dpdk")));
    }

    #[test]
    fn afpacket_and_vdevs() {
        let dir = tempfile::tempdir().unwrap();
        let m = machine(dir.path());
        let afp = r#"
name = "a"
[capture]
method = "afpacket"
[[nic]]
name = "tap"
iface = "eth0"
[cores]
management = [0]
workers = "auto"
"#;
        let f = check(&profile(afp), &m);
        assert!(!refused(&f), "{f:#?}");
        assert!(f
            .iter()
            .any(|f| f.field == "cores.workers" && f.message.contains("3 worker(s) on cores 1-3")));
        let f = check(&profile(&afp.replace("eth0", "eth9")), &m);
        assert_eq!(fails(&f)[0].0, "nic[0].iface");
        // No CAP_NET_RAW.
        fs::write(
            dir.path().join("proc/self/status"),
            "CapEff:\t0000000000000000\n",
        )
        .unwrap();
        let f = check(&profile(afp), &m);
        assert_eq!(fails(&f)[0].0, "capture.method");

        let vdev = |spec: &str| {
            format!("name = \"v\"\n[capture]\nmethod = \"dpdk\"\n[[nic]]\nname = \"v\"\nvdev = \"{spec}\"\n[cores]\nmanagement = [0]\nworkers = [1]\n")
        };
        assert!(!refused(&check(&profile(&vdev("net_null0")), &m)));
        assert!(!refused(&check(
            &profile(&vdev("net_af_packet0,iface=eth0")),
            &m
        )));
        let f = check(&profile(&vdev("net_bogus0")), &m);
        assert_eq!(fails(&f)[0].0, "nic[0].vdev");
        let f = check(&profile(&vdev("net_pcap0,rx_pcap=/nonexistent.pcap")), &m);
        assert!(fails(&f)[0].1.contains("no such file"));
        let f = check(&profile(&vdev("net_af_packet0,iface=veth9")), &m);
        assert!(fails(&f)[0].1.contains("no such interface"));
    }
}
