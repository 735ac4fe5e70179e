#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| applayer_dns::fuzzing::fuzz_dns(data));
