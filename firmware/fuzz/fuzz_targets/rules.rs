#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| detect::fuzzing::fuzz_rules(data));
