//! The AWS binary event-stream decoder (Bedrock `ConverseStream`).
//!
//! A response of content type `application/vnd.amazon.eventstream` is a sequence of messages:
//!
//! ```text
//! [total length u32][headers length u32][prelude CRC32 u32]   (prelude, 12 bytes, big-endian)
//! [headers: name len u8, name, value type u8, value]*         (headers length bytes)
//! [payload]                                                    (total - headers - 16 bytes)
//! [message CRC32 u32]                                          (CRC of everything before it)
//! ```
//!
//! Header values are typed: bool (types 0/1, no bytes), byte, short, int, long, byte array and
//! string (u16 length), timestamp (i64 milliseconds) and UUID (16 bytes). Both CRCs are checked.
//! Decoding is incremental: [`EventStreamDecoder::push`] takes reads of any size, complete
//! messages come out of [`EventStreamDecoder::next_message`], and payloads are zero-copy slices
//! of the read buffer.
//!
//! Errors: a structurally impossible message (lengths, header types, bad UTF-8) is an
//! [`BlazenError::InvalidResponse`]; a CRC mismatch (data damaged in transit) or input that ends
//! inside a message is a retryable [`BlazenError::Stream`]. An `exception` or `error` message
//! (`:message-type`) becomes the error its `:exception-type` / `:error-code` names
//! (`throttlingException` → rate limit, `modelStreamErrorException` → stream, …), through the
//! same classification table as HTTP error codes.

use std::pin::Pin;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};

use crate::error::BlazenError;

/// Prelude (12 bytes) plus message CRC (4 bytes).
const OVERHEAD: usize = 16;
const PRELUDE: usize = 12;
/// Largest message we accept: AWS allows a 16 MiB payload and 128 KiB of headers.
pub(crate) const MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024 + 128 * 1024 + OVERHEAD;

/// A typed header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderValue {
    /// Types 0 (true) and 1 (false).
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Short(i16),
    /// Type 4.
    Int(i32),
    /// Type 5.
    Long(i64),
    /// Type 6.
    Bytes(Bytes),
    /// Type 7.
    String(String),
    /// Type 8: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Type 9.
    Uuid([u8; 16]),
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// Headers in wire order.
    pub(crate) headers: Vec<(String, HeaderValue)>,
    /// The payload (JSON for Bedrock).
    pub(crate) payload: Bytes,
}

impl Message {
    /// The value of the first header named `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The value of a string header.
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        match self.header(name)? {
            HeaderValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// `:message-type`: `event`, `exception` or `error`.
    pub(crate) fn message_type(&self) -> Option<&str> {
        self.header_str(":message-type")
    }

    /// `:event-type` of an event message (`messageStart`, `contentBlockDelta`, …).
    pub(crate) fn event_type(&self) -> Option<&str> {
        self.header_str(":event-type")
    }

    /// The error this message carries, if it is an `exception` or `error` message.
    pub(crate) fn to_error(&self, provider: &str) -> Option<BlazenError> {
        match self.message_type()? {
            "exception" => {
                let ty = self.header_str(":exception-type").unwrap_or("exception");
                Some(BlazenError::from_aws_exception(provider, ty, &self.payload))
            }
            "error" => {
                let code = self.header_str(":error-code").unwrap_or("error");
                let message = self.header_str(":error-message").unwrap_or("");
                let body = serde_json::json!({ "message": message }).to_string();
                Some(BlazenError::from_aws_exception(
                    provider,
                    code,
                    body.as_bytes(),
                ))
            }
            _ => None,
        }
    }
}

/// An incremental event-stream decoder.
#[derive(Debug, Default)]
pub(crate) struct EventStreamDecoder {
    buf: BytesMut,
    ready: std::collections::VecDeque<Message>,
    failed: Option<BlazenError>,
}

impl EventStreamDecoder {
    /// An empty decoder.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The next complete message, if any.
    pub(crate) fn next_message(&mut self) -> Option<Message> {
        self.ready.pop_front()
    }

    /// Feeds the next read; complete messages (those before an error too) become available
    /// through [`next_message`](Self::next_message). After an error the decoder stays failed.
    pub(crate) fn push(&mut self, input: &[u8]) -> Result<(), BlazenError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        self.buf.extend_from_slice(input);
        let result = self.drain_messages();
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// Ends the input: bytes of an incomplete message are a (retryable) stream error.
    pub(crate) fn finish(&mut self) -> Result<(), BlazenError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.buf.is_empty() {
            Ok(())
        } else {
            let err = BlazenError::stream(
                "",
                format!(
                    "event stream ended inside a message ({} bytes left)",
                    self.buf.len()
                ),
            );
            self.failed = Some(err.clone());
            Err(err)
        }
    }

