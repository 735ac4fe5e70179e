#![no_main]
// DPDK mbuf chains: a packet length and segment lengths against the chain assembler.
libfuzzer_sys::fuzz_target!(|data: &[u8]| capture::chain::fuzz_gather(data));
