#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| applayer_tls::fuzzing::fuzz_stream(data));
