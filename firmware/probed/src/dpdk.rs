//! DPDK capture sources for `probed run` (the `dpdk` feature).

use anyhow::Result;

/// Initialises the EAL with `eal` (program name first) and opens one source per worker,
/// each reading its RX queue on every port.
#[cfg(not(feature = "dpdk"))]
pub(crate) fn open(
    _eal: &[String],
    _workers: usize,
    _bpf: bool,
) -> Result<Vec<Box<dyn pipeline::LiveSource>>> {
    anyhow::bail!(
        "capture dpdk: this probed was built without DPDK (cargo build -p probed --features dpdk)"
    )
}
