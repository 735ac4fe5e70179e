#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| reassembly::fuzzing::fuzz_segments(data));
