#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mgmt_proto::fuzzing::fuzz_frame(data));
