//! The only place in the capture crate with `unsafe`: system interfaces for live capture.
//! Every unsafe block carries a `// SAFETY:` comment saying why it holds.
#![allow(unsafe_code)]

pub mod afpacket;
#[cfg(feature = "dpdk")]
pub mod dpdk;
