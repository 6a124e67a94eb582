//! Conformance and property tests of the SSE decoder.
//!
//! Every conformance case runs on the whole input, on 1-byte reads and on every split into
//! two reads; the property tests check that arbitrary bytes never panic and that the way the
//! input is cut into reads never changes the result.

use super::*;
use futures::StreamExt;
use proptest::prelude::*;

/// The outcome of decoding: the events, then the error that stopped decoding (as text).
type Outcome = (Vec<SseEvent>, Option<String>);

/// Takes every event available; `Err` with the error text if decoding failed.
fn drain(d: &mut SseDecoder, events: &mut Vec<SseEvent>) -> Result<(), String> {
    loop {
        match d.next_event() {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn decode_chunks(chunks: &[&[u8]], max: usize) -> Outcome {
    let mut d = SseDecoder::with_max_size(max);
    let mut events = Vec::new();
    for chunk in chunks {
        d.push(Bytes::copy_from_slice(chunk));
        if let Err(e) = drain(&mut d, &mut events) {
            return (events, Some(e));
        }
    }
    d.finish();
    let r = drain(&mut d, &mut events);
    (events, r.err())
}

/// Like `decode_chunks`, but takes at most `takes[i]` events after pushing read `i`, so that
/// later reads are pushed while earlier ones are not parsed to their end.
fn decode_pushing_early(chunks: &[&[u8]], max: usize, takes: &[usize]) -> Outcome {
    let mut d = SseDecoder::with_max_size(max);
    let mut events = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        d.push(Bytes::copy_from_slice(chunk));
        for _ in 0..takes.get(i).copied().unwrap_or(0) {
            match d.next_event() {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(e) => return (events, Some(e.to_string())),
            }
        }
    }
    d.finish();
    let r = drain(&mut d, &mut events);
    (events, r.err())
}

/// Decodes `input` whole, byte by byte and split at every point; all must agree. Returns the
/// whole-input outcome.
fn decode_every_way(input: &[u8], max: usize) -> Outcome {
    let whole = decode_chunks(&[input], max);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        decode_chunks(&bytes, max),
        whole,
        "1-byte reads of {input:?}"
    );
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(
            decode_chunks(&[a, b], max),
            whole,
            "split at {i} of {input:?}"
        );
    }
    whole
}

fn events(input: &str) -> Vec<SseEvent> {
    let (events, err) = decode_every_way(input.as_bytes(), DEFAULT_MAX_SIZE);
    assert_eq!(err, None);
    events
}

fn data(d: &str) -> SseEvent {
    SseEvent {
        data: d.into(),
        ..SseEvent::default()
    }
}

// ----- the 12 conformance cases ------------------------------------------------------------

#[test]
fn multi_line_data_is_joined_with_lf() {
    assert_eq!(
        events("data: a\ndata: b\ndata:  c\n\n"),
        vec![data("a\nb\n c")]
    );
}

#[test]
fn lf_line_endings() {
    assert_eq!(
        events("data: one\n\ndata: two\n\n"),
        vec![data("one"), data("two")]
    );
}

#[test]
fn crlf_line_endings() {
    assert_eq!(
        events("data: one\r\ndata: more\r\n\r\ndata: two\r\n\r\n"),
        vec![data("one\nmore"), data("two")]
    );
}

#[test]
fn cr_only_line_endings_keep_the_last_event() {
    assert_eq!(
        events("data: one\r\rdata: two\r\r"),
        vec![data("one"), data("two")]
    );
}

#[test]
fn crlf_split_across_reads_is_one_line_end() {
    // The every-split check covers the cut between CR and LF; check it explicitly too.
    let input = b"data: a\r\n\r\ndata: b\r\n\r\n";
    let cut = 8; // after "data: a\r"
    assert_eq!(&input[..cut], b"data: a\r");
    assert_eq!(
        decode_chunks(&[&input[..cut], &input[cut..]], DEFAULT_MAX_SIZE),
        (vec![data("a"), data("b")], None)
    );
    assert_eq!(
        events(std::str::from_utf8(input).unwrap()),
        vec![data("a"), data("b")]
    );
}

#[test]
fn leading_bom_is_skipped_once() {
    assert_eq!(
        events("\u{feff}data: a\n\n\u{feff}data: b\n\n"),
        // A second BOM is not at the stream start: it is part of the field name, an unknown
        // field, so only the first event remains.
        vec![data("a")]
    );
    assert_eq!(events("\u{feff}data: x\n\n"), vec![data("x")]);
}

