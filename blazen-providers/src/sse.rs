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

/// An incremental, pull-based SSE decoder: [`push`](Self::push) a read, take events with
/// [`next_event`](Self::next_event) until it returns `Ok(None)`, push the next read; after the
/// last read call [`finish`](Self::finish) and take the remaining events.
///
/// Events are parsed when they are taken, so a read holding thousands of events never
/// materialises them all at once: memory stays at one read plus one event.
#[derive(Debug)]
pub(crate) struct SseDecoder {
    /// The current read, parsed up to `pos`.
    chunk: Bytes,
    pos: usize,
    /// An incomplete line carried over from earlier reads.
    buf: Vec<u8>,
    /// Before the BOM check: the first bytes of the stream (fewer than 3).
    head: Vec<u8>,
    /// The previous line ended with a CR at the end of a read: an LF starting the next read
    /// belongs to it.
    skip_lf: bool,
    /// The leading BOM has been checked (and skipped if present).
    bom_done: bool,
    /// [`finish`](Self::finish) was called: no more input.
    eof: bool,
    /// Data of the current block.
    data: String,
    /// Whether the current block has at least one `data` line.
    has_data: bool,
    event: Option<String>,
    retry: Option<u64>,
    last_id: Option<String>,
    max_size: usize,
    failed: Option<BlazenError>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the line ending at `i` (a CR or LF of `rest`) ends, and whether it is a CR at the very
/// end of the read (so an LF at the start of the next read must be skipped).
fn line_end(rest: &[u8], i: usize) -> (usize, bool) {
    if rest[i] == b'\r' {
        match rest.get(i + 1) {
            Some(b'\n') => (i + 2, false),
            Some(_) => (i + 1, false),
            None => (i + 1, true),
        }
    } else {
        (i + 1, false)
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
            chunk: Bytes::new(),
            pos: 0,
            buf: Vec::new(),
            head: Vec::new(),
            skip_lf: false,
            bom_done: false,
            eof: false,
            data: String::new(),
            has_data: false,
            event: None,
            retry: None,
            last_id: None,
            max_size,
            failed: None,
        }
    }

    /// Feeds the next read (a `Bytes` from the HTTP body: not copied). Take the events of the
    /// previous read first: an unparsed remainder is joined with this read (one copy).
    pub(crate) fn push(&mut self, input: Bytes) {
        let input = if self.pos < self.chunk.len() {
            let mut joined = Vec::with_capacity(self.chunk.len() - self.pos + input.len());
            joined.extend_from_slice(&self.chunk[self.pos..]);
            joined.extend_from_slice(&input);
            Bytes::from(joined)
        } else {
            input
        };
        self.pos = 0;
        if self.bom_done {
            self.chunk = input;
            return;
        }
        self.head.extend_from_slice(&input);
        if self.head.len() < BOM.len() && BOM.starts_with(&self.head) {
            self.chunk = Bytes::new(); // could still be a BOM split across reads
            return;
        }
        self.take_head();
    }

    /// Ends the BOM check: the stream's first bytes, minus a BOM, become the current read.
    fn take_head(&mut self) {
        self.bom_done = true;
        let head = std::mem::take(&mut self.head);
        let skip = if head.starts_with(BOM) { BOM.len() } else { 0 };
        self.chunk = Bytes::from(head).slice(skip..);
        self.pos = 0;
    }

    /// Marks the end of the input. The remaining events, including an unterminated final
    /// block (see the module docs), come out of [`next_event`](Self::next_event).
    pub(crate) fn finish(&mut self) {
        if !self.bom_done {
            self.take_head();
        }
        self.eof = true;
    }

