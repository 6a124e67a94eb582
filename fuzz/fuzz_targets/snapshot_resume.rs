#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blazen_fuzz::snapshot_resume::run(data));
