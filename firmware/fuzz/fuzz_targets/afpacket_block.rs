#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| capture::fuzz_afpacket_block(data));
