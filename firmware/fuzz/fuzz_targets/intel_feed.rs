#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| analytics::fuzzing::intel_feed(data));
