#![no_main]
// Hardware profile text: the TOML schema, its validation, the machine check and EAL arguments.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hw_profiles::fuzz_profile(data));
