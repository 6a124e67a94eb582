#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blazen_fuzz::sse_split::run(data));