#[test]
fn comments_are_ignored() {
    assert_eq!(
        events(": keep-alive\n:another\ndata: a\n: mid\n\n: trailing\n\n"),
        vec![data("a")]
    );
}

#[test]
fn event_field_sets_the_type_of_one_event() {
    assert_eq!(
        events("event: message_start\ndata: {}\n\ndata: plain\n\nevent:ping\n\n"),
        vec![
            SseEvent {
                event: Some("message_start".into()),
                data: "{}".into(),
                ..SseEvent::default()
            },
            data("plain"),
        ]
    );
}

#[test]
fn id_field_sets_the_last_event_id() {
    assert_eq!(
        events("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n"),
        vec![
            SseEvent {
                id: Some("1".into()),
                ..data("a")
            },
            // The last event id carries over, as the standard says.
            SseEvent {
                id: Some("1".into()),
                ..data("b")
            },
            // `id` with an empty value resets it.
            data("c"),
            // An id containing NUL is ignored.
            data("d"),
        ]
    );
}

#[test]
fn retry_field_with_and_without_space() {
    assert_eq!(
        events("retry: 3000\ndata: a\n\nretry:250\ndata: b\n\nretry: 1x\ndata: c\n\n"),
        vec![
            SseEvent {
                retry: Some(3000),
                ..data("a")
            },
            SseEvent {
                retry: Some(250),
                ..data("b")
            },
            data("c"),
        ]
    );
}

#[test]
fn field_with_no_colon_has_an_empty_value() {
    // `data` alone is a data line with an empty value; `event` alone sets an empty type.
    assert_eq!(
        events("data\ndata\n\nevent\ndata: x\n\n"),
        vec![
            data("\n"),
            SseEvent {
                event: Some(String::new()),
                ..data("x")
            }
        ]
    );
}

#[test]
fn unterminated_final_block_is_dispatched_at_finish() {
    assert_eq!(
        events("data: a\n\ndata: [DONE]"),
        vec![data("a"), data("[DONE]")]
    );
    assert_eq!(events("data: a\n\ndata: b\n"), vec![data("a"), data("b")]);
    // A final partial line that is not a data line dispatches nothing.
    assert_eq!(events("data: a\n\nevent: x"), vec![data("a")]);
}

#[test]
fn utf8_split_across_reads_arrives_intact() {
    let text = "data: héllo 世界 🦀\n\n";
    assert_eq!(events(text), vec![data("héllo 世界 🦀")]);
    // Explicitly: cut inside the 4-byte crab.
    let bytes = text.as_bytes();
    let crab = text.find('🦀').unwrap();
    for cut in crab + 1..crab + 4 {
        assert_eq!(
            decode_chunks(&[&bytes[..cut], &bytes[cut..]], DEFAULT_MAX_SIZE).0,
            vec![data("héllo 世界 🦀")]
        );
    }
}

#[test]
fn invalid_utf8_reads_as_replacement_characters() {
    // The text of the data is decoded as a whole: what per-line decoding gave, since `\n` is
    // ASCII and ends any invalid sequence.
    let (evs, err) = decode_every_way(b"data: a\xFFb\ndata: \xF0\x9F\ndata: \xA6\x80\n\n", 64);
    assert_eq!(err, None);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].data.raw(), b"a\xFFb\n\xF0\x9F\n\xA6\x80");
    assert_eq!(&*evs[0].data, "a\u{FFFD}b\n\u{FFFD}\n\u{FFFD}\u{FFFD}");
    let per_line: Vec<String> = [&b"a\xFFb"[..], b"\xF0\x9F", b"\xA6\x80"]
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(&*evs[0].data, per_line.join("\n"));
}

#[test]
fn one_line_data_is_a_slice_of_the_read() {
    let read = Bytes::from_static(b"data: {\"a\":1}\n\ndata: x\ndata: y\n\n");
    let range = read.as_ptr_range();
    let mut d = SseDecoder::new();
    d.push(read.clone());
    let one = d.next_event().unwrap().unwrap();
    assert_eq!(one.data.raw(), b"{\"a\":1}");
    assert!(range.contains(&one.data.raw().as_ptr()), "not copied");
    let two = d.next_event().unwrap().unwrap();
    assert_eq!(&*two.data, "x\ny");
    assert!(
        !range.contains(&two.data.raw().as_ptr()),
        "joined lines are a new buffer"
    );
}

