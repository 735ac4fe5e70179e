#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| applayer_http::fuzzing::fuzz_http(data));
