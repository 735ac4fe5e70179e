#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| store::archive::fuzz_record(data));
