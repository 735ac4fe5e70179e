//! NDR analytics: what signatures do not catch.
//!
//! Layer: above `store` (state in sled), below `hunt` (whose filters address the events made
//! here). Everything here runs beside the workers, on the EVE events they wrote, never on
//! their threads:
//!
//! - [`intel`]: typed threat-intel indicators, loaded from CSV, JSON lines, Zeek intel files
//!   and STIX 2.1 bundles, matched on every field where their type appears;
#![forbid(unsafe_code)]

pub mod beacon;
pub mod engine;
pub mod hosts;
pub mod intel;
pub mod lookalike;
pub mod sightings;
pub mod zeek;