#[test]
fn empty_data_dispatches_an_empty_event() {
    assert_eq!(events("data:\n\ndata: \n\n"), vec![data(""), data("")]);
    // A block without any data line is not dispatched.
    assert_eq!(events("event: x\n\n\n\nid: 3\n\n"), Vec::<SseEvent>::new());
}

// ----- limits ----------------------------------------------------------------------------

#[test]
fn a_line_over_the_limit_is_an_error_not_growth() {
    let long = format!("data: {}\n\n", "x".repeat(100));
    let (events, err) = decode_every_way(long.as_bytes(), 64);
    assert!(events.is_empty());
    let err = err.expect("an error");
    assert!(
        err.starts_with("invalid response: SSE line longer than 64"),
        "{err}"
    );
    // Without a line end at all (the buffer must not grow past the limit either).
    let mut d = SseDecoder::with_max_size(64);
    d.push(Bytes::from_static(&[b'a'; 40]));
    assert!(d.next_event().unwrap().is_none());
    d.push(Bytes::from_static(&[b'a'; 40]));
    assert!(d.next_event().is_err());
    d.push(Bytes::copy_from_slice(b"\n\n"));
    assert!(d.next_event().is_err(), "the decoder stays failed");
}

#[test]
fn event_data_over_the_limit_is_an_error() {
    let many = "data: 0123456789\n".repeat(10) + "\n";
    let (events, err) = decode_every_way(many.as_bytes(), 64);
    assert!(events.is_empty());
    assert!(err.unwrap().contains("SSE event data longer than 64"));
    // Events before the oversized one are still delivered.
    let input = format!("data: ok\n\n{many}");
    let (events, err) = decode_every_way(input.as_bytes(), 64);
    assert_eq!(events, vec![data("ok")]);
    assert!(err.is_some());
}

// ----- a realistic stream and linearity -----------------------------------------------------

#[test]
fn openai_style_stream() {
    let input = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\
                 : OPENROUTER PROCESSING\n\n\
                 data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
                 data: [DONE]\n\n";
    let evs = events(input);
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[2].data, "[DONE]");
}

#[test]
fn many_events_in_one_read_all_arrive() {
    // 20,000 events in one read and in tiny reads: every one arrives, in order. (Linear cost
    // is shown by `cargo bench --bench providers`, not asserted by a timed test.)
    let one = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
    let input = one.repeat(20_000);
    let mut d = SseDecoder::new();
    d.push(Bytes::from(input.clone()));
    let mut n = 0;
    while d.next_event().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 20_000);
    let mut d = SseDecoder::new();
    let mut m = 0;
    for chunk in input.as_bytes().chunks(7) {
        d.push(Bytes::copy_from_slice(chunk));
        while d.next_event().unwrap().is_some() {
            m += 1;
        }
    }
    assert_eq!(m, 20_000);
}

#[test]
fn long_line_in_tiny_reads_arrives_whole() {
    // One 4 MB line arriving 16 bytes at a time arrives as one event.
    let line = format!("data: {}\n\n", "y".repeat(4 * 1024 * 1024));
    let mut d = SseDecoder::new();
    let mut got = None;
    for chunk in line.as_bytes().chunks(16) {
        d.push(Bytes::copy_from_slice(chunk));
        if let Some(ev) = d.next_event().unwrap() {
            got = Some(ev);
        }
    }
    let ev = got.unwrap();
    assert_eq!(ev.data.len(), 4 * 1024 * 1024);
}

#[test]
fn pushing_before_draining_keeps_every_event() {
    // Callers should drain first, but pushing early must not lose or reorder anything.
    let mut d = SseDecoder::new();
    d.push(Bytes::copy_from_slice(b"data: a\n\ndata: b\n\ndata: c"));
    assert_eq!(d.next_event().unwrap(), Some(data("a")));
    d.push(Bytes::copy_from_slice(b"\n\ndata: d\n\n"));
    let mut events = Vec::new();
    drain(&mut d, &mut events).unwrap();
    d.finish();
    drain(&mut d, &mut events).unwrap();
    assert_eq!(events, vec![data("b"), data("c"), data("d")]);
}

