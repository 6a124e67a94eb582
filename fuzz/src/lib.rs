//! The bodies of the fuzz targets (`fuzz_targets/<target>.rs` calls `<target>::run`), shared
//! with the corpus replay test of the root package (`tests/fuzz_corpus.rs` includes this file),
//! so that CI runs every file of `corpus/<target>/` through the same code without libFuzzer.
//!
//! Each `run` takes the fuzzer's bytes and panics when an invariant breaks; errors the code
//! under test returns are fine (a typed error is the expected answer to garbage).

pub mod error_classify;
pub mod event_stream;
pub mod snapshot_resume;
pub mod sse_split;
pub mod tool_args;

/// The names of the targets, as `corpus/<name>/` and `fuzz_targets/<name>.rs` spell them.
pub const TARGETS: [&str; 5] = [
    "sse_split",
    "event_stream",
    "error_classify",
    "snapshot_resume",
    "tool_args",
];

/// Runs `data` through the body of the target named `target`.
pub fn run_target(target: &str, data: &[u8]) {
    match target {
        "sse_split" => sse_split::run(data),
        "event_stream" => event_stream::run(data),
        "error_classify" => error_classify::run(data),
        "snapshot_resume" => snapshot_resume::run(data),
        "tool_args" => tool_args::run(data),
        other => panic!("no fuzz target named {other}"),
    }
}

/// Splits a decoder input into reads at points the fuzzer chooses. `data[0] % 8` is the
/// number `n` of read lengths that follow (`data[1..=n]`, each 0..=255 bytes, an empty read
/// included); the rest is the body, cut into reads of those lengths in turn. `n == 0` cuts
/// the body into one-byte reads.
pub fn split_reads(data: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let Some((&first, rest)) = data.split_first() else {
        return (data, Vec::new());
    };
    let n = usize::from(first % 8).min(rest.len());
    let (lengths, body) = rest.split_at(n);
    let mut reads = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < body.len() {
        let len = if lengths.is_empty() {
            1
        } else {
            usize::from(lengths[i % lengths.len()])
        };
        i += 1;
        let end = (pos + len).min(body.len());
        reads.push(&body[pos..end]);
        pos = end;
        // A run of empty reads is enough once per cycle.
        if lengths.iter().all(|&l| l == 0) {
            reads.push(&body[pos..]);
            break;
        }
    }
    (body, reads)
}
