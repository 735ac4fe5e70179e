#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hunt::fuzzing::fuzz_query(data));
