#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| decode::fuzzing::fuzz_decode(data));
