//! Bindings to the system's DPDK 22.11, generated at build time (feature `bind`).
//!
//! Everything here is raw FFI: `firmware/capture/src/sys/dpdk.rs` is the one user, and it
//! wraps these in a safe API. The `probe_*` functions are our C shim (src/shim.c) around
//! DPDK's static-inline fast path (RX burst, mbuf fields, free, errno, lcore id).
//!
//! Without `bind` the crate is empty, so the workspace builds where DPDK is not installed.

#[cfg(feature = "bind")]
#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    missing_debug_implementations,
    unused_qualifications,
    unsafe_code,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks
)]
mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

#[cfg(feature = "bind")]
pub use bindings::*;
