//! What applying a profile means: the cores each thread runs on, the DPDK EAL arguments, and
//! the memcaps as settings keys (`--set` names), each worker getting its share of the totals.

use std::collections::BTreeSet;

use crate::machine::Machine;
use crate::{CoreList, NicKind, Profile, MBUF_BYTES};

/// A profile resolved against a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// One worker per entry, pinned to that core.
    pub workers: Vec<usize>,
    /// Management threads (ingest, EVE writer, management server, DPDK main lcore).
    pub management: Vec<usize>,
    /// Settings keys and values for the pipeline (per-worker shares of the memcaps).
    pub settings: Vec<(String, String)>,
}

/// The worker cores: the listed ones, or for `"auto"` every usable core but the management
/// ones (the management cores themselves when nothing else is left).
pub fn worker_cores(p: &Profile, m: &Machine) -> Result<Vec<usize>, String> {
    match &p.cores.workers {
        CoreList::List(v) => Ok(v.clone()),
        CoreList::Auto(_) => {
            let usable = m
                .usable_cores()
                .ok_or_else(|| "auto: cannot read the online cores".to_owned())?;
            let mgmt: BTreeSet<usize> = p.cores.management.iter().copied().collect();
            let mut w: Vec<usize> = usable.difference(&mgmt).copied().collect();
            if w.is_empty() {
                w = usable.into_iter().collect();
            }
            if w.is_empty() {
                return Err("auto: no usable core".into());
            }
            // DPDK: no more workers than queues (each worker reads one queue of every port).
            if p.capture.method == crate::Method::Dpdk {
                let q = p
                    .nics
                    .iter()
                    .map(|n| usize::from(n.rx_queues))
                    .min()
                    .unwrap_or(1);
                w.truncate(q.max(1));
            }
            Ok(w)
        }
    }
}

/// Resolves `p` on `m` (call after [`crate::check`] found no failure).
pub fn apply(p: &Profile, m: &Machine) -> Result<Applied, String> {
    let workers = worker_cores(p, m)?;
    let n = workers.len() as u64;
    let sizes = p.sizes();
    let settings = vec![
        (
            "flow.max-flows".to_owned(),
            p.memcaps.flows.div_ceil(n).max(1).to_string(),
        ),
        (
            "stream.reassembly.memcap".to_owned(),
            (sizes.reassembly / n).max(1 << 20).to_string(),
        ),
        (
            "stream.reassembly.depth".to_owned(),
            sizes.stream_depth.to_string(),
        ),
    ];
    Ok(Applied {
        workers,
        management: p.cores.management.clone(),
        settings,
    })
}

/// The EAL arguments for a DPDK profile (program name first). `example` is where the
/// compiled-in example capture was written, for vdevs that name `@example`; `prefix` keeps
/// this process's runtime files apart from other DPDK processes.
pub fn eal_args(p: &Profile, example: Option<&str>, prefix: &str) -> Vec<String> {
    let mut a = vec!["probed".to_owned()];
    let main = p.cores.management.first().copied().unwrap_or(0);
    // Only the main lcore is an EAL thread; workers are the probe's own threads, pinned by
    // it and registered with DPDK (rte_thread_register), so their count is not bounded by
    // the lcore list.
    a.push("-l".into());
    a.push(main.to_string());
    let mut pci = false;
    for nic in &p.nics {
        match nic.kind() {
            Some(NicKind::Pci(addr)) => {
                pci = true;
                a.push("-a".into());
                a.push(addr.to_owned());
            }
            Some(NicKind::Vdev(spec)) => {
                a.push("--vdev".into());
                a.push(match example {
                    Some(path) => spec.replace(crate::EXAMPLE_CAPTURE, path),
                    None => spec.to_owned(),
                });
            }
            _ => {}
        }
    }
    if !pci {
        a.push("--no-pci".into());
    }
    if p.memory.hugepages == 0 {
        // Packet pools out of ordinary memory: mbufs for every port plus room for rings and
        // the EAL's own structures. `--in-memory` does not combine with `--no-huge`.
        let pools = u64::from(p.memory.mbufs)
            .saturating_mul(MBUF_BYTES)
            .saturating_mul(p.nics.len() as u64);
        let mb = pools / (1 << 20) * 3 / 2 + 256;
        a.extend([
            "--no-huge".into(),
            "-m".into(),
            mb.to_string(),
            "--no-shconf".into(),
            format!("--file-prefix={prefix}"),
        ]);
    } else {
        a.push("--in-memory".into());
        a.push(format!("--file-prefix={prefix}"));
    }
    a.extend(p.capture.eal.iter().cloned());
    a
}

/// Pins the calling thread to one core.
pub fn pin_current_thread(core: usize) -> std::io::Result<()> {
    if core >= rustix::process::CpuSet::MAX_CPU {
        return Err(std::io::Error::other(format!(
            "core {core} is out of range"
        )));
    }
    let mut set = rustix::process::CpuSet::new();
    set.set(core);
    rustix::process::sched_setaffinity(None, &set).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn shares_and_eal() {
        let p = Profile::load("e810-25g").unwrap();
        let m = Machine::local(true);
        let a = apply(&p, &m).unwrap();
        assert_eq!(a.workers.len(), usize::from(p.nics[0].rx_queues));
        let flows: u64 = a.settings[0].1.parse().unwrap();
        assert!(flows * a.workers.len() as u64 >= p.memcaps.flows);
        let eal = eal_args(&p, None, "probed-1");
        assert!(eal
            .windows(2)
            .any(|w| w[0] == "-a" && w[1] == p.nics[0].pci.clone().unwrap()));
        assert!(eal.contains(&"--in-memory".to_owned()));

        let v = Profile::parse(
            "v",
            "name = \"v\"\n[capture]\nmethod = \"dpdk\"\n[[nic]]\nname = \"x\"\nvdev = \"net_pcap0,rx_pcap=@example\"\n[cores]\nmanagement = [0]\nworkers = [0]\n",
        );
        // Workers and management may not share a listed core.
        assert!(v.is_err());
        let v = Profile::parse(
            "v",
            "name = \"v\"\n[capture]\nmethod = \"dpdk\"\n[[nic]]\nname = \"x\"\nvdev = \"net_pcap0,rx_pcap=@example\"\n[cores]\nmanagement = [0]\nworkers = \"auto\"\n",
        )
        .unwrap();
        let eal = eal_args(&v, Some("/tmp/x.pcap"), "p");
        assert!(eal.contains(&"net_pcap0,rx_pcap=/tmp/x.pcap".to_owned()));
        assert!(eal.contains(&"--no-huge".to_owned()) && eal.contains(&"--no-pci".to_owned()));
    }

    #[test]
    fn pinning() {
        let m = Machine::local(false);
        let core = *m.usable_cores().unwrap().iter().next().unwrap();
        std::thread::spawn(move || {
            pin_current_thread(core).unwrap();
            let set = rustix::process::sched_getaffinity(None).unwrap();
            assert_eq!(set.count(), 1);
            assert!(set.is_set(core));
        })
        .join()
        .unwrap();
        assert!(pin_current_thread(usize::MAX).is_err());
    }
}