    fn drain_messages(&mut self) -> Result<(), BlazenError> {
        while self.buf.len() >= PRELUDE {
            let total = be_u32(&self.buf[0..4]) as usize;
            let headers_len = be_u32(&self.buf[4..8]) as usize;
            let prelude_crc = be_u32(&self.buf[8..12]);
            if crc32fast::hash(&self.buf[..8]) != prelude_crc {
                return Err(BlazenError::stream(
                    "",
                    "event stream prelude CRC mismatch (data damaged in transit)",
                ));
            }
            if !(OVERHEAD..=MAX_MESSAGE_SIZE).contains(&total) || headers_len > total - OVERHEAD {
                return Err(invalid(format!(
                    "event stream message lengths impossible (total {total}, headers {headers_len})"
                )));
            }
            if self.buf.len() < total {
                break;
            }
            let frame = self.buf.split_to(total).freeze();
            self.ready.push_back(parse_message(frame, headers_len)?);
        }
        Ok(())
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn invalid(message: String) -> BlazenError {
    BlazenError::invalid_response("", message, b"")
}

/// Parses one complete message whose prelude is already checked (`frame.len()` is the total).
fn parse_message(frame: Bytes, headers_len: usize) -> Result<Message, BlazenError> {
    let total = frame.len();
    let crc = be_u32(&frame[total - 4..]);
    if crc32fast::hash(&frame[..total - 4]) != crc {
        return Err(BlazenError::stream(
            "",
            "event stream message CRC mismatch (data damaged in transit)",
        ));
    }
    let mut headers_bytes = frame.slice(PRELUDE..PRELUDE + headers_len);
    let payload = frame.slice(PRELUDE + headers_len..total - 4);
    let mut headers = Vec::new();
    while headers_bytes.has_remaining() {
        let name_len = usize::from(headers_bytes.get_u8());
        let name = take(&mut headers_bytes, name_len, "header name")?;
        let name = String::from_utf8(name.to_vec())
            .map_err(|_| invalid("event stream header name is not UTF-8".to_owned()))?;
        let ty = take(&mut headers_bytes, 1, "header type")?[0];
        let value =
            match ty {
                0 => HeaderValue::Bool(true),
                1 => HeaderValue::Bool(false),
                2 => HeaderValue::Byte(i8::from_be_bytes(fixed(&mut headers_bytes)?)),
                3 => HeaderValue::Short(i16::from_be_bytes(fixed(&mut headers_bytes)?)),
                4 => HeaderValue::Int(i32::from_be_bytes(fixed(&mut headers_bytes)?)),
                5 => HeaderValue::Long(i64::from_be_bytes(fixed(&mut headers_bytes)?)),
                6 | 7 => {
                    let len = usize::from(u16::from_be_bytes(fixed(&mut headers_bytes)?));
                    let raw = take(&mut headers_bytes, len, "header value")?;
                    if ty == 6 {
                        HeaderValue::Bytes(raw)
                    } else {
                        HeaderValue::String(String::from_utf8(raw.to_vec()).map_err(|_| {
                            invalid(format!("event stream header {name} is not UTF-8"))
                        })?)
                    }
                }
                8 => HeaderValue::Timestamp(i64::from_be_bytes(fixed(&mut headers_bytes)?)),
                9 => HeaderValue::Uuid(fixed(&mut headers_bytes)?),
                other => {
                    return Err(invalid(format!(
                        "event stream header {name} has unknown type {other}"
                    )))
                }
            };
        headers.push((name, value));
    }
    Ok(Message { headers, payload })
}

/// Takes `n` bytes of the headers block, or fails if it is shorter.
fn take(b: &mut Bytes, n: usize, what: &str) -> Result<Bytes, BlazenError> {
    if b.remaining() < n {
        return Err(invalid(format!(
            "event stream {what} runs past the headers block"
        )));
    }
    Ok(b.split_to(n))
}

fn fixed<const N: usize>(b: &mut Bytes) -> Result<[u8; N], BlazenError> {
    let raw = take(b, N, "header value")?;
    let mut out = [0u8; N];
    out.copy_from_slice(&raw);
    Ok(out)
}

/// Decodes an event-stream body into its `event` messages. An `exception`/`error` message, a
/// decoding error, a read error or no data for [`IDLE_TIMEOUT`](crate::http::IDLE_TIMEOUT)
/// ends the stream with that error (after the messages before it); errors are attributed to
/// `provider`.
pub(crate) fn event_stream_messages<S>(
    provider: &str,
    byte_stream: S,
) -> impl Stream<Item = Result<Message, BlazenError>>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>>,
{
    struct State<S> {
        provider: String,
        inner: Pin<Box<S>>,
        decoder: EventStreamDecoder,
        error: Option<BlazenError>,
        done: bool,
    }
    let state = State {
        provider: provider.to_owned(),
        inner: Box::pin(byte_stream),
        decoder: EventStreamDecoder::new(),
        error: None,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(msg) = st.decoder.next_message() {
                if let Some(err) = msg.to_error(&st.provider) {
                    st.error = None;
                    st.done = true;
                    // Drop whatever followed the exception: the stream is over.
                    while st.decoder.next_message().is_some() {}
                    return Some((Err(err), st));
                }
                return Some((Ok(msg), st));
            }
            if let Some(err) = st.error.take() {
                return Some((Err(err.with_provider(&st.provider)), st));
            }
            if st.done {
                return None;
            }
            // A silent connection fails after the idle limit instead of hanging.
            let read = match crate::http::idle_limited(&st.provider, st.inner.next()).await {
                Ok(read) => read,
                Err(timeout) => {
                    st.error = Some(timeout);
                    st.done = true;
                    continue;
                }
            };
            match read {
                Some(Ok(bytes)) => {
                    if let Err(err) = st.decoder.push(&bytes) {
                        st.error = Some(err);
                        st.done = true;
                    }
                }
                Some(Err(err)) => {
                    st.error = Some(BlazenError::from_reqwest(&st.provider, err));
                    st.done = true;
                }
                None => {
                    if let Err(err) = st.decoder.finish() {
                        st.error = Some(err);
                    }
                    st.done = true;
                }
            }
        }
    })
}

#[cfg(test)]
#[path = "eventstream/tests.rs"]
mod tests;