    /// The next complete event: `Ok(None)` when the input pushed so far holds no more (push
    /// the next read, or, after [`finish`](Self::finish), the stream is over). After an error
    /// the decoder stays failed and repeats it.
    pub(crate) fn next_event(&mut self) -> Result<Option<SseEvent>, BlazenError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        // Lend the current read to the parser (no reference-count traffic), then put it back.
        let chunk = std::mem::take(&mut self.chunk);
        let result = self.next_event_inner(&chunk);
        self.chunk = chunk;
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn next_event_inner(&mut self, chunk: &Bytes) -> Result<Option<SseEvent>, BlazenError> {
        loop {
            if !self.bom_done {
                return Ok(None);
            }
            if !self.buf.is_empty() {
                // Complete the carried line with the current read.
                let rest = &chunk[self.pos..];
                match memchr::memchr2(b'\n', b'\r', rest) {
                    None => {
                        self.buf.extend_from_slice(rest);
                        self.pos = chunk.len();
                        self.check_line(self.buf.len())?;
                        if !self.eof {
                            return Ok(None);
                        }
                        let line = std::mem::take(&mut self.buf);
                        let ev = self.process_line(&line)?;
                        return Ok(ev.or_else(|| self.dispatch()));
                    }
                    Some(i) => {
                        self.buf.extend_from_slice(&rest[..i]);
                        let (next, skip) = line_end(rest, i);
                        self.pos += next;
                        self.skip_lf = skip;
                        let mut line = std::mem::take(&mut self.buf);
                        let ev = self.process_line(&line);
                        line.clear();
                        self.buf = line; // keep the allocation
                        if let Some(ev) = ev? {
                            return Ok(Some(ev));
                        }
                        continue;
                    }
                }
            }
            if self.skip_lf && self.pos < chunk.len() {
                self.skip_lf = false;
                if chunk[self.pos] == b'\n' {
                    self.pos += 1;
                }
            }
            let rest = &chunk[self.pos..];
            if rest.is_empty() {
                return Ok(if self.eof { self.dispatch() } else { None });
            }
            match memchr::memchr2(b'\n', b'\r', rest) {
                None => {
                    // A partial line: carry it (checked against the limit) to the next read.
                    self.check_line(rest.len())?;
                    self.buf.extend_from_slice(rest);
                    self.pos = chunk.len();
                    if !self.eof {
                        return Ok(None);
                    }
                }
                Some(i) => {
                    let (next, skip) = line_end(rest, i);
                    self.pos += next;
                    self.skip_lf = skip;
                    if let Some(ev) = self.process_line(&rest[..i])? {
                        return Ok(Some(ev));
                    }
                }
            }
        }
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

    /// Interprets one line; a blank line dispatches the block.
    fn process_line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, BlazenError> {
        self.check_line(line.len())?;
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None); // comment
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
                    self.data.push_str(&utf8_text(value));
                } else {
                    // The first line: one allocation of the right size.
                    self.data = utf8_text(value).into_owned();
                    self.has_data = true;
                }
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
        Ok(None)
    }

    /// Ends the current block: the event, unless the block had no `data` line.
    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let retry = self.retry.take();
        if !self.has_data {
            self.data.clear();
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry,
        })
    }
}

/// Decodes a body of SSE bytes into events: a decoder error or a read error ends the stream
/// with that error (after the events decoded before it). Errors carry no provider name; add it
/// with `BlazenError::with_provider`.
pub(crate) fn sse_events<S>(byte_stream: S) -> impl Stream<Item = Result<SseEvent, BlazenError>>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>>,
{
    struct State<S> {
        inner: Pin<Box<S>>,
        decoder: SseDecoder,
        /// No more reads: the input ended or failed.
        eof: bool,
        /// An error was yielded: the stream is over.
        over: bool,
    }
    let state = State {
        inner: Box::pin(byte_stream),
        decoder: SseDecoder::new(),
        eof: false,
        over: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        if st.over {
            return None;
        }
        loop {
            match st.decoder.next_event() {
                Ok(Some(ev)) => return Some((Ok(ev), st)),
                Ok(None) if st.eof => return None,
                Ok(None) => {}
                Err(err) => {
                    st.over = true;
                    return Some((Err(err), st));
                }
            }
            match st.inner.next().await {
                Some(Ok(bytes)) => st.decoder.push(bytes),
                Some(Err(err)) => {
                    st.over = true;
                    return Some((Err(BlazenError::from_reqwest("", err)), st));
                }
                None => {
                    st.decoder.finish();
                    st.eof = true;
                }
            }
        }
    })
}

/// A line's text: borrowed when it is valid UTF-8 (`str::from_utf8` has an ASCII fast path;
/// `from_utf8_lossy` walks `Utf8Chunks`, measurably slower per event), U+FFFD replacements
/// otherwise, as the standard says.
fn utf8_text(value: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(value) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value),
    }
}

#[cfg(test)]
#[path = "sse/tests.rs"]
mod tests;
