//! A linear-time, spec-complete Server-Sent Events decoder.
//!
//! Implements the event-stream interpretation of the WHATWG HTML standard ("9.2.6 Interpreting
//! an event stream"): one leading UTF-8 BOM is skipped; lines end with LF, CRLF or CR (a CRLF
//! split across two reads is one line end); a line starting with `:` is a comment; `field:
//! value` drops one space after the colon; a line without a colon is a field with an empty value;
//! `data` lines are joined with `\n`; `event`, `id` (ignored if it contains NUL) and `retry`
//! (ASCII digits only) are honoured; a blank line dispatches the event unless no `data` line was
//! seen. Unknown fields are ignored.
//!
//! Decoding is linear in the input: each byte is scanned once (`memchr`), complete lines are
//! parsed straight from the read when nothing is buffered, and only a trailing partial line is
//! copied (once) into the buffer. Text is decoded per complete line, so a UTF-8 character split
//! across reads arrives intact (invalid UTF-8 becomes U+FFFD, as the standard says).
//!
//! Two documented choices:
//! - **Unterminated final block.** The standard discards an event not followed by a blank line.
//!   [`SseDecoder::finish`] instead processes the trailing partial line and dispatches the
//!   pending block, because real servers end with `data: [DONE]` and no blank line. A *truncated*
//!   stream is therefore detected by the caller from its protocol: no terminal event (`[DONE]`,
//!   a finish reason, `message_stop`) means truncated, and that is an error.
//! - **Limits.** A line or an event's data longer than the limit (16 MiB by default) is an
//!   [`BlazenError::InvalidResponse`], not unbounded growth. After an error the decoder stays
//!   failed and repeats that error.

use std::collections::VecDeque;
use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::BlazenError;

/// Default limit of one line and of one event's data, in bytes.
pub(crate) const DEFAULT_MAX_SIZE: usize = 16 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field of the block (`None`: the default type, "message").
    pub(crate) event: Option<String>,
    /// The `data:` lines of the block joined with `\n`.
    pub(crate) data: String,
    /// The last event id (`id:`) seen so far in the stream, as the standard defines it; it
    /// carries over to later events. `None` if never set or set to an empty value.
    pub(crate) id: Option<String>,
    /// The `retry:` value (milliseconds) given in this block, if any.
    pub(crate) retry: Option<u64>,
}

/// An incremental SSE decoder: [`push`](Self::push) bytes as they arrive, take events with
/// [`next_event`](Self::next_event), call [`finish`](Self::finish) at the end of the input.
#[derive(Debug)]
pub(crate) struct SseDecoder {
    /// Bytes of an incomplete line (or, before the BOM check, of the stream start).
    buf: Vec<u8>,
    /// Bytes at the start of `buf` already scanned without finding a line end.
    scanned: usize,
    /// The previous read ended with CR: an LF at the start of the next read belongs to it.
    skip_lf: bool,
    /// The leading BOM has been checked (and skipped if present).
    bom_done: bool,
    /// Data of the current block.
    data: String,
    /// Whether the current block has at least one `data` line.
    has_data: bool,
    event: Option<String>,
    retry: Option<u64>,
    last_id: Option<String>,
    ready: VecDeque<SseEvent>,
    max_size: usize,
    failed: Option<BlazenError>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default size limit ([`DEFAULT_MAX_SIZE`]).
    pub(crate) fn new() -> Self {
        Self::with_max_size(DEFAULT_MAX_SIZE)
    }

    /// A decoder whose lines and event data may not exceed `max_size` bytes.
    pub(crate) fn with_max_size(max_size: usize) -> Self {
        Self {
            buf: Vec::new(),
            scanned: 0,
            skip_lf: false,
            bom_done: false,
            data: String::new(),
            has_data: false,
            event: None,
            retry: None,
            last_id: None,
            ready: VecDeque::new(),
            max_size,
            failed: None,
        }
    }

