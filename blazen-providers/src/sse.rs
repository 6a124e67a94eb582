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
//! copied (once) into the buffer. An event whose data is one `data:` line read whole hands out
//! that line as a slice of the read ([`SseData`], no copy); several data lines, or a line carried
//! across reads, are joined into one buffer. The data's UTF-8 is not checked by the decoder: a
//! JSON consumer validates it once while parsing ([`SseData::raw`] + `serde_json::from_slice`),
//! and the text view ([`SseData`] derefs to `str`) decodes the whole data, so a UTF-8 character
//! split across reads arrives intact and invalid UTF-8 reads as U+FFFD, as the standard says.
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
use std::sync::OnceLock;

use bytes::Bytes;
use futures::Stream;

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
    pub(crate) data: SseData,
    /// The last event id (`id:`) seen so far in the stream, as the standard defines it; it
    /// carries over to later events. `None` if never set or set to an empty value.
    pub(crate) id: Option<String>,
    /// The `retry:` value (milliseconds) given in this block, if any.
    pub(crate) retry: Option<u64>,
}

/// An event's data: the raw bytes of its `data:` lines joined with `\n` (often a slice of the
/// network read, not a copy). Derefs to the text, with invalid UTF-8 as U+FFFD; a JSON
/// consumer parses [`raw`](Self::raw) with `serde_json::from_slice` instead, which validates
/// UTF-8 once, while parsing.
#[derive(Clone, Default)]
pub(crate) struct SseData {
    bytes: Bytes,
    /// The text with U+FFFD replacements, made on first use when the bytes are not UTF-8.
    lossy: OnceLock<String>,
}

impl SseData {
    /// The data's bytes as received (UTF-8 unchecked).
    pub(crate) fn raw(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the data is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn text(&self) -> &str {
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => text,
            Err(_) => self
                .lossy
                .get_or_init(|| String::from_utf8_lossy(&self.bytes).into_owned()),
        }
    }
}

impl std::ops::Deref for SseData {
    type Target = str;

    fn deref(&self) -> &str {
        self.text()
    }
}

impl From<Bytes> for SseData {
    fn from(bytes: Bytes) -> Self {
        SseData {
            bytes,
            lossy: OnceLock::new(),
        }
    }
}

impl From<&str> for SseData {
    fn from(text: &str) -> Self {
        Bytes::copy_from_slice(text.as_bytes()).into()
    }
}

impl PartialEq for SseData {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SseData {}

impl PartialEq<&str> for SseData {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}

impl std::fmt::Debug for SseData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.text(), f)
    }
}

/// The data of the block being read.
#[derive(Debug, Default)]
enum BlockData {
    /// No `data` line yet.
    #[default]
    None,
    /// One `data` line (a slice of the read, or a copy of a line carried across reads).
    One(Bytes),
    /// Several `data` lines joined with `\n`.
    Joined(Vec<u8>),
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
    data: BlockData,
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
            data: BlockData::None,
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
        if self.head.is_empty() && (input.len() >= BOM.len() || !BOM.starts_with(&input)) {
            // The whole BOM check is in this read: no copy of it.
            self.bom_done = true;
            let skip = if input.starts_with(BOM) { BOM.len() } else { 0 };
            self.chunk = input.slice(skip..);
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
                        let ev = self.process_line(&line, None)?;
                        return Ok(ev.or_else(|| self.dispatch()));
                    }
                    Some(i) => {
                        self.buf.extend_from_slice(&rest[..i]);
                        let (next, skip) = line_end(rest, i);
                        self.pos += next;
                        self.skip_lf = skip;
                        let mut line = std::mem::take(&mut self.buf);
                        let ev = self.process_line(&line, None);
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
                    if let Some(ev) = self.process_line(&rest[..i], Some(chunk))? {
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

    /// Interprets one line (a slice of `read` if given, so that data can be handed out without
    /// a copy); a blank line dispatches the block.
    fn process_line(
        &mut self,
        line: &[u8],
        read: Option<&Bytes>,
    ) -> Result<Option<SseEvent>, BlazenError> {
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
                let len = match &mut self.data {
                    BlockData::None => {
                        self.data = BlockData::One(match read {
                            Some(read) => read.slice_ref(value),
                            None => Bytes::copy_from_slice(value),
                        });
                        value.len()
                    }
                    BlockData::One(first) => {
                        let mut joined = Vec::with_capacity(first.len() + 1 + value.len());
                        joined.extend_from_slice(first);
                        joined.push(b'\n');
                        joined.extend_from_slice(value);
                        let len = joined.len();
                        self.data = BlockData::Joined(joined);
                        len
                    }
                    BlockData::Joined(joined) => {
                        joined.push(b'\n');
                        joined.extend_from_slice(value);
                        joined.len()
                    }
                };
                if len > self.max_size {
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
        let data = match std::mem::take(&mut self.data) {
            BlockData::None => return None,
            BlockData::One(bytes) => bytes,
            BlockData::Joined(joined) => Bytes::from(joined),
        };
        Some(SseEvent {
            event,
            data: data.into(),
            id: self.last_id.clone(),
            retry,
        })
    }
}

/// Decodes a body of SSE bytes into events: a decoder error or a read error ends the stream
/// with that error (after the events decoded before it). Errors carry no provider name; add it
/// with `BlazenError::with_provider`.
pub(crate) fn sse_events<S>(byte_stream: S) -> SseStream<S>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>>,
{
    SseStream {
        inner: Box::pin(byte_stream),
        decoder: SseDecoder::new(),
        eof: false,
        over: false,
    }
}

/// The stream of [`sse_events`]: a plain state machine (an `unfold` moved its state in and out
/// of a new future for every event, two `memcpy`s per event).
pub(crate) struct SseStream<S> {
    inner: Pin<Box<S>>,
    decoder: SseDecoder,
    /// No more reads: the input ended or failed.
    eof: bool,
    /// The stream is over (ended, or an error was yielded).
    over: bool,
}

impl<S> Stream for SseStream<S>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>>,
{
    type Item = Result<SseEvent, BlazenError>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        if this.over {
            return Poll::Ready(None);
        }
        loop {
            match this.decoder.next_event() {
                Ok(Some(ev)) => return Poll::Ready(Some(Ok(ev))),
                Ok(None) if this.eof => {
                    this.over = true;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(err) => {
                    this.over = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => this.decoder.push(bytes),
                Poll::Ready(Some(Err(err))) => {
                    this.over = true;
                    return Poll::Ready(Some(Err(BlazenError::from_reqwest("", err))));
                }
                Poll::Ready(None) => {
                    this.decoder.finish();
                    this.eof = true;
                }
            }
        }
    }
}

impl<S> std::fmt::Debug for SseStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseStream")
            .field("decoder", &self.decoder)
            .field("eof", &self.eof)
            .field("over", &self.over)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "sse/tests.rs"]
mod tests;
