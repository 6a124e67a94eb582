//! The AWS event-stream decoder: never panics, and the body split into reads at fuzzer-chosen
//! points ([`split_reads`](super::split_reads)) gives the same messages and the same kind of
//! error as the body in one read.

use blazen_providers::fuzzing::event_stream_decode;
use blazen_providers::BlazenError;

/// One fuzz input: see the module docs.
pub fn run(data: &[u8]) {
    let (body, reads) = super::split_reads(data);
    let (whole, whole_err) = event_stream_decode(&[body]);
    let (split, split_err) = event_stream_decode(&reads);
    let show = |m: &[blazen_providers::fuzzing::EventStreamFields]| {
        m.iter()
            .map(|(h, p, e)| (h.clone(), p.clone(), e.as_ref().map(ToString::to_string)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        show(&whole),
        show(&split),
        "split reads gave other messages"
    );
    assert_eq!(
        whole_err.as_ref().map(kind),
        split_err.as_ref().map(kind),
        "split reads gave another error: {whole_err:?} / {split_err:?}"
    );
    for err in [whole_err, split_err].iter().flatten() {
        let _ = (err.to_string(), format!("{err:?}"), err.is_retryable());
    }
}

/// What kind of error (and whether it may be retried): the message may say how many bytes
/// were left, which depends on the reads.
fn kind(err: &BlazenError) -> (std::mem::Discriminant<BlazenError>, bool) {
    (std::mem::discriminant(err), err.is_retryable())
}