    /// The next complete event, if any.
    pub(crate) fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// Feeds the next read. Complete events become available through
    /// [`next_event`](Self::next_event) (those before an error too).
    pub(crate) fn push(&mut self, input: &[u8]) -> Result<(), BlazenError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.push_inner(input);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn push_inner(&mut self, input: &[u8]) -> Result<(), BlazenError> {
        if !self.bom_done {
            self.buf.extend_from_slice(input);
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
                return Ok(()); // could still be a BOM split across reads
            }
            self.bom_done = true;
            if self.buf.starts_with(BOM) {
                self.buf.drain(..BOM.len());
            }
            self.scanned = 0;
            return self.process_buffered();
        }
        if self.buf.is_empty() {
            // Fast path: parse straight from the read, keep only the trailing partial line.
            let consumed = self.parse_lines(input, 0)?;
            let rest = &input[consumed..];
            self.check_line(rest.len())?;
            self.buf.extend_from_slice(rest);
            self.scanned = rest.len();
            Ok(())
        } else {
            self.buf.extend_from_slice(input);
            self.process_buffered()
        }
    }

    /// Parses the complete lines of `buf`, then drains them once.
    fn process_buffered(&mut self) -> Result<(), BlazenError> {
        let buf = std::mem::take(&mut self.buf);
        let result = self.parse_lines(&buf, self.scanned);
        self.buf = buf;
        let consumed = result?;
        if consumed > 0 {
            self.buf.drain(..consumed);
        }
        self.scanned = self.buf.len();
        self.check_line(self.buf.len())
    }

    /// Processes every complete line of `data`, searching for line ends from `scan_from`.
    /// Returns how many bytes were consumed.
    fn parse_lines(&mut self, data: &[u8], scan_from: usize) -> Result<usize, BlazenError> {
        let mut start = 0;
        if self.skip_lf && !data.is_empty() {
            self.skip_lf = false;
            if data[0] == b'\n' {
                start = 1;
            }
        }
        let mut search = scan_from.max(start);
        while let Some(off) = memchr::memchr2(b'\n', b'\r', &data[search..]) {
            let end = search + off;
            let next = if data[end] == b'\r' {
                match data.get(end + 1) {
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                    None => {
                        self.skip_lf = true;
                        end + 1
                    }
                }
            } else {
                end + 1
            };
            self.process_line(&data[start..end])?;
            start = next;
            search = next;
        }
        Ok(start)
    }

    fn check_line(&self, len: usize) -> Result<(), BlazenError> {
        if len > self.max_size {
            Err(BlazenError::invalid_response(
                "",
                format!("SSE line longer than {} bytes", self.max_size),
                b"",
            ))
        } else {
            Ok(())
        }
    }

    fn process_line(&mut self, line: &[u8]) -> Result<(), BlazenError> {
        self.check_line(line.len())?;
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(()); // comment
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.has_data = true;
                self.data.push_str(&String::from_utf8_lossy(value));
                if self.data.len() > self.max_size {
                    return Err(BlazenError::invalid_response(
                        "",
                        format!("SSE event data longer than {} bytes", self.max_size),
                        b"",
                    ));
                }
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            // An id containing NUL is ignored; an empty id resets the last event id.
            b"id" if !value.contains(&0) => {
                self.last_id =
                    (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            // Digits only; a value too large for u64 is ignored like any invalid one.
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {} // unknown fields are ignored
        }
        Ok(())
    }

    fn dispatch(&mut self) {
        let event = self.event.take();
        let retry = self.retry.take();
        if !self.has_data {
            self.data.clear();
            return;
        }
        self.has_data = false;
        self.ready.push_back(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry,
        });
    }

    /// Ends the input: processes a trailing line without a line end and dispatches a pending
    /// block that has data (see the module docs for this choice).
    pub(crate) fn finish(&mut self) -> Result<(), BlazenError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let bom_pending = !self.bom_done;
        self.bom_done = true;
        if !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            let line = if bom_pending && buf.starts_with(BOM) {
                &buf[BOM.len()..]
            } else {
                &buf[..]
            };
            let result = self.process_line(line);
            self.scanned = 0;
            if let Err(err) = result {
                self.failed = Some(err.clone());
                return Err(err);
            }
        }
        self.dispatch();
        Ok(())
    }
}

/// Decodes a body of SSE bytes into events: decoder errors and read errors end the stream with
/// an error (after the events decoded before it). Errors carry no provider name; add it with
/// `BlazenError::with_provider`.
pub(crate) fn sse_events<S>(byte_stream: S) -> impl Stream<Item = Result<SseEvent, BlazenError>>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>>,
{
    struct State<S> {
        inner: Pin<Box<S>>,
        decoder: SseDecoder,
        error: Option<BlazenError>,
        done: bool,
    }
    let state = State {
        inner: Box::pin(byte_stream),
        decoder: SseDecoder::new(),
        error: None,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.decoder.next_event() {
                return Some((Ok(ev), st));
            }
            if let Some(err) = st.error.take() {
                return Some((Err(err), st));
            }
            if st.done {
                return None;
            }
            match st.inner.next().await {
                Some(Ok(bytes)) => {
                    if let Err(err) = st.decoder.push(&bytes) {
                        st.error = Some(err);
                        st.done = true;
                    }
                }
                Some(Err(err)) => {
                    st.error = Some(BlazenError::from_reqwest("", err));
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
#[path = "sse/tests.rs"]
mod tests;
