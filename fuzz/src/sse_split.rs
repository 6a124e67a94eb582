//! The SSE decoder: the body split into reads at fuzzer-chosen points
//! ([`split_reads`](super::split_reads)) gives the same events, and the same error, as the body
//! in one read; with the default size limit and with a small one.

use blazen_providers::fuzzing::sse_decode;

/// The decoder's default limit of a line and of an event's data.
const DEFAULT_MAX_SIZE: usize = 16 * 1024 * 1024;

/// One fuzz input: see the module docs.
pub fn run(data: &[u8]) {
    let (body, reads) = super::split_reads(data);
    // A small limit too, so that the size checks are reached: 1..=256 bytes.
    let small = 1 + usize::from(data.first().copied().unwrap_or(0));
    let lengths: Vec<usize> = reads.iter().map(|r| r.len()).collect();
    for max_size in [DEFAULT_MAX_SIZE, small] {
        let (whole, whole_err) = sse_decode(&[body], max_size);
        let (split, split_err) = sse_decode(&reads, max_size);
        assert_eq!(
            whole, split,
            "split reads gave other events (limit {max_size}, read lengths {lengths:?})"
        );
        assert_eq!(
            whole_err.map(|e| e.to_string()),
            split_err.map(|e| e.to_string()),
            "split reads gave another error (limit {max_size}, read lengths {lengths:?})"
        );
    }
}
