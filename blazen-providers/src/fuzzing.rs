//! Entry points for the fuzz targets of `fuzz/` and for their corpus replay test
//! (`tests/fuzz_corpus.rs`): the SSE and event-stream decoders and the key scrubbing of the
//! clients are crate-private. Not public API: hidden, and may change in any release.

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::error::{BlazenError, SecretString};
use crate::eventstream::EventStreamDecoder;
use crate::http::Auth;
use crate::sse::SseDecoder;

/// One decoded SSE event: `(event, data, id, retry)`.
pub type SseFields = (Option<String>, Vec<u8>, Option<String>, Option<u64>);

/// Decodes an SSE body given as `reads` (each pushed, and its events taken, in turn; then
/// `finish`) with lines and data limited to `max_size` bytes. Returns the events and the error
/// that stopped decoding, if any. Events are taken alternately borrowed and owned.
pub fn sse_decode(reads: &[&[u8]], max_size: usize) -> (Vec<SseFields>, Option<BlazenError>) {
    let mut decoder = SseDecoder::with_max_size(max_size);
    let mut events = Vec::new();
    for read in reads {
        decoder.push(Bytes::copy_from_slice(read));
        if let Err(err) = drain_sse(&mut decoder, &mut events) {
            return (events, Some(err));
        }
    }
    decoder.finish();
    let err = drain_sse(&mut decoder, &mut events).err();
    (events, err)
}

fn drain_sse(decoder: &mut SseDecoder, events: &mut Vec<SseFields>) -> Result<(), BlazenError> {
    while decoder.advance().map_err(|e| *e)? {
        let fields = if events.len().is_multiple_of(2) {
            decoder.current().map(|e| {
                (
                    e.event.map(str::to_owned),
                    e.data.to_vec(),
                    e.id.map(str::to_owned),
                    e.retry,
                )
            })
        } else {
            decoder
                .take_current()
                .map(|e| (e.event, e.data.raw().to_vec(), e.id, e.retry))
        };
        events.push(fields.expect("`advance` returned true: an event is there"));
    }
    Ok(())
}

/// One decoded event-stream message: its headers (`name`, value as `Debug`), its payload, and
/// the error it carries (`exception` / `error` messages, as Bedrock reports them).
pub type EventStreamFields = (Vec<(String, String)>, Vec<u8>, Option<BlazenError>);

/// Decodes an AWS event-stream body given as `reads` (then `finish`): the messages, and the
/// error that stopped decoding, if any.
pub fn event_stream_decode(reads: &[&[u8]]) -> (Vec<EventStreamFields>, Option<BlazenError>) {
    let mut decoder = EventStreamDecoder::new();
    let mut messages = Vec::new();
    let mut error = None;
    for read in reads {
        if let Err(err) = decoder.push(read) {
            error = Some(err);
            break;
        }
    }
    if error.is_none() {
        error = decoder.finish().err();
    }
    while let Some(m) = decoder.next_message() {
        let headers = m
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), format!("{value:?}")))
            .collect();
        let carried = m.to_error("bedrock");
        messages.push((headers, m.payload.to_vec(), carried));
    }
    (messages, error)
}

/// Classifies an HTTP error response ([`BlazenError::from_http`]) and scrubs `key` from it as
/// a client does before handing the error out: sent as a bearer token when `fal_scheme` is
/// false, as fal's `Authorization: Key <id>:<secret>` otherwise (its secret half is scrubbed too).
pub fn classify_http_error(
    provider: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    key: &str,
    fal_scheme: bool,
) -> BlazenError {
    let key = SecretString::from(key);
    let auth = if fal_scheme {
        Auth::KeyScheme(key)
    } else {
        Auth::Bearer(key)
    };
    auth.scrub(BlazenError::from_http(provider, status, headers, body))
}