#[test]
fn reads_pushed_early_are_queued_not_copied() {
    let first = Bytes::from_static(b"data: a\n\ndata: b\n\ndata: par");
    let second = Bytes::from_static(b"t\n\ndata: {\"x\":1}\n\n");
    let range = second.as_ptr_range();
    let mut d = SseDecoder::new();
    d.push(first);
    assert_eq!(d.next_event().unwrap(), Some(data("a")));
    d.push(second); // "b" and the partial line are not parsed yet
    assert_eq!(d.next_event().unwrap(), Some(data("b")));
    assert_eq!(d.next_event().unwrap(), Some(data("part")));
    let last = d.next_event().unwrap().unwrap();
    assert_eq!(last.data.raw(), b"{\"x\":1}");
    assert!(range.contains(&last.data.raw().as_ptr()), "not copied");
    assert_eq!(d.next_event().unwrap(), None);
}

#[test]
fn events_are_parsed_lazily_one_at_a_time() {
    // A read holding many events yields them one by one; nothing is queued.
    let input = "data: x\n\n".repeat(1000);
    let mut d = SseDecoder::new();
    d.push(Bytes::copy_from_slice(input.as_bytes()));
    assert_eq!(d.next_event().unwrap(), Some(data("x")));
    assert_eq!(
        d.pos,
        "data: x\n\n".len(),
        "only the first event was parsed"
    );
}

// ----- the stream adapter -------------------------------------------------------------------

#[tokio::test]
async fn stream_adapter_yields_events_then_ends() {
    let chunks: Vec<Result<Bytes, reqwest::Error>> = vec![
        Ok(Bytes::from_static(b"data: a\n")),
        Ok(Bytes::from_static(b"\ndata: \xF0\x9F")),
        Ok(Bytes::from_static(b"\xA6\x80\n\ndata: [DONE]")),
    ];
    let out: Vec<_> = sse_events(futures::stream::iter(chunks)).collect().await;
    let out: Vec<SseEvent> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, vec![data("a"), data("🦀"), data("[DONE]")]);
}

#[tokio::test]
async fn stream_adapter_ends_with_the_decoder_error() {
    let big = format!("data: ok\n\ndata: {}\n\n", "z".repeat(DEFAULT_MAX_SIZE + 1));
    let chunks: Vec<Result<Bytes, reqwest::Error>> = vec![Ok(Bytes::from(big))];
    let out: Vec<_> = sse_events(futures::stream::iter(chunks)).collect().await;
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].as_ref().unwrap(), &data("ok"));
    let err = out[1].as_ref().unwrap_err();
    assert!(matches!(err, BlazenError::InvalidResponse { .. }));
    assert!(!err.is_retryable());
}

// ----- properties ---------------------------------------------------------------------------

/// Bytes that look like SSE often enough to exercise every branch.
fn sse_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event:".to_vec()),
        Just(b"id: ".to_vec()),
        Just(b"retry: 12".to_vec()),
        Just(b":".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just("é🦀".as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// `input` cut at the given (random) points, in order.
fn cut_at<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut prev = 0;
    for p in points {
        chunks.push(&input[prev..p]);
        prev = p;
    }
    chunks.push(&input[prev..]);
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_chunks(&[&input], 64);
        let _ = decode_chunks(&[&input], DEFAULT_MAX_SIZE);
    }

    #[test]
    fn chunking_never_changes_the_result_on_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..256),
        cut in any::<prop::sample::Index>(),
        step in 1usize..9,
    ) {
        let whole = decode_chunks(&[&input], 32);
        let (a, b) = input.split_at(cut.index(input.len() + 1));
        prop_assert_eq!(&decode_chunks(&[a, b], 32), &whole);
        let small: Vec<&[u8]> = input.chunks(step).collect();
        prop_assert_eq!(decode_chunks(&small, 32), whole);
    }

    #[test]
    fn pushing_before_draining_never_changes_the_result(
        input in sse_like(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        takes in prop::collection::vec(0usize..3, 0..9),
        max in prop_oneof![Just(16usize), Just(DEFAULT_MAX_SIZE)],
    ) {
        let whole = decode_chunks(&[&input], max);
        let chunks = cut_at(&input, &cuts);
        prop_assert_eq!(decode_pushing_early(&chunks, max, &takes), whole);
    }

    #[test]
    fn chunking_never_changes_the_result(
        input in sse_like(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        max in prop_oneof![Just(16usize), Just(DEFAULT_MAX_SIZE)],
    ) {
        let whole = decode_chunks(&[&input], max);
        let chunks = cut_at(&input, &cuts);
        prop_assert_eq!(decode_chunks(&chunks, max), whole);
    }
}
