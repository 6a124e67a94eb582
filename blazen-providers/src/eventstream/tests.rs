//! Tests of the AWS event-stream decoder on a recorded Bedrock ConverseStream body, on
//! corrupted and truncated input, on synthetic exception frames, and with property tests.

use super::*;
use crate::error::Kind;
use proptest::prelude::*;

const FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/bedrock/raw_streaming__raw_stream_emits_tool_call_before_text.json"
));

/// Standard base64 (with padding), enough for the fixture body.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let mut n = 0u32;
        for &c in chunk {
            n = (n << 6) | if c == b'=' { 0 } else { val(c) };
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    out
}

fn recorded_body() -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let resp = &v["interactions"][0]["response"];
    assert_eq!(
        resp["headers"]["content-type"],
        "application/vnd.amazon.eventstream"
    );
    base64_decode(resp["body"].as_str().unwrap())
}

/// Encodes one message (test-only encoder, the inverse of the decoder).
fn encode(headers: &[(&str, HeaderValue)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(u8::try_from(name.len()).unwrap());
        h.extend_from_slice(name.as_bytes());
        match value {
            HeaderValue::Bool(true) => h.push(0),
            HeaderValue::Bool(false) => h.push(1),
            HeaderValue::Byte(v) => {
                h.push(2);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Short(v) => {
                h.push(3);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int(v) => {
                h.push(4);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Long(v) => {
                h.push(5);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Bytes(v) => {
                h.push(6);
                h.extend_from_slice(&u16::try_from(v.len()).unwrap().to_be_bytes());
                h.extend_from_slice(v);
            }
            HeaderValue::String(v) => {
                h.push(7);
                h.extend_from_slice(&u16::try_from(v.len()).unwrap().to_be_bytes());
                h.extend_from_slice(v.as_bytes());
            }
            HeaderValue::Timestamp(v) => {
                h.push(8);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Uuid(v) => {
                h.push(9);
                h.extend_from_slice(v);
            }
        }
    }
    let total = u32::try_from(OVERHEAD + h.len() + payload.len()).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&u32::try_from(h.len()).unwrap().to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn exception(ty: &str, message: &str) -> Vec<u8> {
    encode(
        &[
            (":message-type", HeaderValue::String("exception".into())),
            (":exception-type", HeaderValue::String(ty.into())),
            (
                ":content-type",
                HeaderValue::String("application/json".into()),
            ),
        ],
        serde_json::json!({ "message": message })
            .to_string()
            .as_bytes(),
    )
}

type Outcome = (Vec<Message>, Option<String>);

fn decode_chunks(chunks: &[&[u8]]) -> Outcome {
    let mut d = EventStreamDecoder::new();
    let mut out = Vec::new();
    for c in chunks {
        let r = d.push(c);
        while let Some(m) = d.next_message() {
            out.push(m);
        }
        if let Err(e) = r {
            return (out, Some(e.to_string()));
        }
    }
    let r = d.finish();
    (out, r.err().map(|e| e.to_string()))
}

#[test]
fn recorded_converse_stream_decodes_with_valid_crcs() {
    let body = recorded_body();
    let (messages, err) = decode_chunks(&[&body]);
    assert_eq!(err, None);
    let types: Vec<&str> = messages.iter().map(|m| m.event_type().unwrap()).collect();
    assert_eq!(
        types,
        [
            "messageStart",
            "contentBlockStart",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    for m in &messages {
        assert_eq!(m.message_type(), Some("event"));
        assert_eq!(m.header_str(":content-type"), Some("application/json"));
        assert!(m.to_error("bedrock").is_none());
        let _: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
    }
    let start: serde_json::Value = serde_json::from_slice(&messages[1].payload).unwrap();
    assert_eq!(start["start"]["toolUse"]["name"], "lookup_harbor_label");
    let stop: serde_json::Value = serde_json::from_slice(&messages[4].payload).unwrap();
    assert_eq!(stop["stopReason"], "tool_use");
    let meta: serde_json::Value = serde_json::from_slice(&messages[5].payload).unwrap();
    assert_eq!(meta["usage"]["inputTokens"], 457);
}

#[test]
fn recorded_body_in_any_chunking_gives_the_same_messages() {
    let body = recorded_body();
    let whole = decode_chunks(&[&body]);
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(decode_chunks(&bytes), whole);
    for i in 0..=body.len() {
        let (a, b) = body.split_at(i);
        assert_eq!(decode_chunks(&[a, b]), whole, "split at {i}");
    }
}

#[test]
fn corrupted_message_crc_is_a_stream_error_after_earlier_messages() {
    let mut body = recorded_body();
    // Flip one payload byte of the second message.
    let first = be_u32(&body[0..4]) as usize;
    body[first + 120] ^= 0x01;
    let mut d = EventStreamDecoder::new();
    let err = d.push(&body).unwrap_err();
    assert!(matches!(err, BlazenError::Stream { .. }), "{err:?}");
    assert!(err.to_string().contains("message CRC mismatch"), "{err}");
    assert!(err.is_retryable());
    assert_eq!(
        d.next_message().unwrap().event_type(),
        Some("messageStart"),
        "the intact first message is still delivered"
    );
    assert!(d.next_message().is_none());
    assert!(d.push(b"").is_err(), "the decoder stays failed");
}

#[test]
fn corrupted_prelude_crc_is_detected_before_trusting_lengths() {
    let mut body = recorded_body();
    body[2] ^= 0x40; // total length of the first message
    let err = decode_chunks(&[&body]).1.unwrap();
    assert!(err.contains("prelude CRC mismatch"), "{err}");
}

#[test]
fn truncated_stream_is_a_stream_error_at_finish() {
    let body = recorded_body();
    for cut in [1, 11, 12, 50, body.len() - 1] {
        let (messages, err) = decode_chunks(&[&body[..cut]]);
        let err = err.unwrap_or_else(|| panic!("no error when cut at {cut}"));
        assert!(err.starts_with("stream error: event stream ended inside a message"));
        assert!(messages.len() < 6);
    }
}

#[test]
fn impossible_lengths_are_invalid_responses() {
    // total < 16 with a valid prelude CRC.
    let mut m = Vec::new();
    m.extend_from_slice(&8u32.to_be_bytes());
    m.extend_from_slice(&0u32.to_be_bytes());
    let crc = crc32fast::hash(&m);
    m.extend_from_slice(&crc.to_be_bytes());
    let mut d = EventStreamDecoder::new();
    let err = d.push(&m).unwrap_err();
    assert!(
        matches!(err, BlazenError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[test]
fn every_header_type_roundtrips() {
    let headers = vec![
        (":t", HeaderValue::Bool(true)),
        (":f", HeaderValue::Bool(false)),
        ("b", HeaderValue::Byte(-3)),
        ("s", HeaderValue::Short(-300)),
        ("i", HeaderValue::Int(70_000)),
        ("l", HeaderValue::Long(-5_000_000_000)),
        (
            "bytes",
            HeaderValue::Bytes(Bytes::from_static(b"\x00\x01\xff")),
        ),
        ("str", HeaderValue::String("héllo".into())),
        ("ts", HeaderValue::Timestamp(1_700_000_000_123)),
        ("id", HeaderValue::Uuid(*b"0123456789abcdef")),
    ];
    let frame = encode(&headers, b"payload");
    let (messages, err) = decode_chunks(&[&frame]);
    assert_eq!(err, None);
    let m = &messages[0];
    assert_eq!(&m.payload[..], b"payload");
    let expected: Vec<(String, HeaderValue)> = headers
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    assert_eq!(m.headers, expected);
}

#[test]
fn unknown_header_type_is_invalid() {
    let mut frame = encode(&[("x", HeaderValue::Bool(true))], b"{}");
    frame[12 + 2] = 42; // the type byte of header "x"
    let n = frame.len();
    let crc = crc32fast::hash(&frame[..n - 4]);
    frame[n - 4..].copy_from_slice(&crc.to_be_bytes());
    let err = decode_chunks(&[&frame]).1.unwrap();
    assert!(err.contains("unknown type 42"), "{err}");
}

#[test]
fn in_stream_exceptions_map_to_categories() {
    let cases = [
        ("throttlingException", Kind::RateLimit, true),
        ("modelStreamErrorException", Kind::Stream, true),
        ("validationException", Kind::Validation, false),
        ("internalServerException", Kind::Provider, true),
        ("serviceUnavailableException", Kind::Provider, true),
        ("modelTimeoutException", Kind::Timeout, true),
        ("accessDeniedException", Kind::Auth, false),
        ("someNewException", Kind::Provider, false),
    ];
    for (ty, kind, retryable) in cases {
        let frame = exception(ty, "Too many tokens, please wait");
        let (messages, err) = decode_chunks(&[&frame]);
        assert_eq!(err, None);
        let e = messages[0].to_error("bedrock").expect("an error");
        assert_eq!(e.kind(), kind, "{ty}");
        assert_eq!(e.is_retryable(), retryable, "{ty}");
        assert_eq!(e.error_type(), Some(ty));
        assert_eq!(e.provider(), Some("bedrock"));
        assert!(e.to_string().contains("Too many tokens"), "{e}");
    }
}

#[test]
fn exception_without_message_is_named_by_its_type() {
    let frame = encode(
        &[
            (":message-type", HeaderValue::String("exception".into())),
            (
                ":exception-type",
                HeaderValue::String("internalServerException".into()),
            ),
        ],
        b"{}",
    );
    let (messages, _) = decode_chunks(&[&frame]);
    let e = messages[0].to_error("bedrock").unwrap();
    assert_eq!(e.message(), "internalServerException");
    assert!(e.is_retryable());
}

#[test]
fn error_message_type_uses_error_code_headers() {
    let frame = encode(
        &[
            (":message-type", HeaderValue::String("error".into())),
            (
                ":error-code",
                HeaderValue::String("ThrottlingException".into()),
            ),
            (":error-message", HeaderValue::String("slow down".into())),
        ],
        b"",
    );
    let (messages, _) = decode_chunks(&[&frame]);
    let e = messages[0].to_error("bedrock").unwrap();
    assert_eq!(e.kind(), Kind::RateLimit);
    assert!(e.to_string().contains("slow down"));
}

#[tokio::test]
async fn stream_adapter_ends_with_the_exception() {
    let mut body = recorded_body();
    let first = be_u32(&body[0..4]) as usize;
    body.truncate(first); // keep messageStart only
    body.extend(exception("throttlingException", "Rate exceeded"));
    body.extend(encode(
        &[(":message-type", HeaderValue::String("event".into()))],
        b"{}",
    ));
    let chunks: Vec<Result<Bytes, reqwest::Error>> = body
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let out: Vec<_> = event_stream_messages("bedrock", futures::stream::iter(chunks))
        .collect()
        .await;
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].as_ref().unwrap().event_type(), Some("messageStart"));
    let err = out[1].as_ref().unwrap_err();
    assert!(matches!(err, BlazenError::RateLimit { .. }));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn stream_adapter_reports_truncation_with_the_provider() {
    let body = recorded_body();
    let chunks: Vec<Result<Bytes, reqwest::Error>> =
        vec![Ok(Bytes::copy_from_slice(&body[..body.len() - 3]))];
    let out: Vec<_> = event_stream_messages("bedrock", futures::stream::iter(chunks))
        .collect()
        .await;
    assert_eq!(out.len(), 6);
    let err = out[5].as_ref().unwrap_err();
    assert!(matches!(err, BlazenError::Stream { .. }));
    assert_eq!(err.provider(), Some("bedrock"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..256),
        step in 1usize..9,
    ) {
        let whole = decode_chunks(&[&input]);
        let small: Vec<&[u8]> = input.chunks(step).collect();
        prop_assert_eq!(decode_chunks(&small), whole);
    }

    #[test]
    fn never_panics_on_mutated_frames(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        fix_crcs in any::<bool>(),
    ) {
        // Mutate a valid message, optionally recomputing both CRCs so the structural checks
        // (lengths, header types, UTF-8) are reached.
        let mut frame = encode(
            &[(":message-type", HeaderValue::String("event".into())),
              ("n", HeaderValue::Int(7)), ("b", HeaderValue::Bytes(Bytes::from_static(b"xy")))],
            b"{\"a\":1}",
        );
        for (i, v) in flips {
            let at = i.index(frame.len());
            frame[at] = v;
        }
        if fix_crcs {
            let p = crc32fast::hash(&frame[..8]);
            frame[8..12].copy_from_slice(&p.to_be_bytes());
            let n = frame.len();
            let m = crc32fast::hash(&frame[..n - 4]);
            frame[n - 4..].copy_from_slice(&m.to_be_bytes());
        }
        let whole = decode_chunks(&[&frame]);
        let bytes: Vec<&[u8]> = frame.chunks(3).collect();
        prop_assert_eq!(decode_chunks(&bytes), whole);
    }
}
