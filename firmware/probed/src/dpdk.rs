//! DPDK capture sources for `probed run` (the `dpdk` feature): the EAL from the hardware
//! profile (or `--capture dpdk:"..."`), every port the EAL found with one RX queue per worker
//! and symmetric RSS, and one source per worker reading its queue on every port.

use anyhow::Result;

/// Initialises the EAL with `eal` (program name first), starts every port and opens one
/// source per worker.
#[cfg(feature = "dpdk")]
pub(crate) fn open(
    eal: &[String],
    workers: usize,
    rx_descriptors: u16,
    mbufs: u32,
) -> Result<Vec<Box<dyn pipeline::LiveSource>>> {
    use anyhow::{anyhow, Context};
    use capture::dpdk::{init, DpdkSource, Port, PortConfig};

    let queues = u16::try_from(workers).map_err(|_| anyhow!("{workers} workers: too many"))?;
    let n = init(eal).with_context(|| format!("DPDK EAL {}", eal[1..].join(" ")))?;
    if n == 0 {
        anyhow::bail!(
            "DPDK found no port: name devices with -a PCI_ADDRESS or --vdev (EAL arguments: {})",
            eal[1..].join(" ")
        );
    }
    let cfg = PortConfig {
        rx_queues: queues,
        rx_descriptors,
        mbufs,
        symmetric_rss: true,
        kernel_ifaces: crate::hw::af_packet_vdevs(&eal[1..]),
    };
    let mut ports = Vec::new();
    for id in 0..n {
        let p = Port::open(id, &cfg).context("DPDK")?;
        tracing::info!(
            "DPDK port {} {} ({}): {} RX queue(s), link {}",
            p.id,
            p.name,
            p.driver,
            p.rx_queues,
            if p.link_up() { "up" } else { "down" }
        );
        ports.push(p);
    }
    let mut sources: Vec<Box<dyn pipeline::LiveSource>> = Vec::new();
    for q in 0..queues {
        sources.push(Box::new(
            DpdkSource::new(ports.clone(), q, q == 0).context("DPDK")?,
        ));
    }
    Ok(sources)
}

/// Without the feature: a clear error.
#[cfg(not(feature = "dpdk"))]
pub(crate) fn open(
    _eal: &[String],
    _workers: usize,
    _rx_descriptors: u16,
    _mbufs: u32,
) -> Result<Vec<Box<dyn pipeline::LiveSource>>> {
    anyhow::bail!(
        "capture dpdk: this probed was built without DPDK (cargo build -p probed --features dpdk)"
    )
}
