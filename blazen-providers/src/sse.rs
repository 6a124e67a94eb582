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
//! that line where it is in the read: borrowed ([`SseEventRef`], read with
//! [`SseDecoder::advance`] and [`SseDecoder::current`]: no allocation, copy or reference count
//! per event) or owned ([`SseEvent`], a slice of the read); several data lines, or a line
//! carried across reads, are joined into one reused buffer. The data's UTF-8 is not checked by
//! the decoder: a JSON consumer checks it once over the whole data, and the text view
//! ([`SseData`] derefs to `str`) decodes the whole data, so a UTF-8 character split across
//! reads arrives intact and invalid UTF-8 reads as U+FFFD, as the standard says.
//!
//! Two documented choices:
//! - **Unterminated final block.** The standard discards an event not followed by a blank line.
//!   [`SseDecoder::finish`] instead processes the trailing partial line and dispatches the
//!   pending block, because real servers end with `data: [DONE]` and no blank line. A *truncated*
//!   stream is therefore detected by the caller from its protocol: no terminal event (`[DONE]`,
//!   a finish reason, `message_stop`) means truncated, and that is an error; a final piece
//!   whose JSON ends early was cut inside its `data:` line ([`frame_json_error`]: a retryable
//!   stream error).
//! - **Limits.** A line or an event's data longer than the limit (16 MiB by default) is an
//!   [`BlazenError::InvalidResponse`], not unbounded growth. After an error the decoder stays
//!   failed and repeats that error.

use std::pin::Pin;
use std::sync::OnceLock;

use bytes::Bytes;
use futures::Stream;

use crate::error::BlazenError;

/// The error of a stream event whose JSON does not parse. JSON that ends early is a stream cut
/// inside an event (the body ended inside a `data:` line, and the lenient end of the decoder
/// handed out the piece): a retryable [`BlazenError::Stream`], whether the body was chunked or
/// ended by closing the connection. Any other syntax error is an
/// [`BlazenError::InvalidResponse`]. Both keep the frame as the raw body.
pub(crate) fn frame_json_error(provider: &str, err: &serde_json::Error, data: &str) -> BlazenError {
    if err.is_eof() {
        BlazenError::stream(
            provider,
            format!("the stream was cut inside an event: {err}"),
        )
        .with_raw_body(data)
    } else {
        BlazenError::invalid_response(provider, format!("bad stream event: {err}"), data)
    }
}

/// A boxed [`BlazenError`]: what the per-event paths return on failure, so that their results
/// stay two words and come back in registers (a `Result` holding the error itself is returned
/// through memory, and reading it back right after it was written stalls on every event).
pub(crate) type BoxedError = Box<BlazenError>;

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
/// network read, not a copy). Derefs to the text, with invalid UTF-8 as U+FFFD.
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

/// An event as the decoder holds it: borrowed from the decoder (no copy, no allocation, no
/// reference count), valid until the decoder is used again. [`SseEvent`] is the owned form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SseEventRef<'a> {
    /// The `event:` field of the block (`None`: the default type, "message").
    pub(crate) event: Option<&'a str>,
    /// The `data:` lines of the block joined with `\n`, as received (UTF-8 unchecked).
    pub(crate) data: &'a [u8],
    /// The last event id seen so far in the stream (see [`SseEvent::id`]).
    pub(crate) id: Option<&'a str>,
    /// The `retry:` value (milliseconds) given in this block, if any.
    pub(crate) retry: Option<u64>,
}

/// Where the data of a block (being read, or just dispatched) is.
#[derive(Debug, Default)]
enum BlockData {
    /// No `data` line yet.
    #[default]
    None,
    /// One `data` line: `start..end` of the current read.
    InRead(usize, usize),
    /// One `data` line of an earlier read (kept without a copy when the read was replaced).
    Kept(Bytes),
    /// In [`SseDecoder::joined`]: several `data` lines joined with `\n`, or one line carried
    /// across reads.
    Joined,
}

/// An event dispatched by [`SseDecoder::advance`], read with [`SseDecoder::current`].
#[derive(Debug)]
struct Dispatched {
    data: BlockData,
    /// The block had an `event` field (its value is in [`SseDecoder::event`]).
    event: bool,
    retry: Option<u64>,
}

/// An incremental, pull-based SSE decoder: [`push`](Self::push) a read, take events until
/// there are no more, push the next read; after the last read call [`finish`](Self::finish)
/// and take the remaining events. Events are taken either borrowed
/// ([`advance`](Self::advance) then [`current`](Self::current): no allocation per event) or
/// owned ([`take_current`](Self::take_current) instead of `current`).
///
/// Events are parsed when they are taken, so a read holding thousands of events never
/// materialises them all at once: memory stays at one read plus one event.
#[derive(Debug)]
pub(crate) struct SseDecoder {
    /// The current read, parsed up to `pos`.
    chunk: Bytes,
    pos: usize,
    /// Reads pushed before the current one was parsed to its end, in order (not copied).
    queued: std::collections::VecDeque<Bytes>,
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
    /// The storage of [`BlockData::Joined`], reused from event to event.
    joined: Vec<u8>,
    /// The `event` field of the current (or just dispatched) block, reused; `event_set`: the
    /// current block has one.
    event: String,
    event_set: bool,
    retry: Option<u64>,
    /// The last event id (meaningful when `has_id`: set and not empty), reused.
    last_id: String,
    has_id: bool,
    /// The event dispatched by the last [`advance`](Self::advance), until the next call.
    dispatched: Option<Dispatched>,
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
            queued: std::collections::VecDeque::new(),
            buf: Vec::new(),
            head: Vec::new(),
            skip_lf: false,
            bom_done: false,
            eof: false,
            data: BlockData::None,
            joined: Vec::new(),
            event: String::new(),
            event_set: false,
            retry: None,
            last_id: String::new(),
            has_id: false,
            dispatched: None,
            max_size,
            failed: None,
        }
    }

    /// Forgets the event handed out by the last [`advance`](Self::advance): its storage may be
    /// reused from now on.
    fn release(&mut self) {
        if let Some(d) = self.dispatched.take() {
            if matches!(d.data, BlockData::Joined) {
                self.joined.clear();
            }
        }
    }

    /// Feeds the next read (a `Bytes` from the HTTP body: not copied). A read pushed before
    /// the previous ones are parsed to their end waits in a queue (still not copied).
    pub(crate) fn push(&mut self, input: Bytes) {
        self.release();
        if self.pos < self.chunk.len() || !self.queued.is_empty() {
            self.queued.push_back(input);
            return;
        }
        if self.bom_done {
            self.next_read(input);
            return;
        }
        self.pos = 0;
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

    /// Makes `input` the current read (the previous one is parsed to its end): the block's
    /// data line, if it is in the old read, is kept (not copied).
    fn next_read(&mut self, input: Bytes) {
        if let BlockData::InRead(start, end) = self.data {
            self.data = BlockData::Kept(self.chunk.slice(start..end));
        }
        self.chunk = input;
        self.pos = 0;
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
    /// block (see the module docs), are still to be taken.
    pub(crate) fn finish(&mut self) {
        self.release();
        if !self.bom_done {
            self.take_head();
        }
        self.eof = true;
    }

    /// Parses up to the next complete event: `Ok(true)` when there is one (read it with
    /// [`current`](Self::current) before using the decoder again), `Ok(false)` when the input
    /// pushed so far holds no more (push the next read, or, after [`finish`](Self::finish),
    /// the stream is over). After an error the decoder stays failed and repeats it.
    pub(crate) fn advance(&mut self) -> Result<bool, BoxedError> {
        self.release();
        if let Some(err) = &self.failed {
            return Err(Box::new(err.clone()));
        }
        loop {
            // Lend the current read to the parser (no reference-count traffic), then put it
            // back.
            let chunk = std::mem::take(&mut self.chunk);
            let result = self.advance_inner(&chunk);
            self.chunk = chunk;
            match result {
                // The current read is parsed to its end: go on with a queued one.
                Ok(false) if !self.queued.is_empty() => {
                    if let Some(next) = self.queued.pop_front() {
                        self.next_read(next);
                    }
                }
                Err(err) => {
                    self.failed = Some(BlazenError::clone(&err));
                    return Err(err);
                }
                result => return result,
            }
        }
    }

    /// No more input at all: [`finish`](Self::finish) was called and every read is parsed
    /// up to the current one.
    fn at_end(&self) -> bool {
        self.eof && self.queued.is_empty()
    }

    /// The event found by the last [`advance`](Self::advance) (`None` if it found none),
    /// borrowed from the decoder.
    pub(crate) fn current(&self) -> Option<SseEventRef<'_>> {
        let d = self.dispatched.as_ref()?;
        let data: &[u8] = match &d.data {
            BlockData::None => b"",
            BlockData::InRead(start, end) => &self.chunk[*start..*end],
            BlockData::Kept(bytes) => bytes,
            BlockData::Joined => &self.joined,
        };
        Some(SseEventRef {
            event: d.event.then_some(self.event.as_str()),
            data,
            id: self.has_id.then_some(self.last_id.as_str()),
            retry: d.retry,
        })
    }

    /// The event found by the last [`advance`](Self::advance), owned (its data a slice of the
    /// read when it is one line).
    pub(crate) fn take_current(&mut self) -> Option<SseEvent> {
        let d = self.dispatched.take()?;
        let data = match d.data {
            BlockData::None => Bytes::new(),
            BlockData::InRead(start, end) => self.chunk.slice(start..end),
            BlockData::Kept(bytes) => bytes,
            BlockData::Joined => Bytes::from(std::mem::take(&mut self.joined)),
        };
        Some(SseEvent {
            event: d.event.then(|| self.event.clone()),
            data: data.into(),
            id: self.has_id.then(|| self.last_id.clone()),
            retry: d.retry,
        })
    }

    /// The next complete event, owned: `Ok(None)` when the input pushed so far holds no more
    /// (see [`advance`](Self::advance)). The streams use `advance` and `current` or
    /// `take_current`; the decoder's tests use this.
    #[cfg(test)]
    pub(crate) fn next_event(&mut self) -> Result<Option<SseEvent>, BlazenError> {
        Ok(if self.advance().map_err(|e| *e)? {
            self.take_current()
        } else {
            None
        })
    }

    fn advance_inner(&mut self, chunk: &Bytes) -> Result<bool, BoxedError> {
        loop {
            if !self.bom_done {
                return Ok(false);
            }
            if !self.buf.is_empty() {
                // Complete the carried line with the current read.
                let rest = &chunk[self.pos..];
                match memchr::memchr2(b'\n', b'\r', rest) {
                    None => {
                        self.buf.extend_from_slice(rest);
                        self.pos = chunk.len();
                        self.check_line(self.buf.len())?;
                        if !self.at_end() {
                            return Ok(false);
                        }
                        let line = std::mem::take(&mut self.buf);
                        if self.process_line(&line, None, chunk)? {
                            return Ok(true);
                        }
                        return Ok(self.dispatch());
                    }
                    Some(i) => {
                        self.buf.extend_from_slice(&rest[..i]);
                        let (next, skip) = line_end(rest, i);
                        self.pos += next;
                        self.skip_lf = skip;
                        let mut line = std::mem::take(&mut self.buf);
                        let dispatched = self.process_line(&line, None, chunk);
                        line.clear();
                        self.buf = line; // keep the allocation
                        if dispatched? {
                            return Ok(true);
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
            let start = self.pos;
            let rest = &chunk[start..];
            if rest.is_empty() {
                return Ok(self.at_end() && self.dispatch());
            }
            match memchr::memchr2(b'\n', b'\r', rest) {
                None => {
                    // A partial line: carry it (checked against the limit) to the next read.
                    self.check_line(rest.len())?;
                    self.buf.extend_from_slice(rest);
                    self.pos = chunk.len();
                    if !self.at_end() {
                        return Ok(false);
                    }
                }
                Some(i) => {
                    let (next, skip) = line_end(rest, i);
                    self.pos += next;
                    self.skip_lf = skip;
                    if self.process_line(&rest[..i], Some(start), chunk)? {
                        return Ok(true);
                    }
                }
            }
        }
    }

    fn check_line(&self, len: usize) -> Result<(), BoxedError> {
        if len > self.max_size {
            Err(Box::new(BlazenError::invalid_response(
                "",
                format!("SSE line longer than {} bytes", self.max_size),
                b"",
            )))
        } else {
            Ok(())
        }
    }

    /// Interprets one line (`at`: where it starts in `read`, if it is a slice of it, so that
    /// data can be handed out without a copy); a blank line dispatches the block (`true`: an
    /// event was dispatched).
    fn process_line(
        &mut self,
        line: &[u8],
        at: Option<usize>,
        read: &[u8],
    ) -> Result<bool, BoxedError> {
        self.check_line(line.len())?;
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(false); // comment
        }
        let (field, value_start) = match memchr::memchr(b':', line) {
            Some(i) if line.get(i + 1) == Some(&b' ') => (&line[..i], i + 2),
            Some(i) => (&line[..i], i + 1),
            None => (line, line.len()),
        };
        let value = &line[value_start..];
        match field {
            b"data" => {
                let len = match std::mem::take(&mut self.data) {
                    BlockData::None => {
                        match at {
                            Some(at) => {
                                self.data = BlockData::InRead(at + value_start, at + line.len());
                            }
                            None => {
                                self.joined.clear();
                                self.joined.extend_from_slice(value);
                                self.data = BlockData::Joined;
                            }
                        }
                        value.len()
                    }
                    BlockData::InRead(start, end) => self.join_first(&read[start..end], value),
                    BlockData::Kept(first) => self.join_first(&first, value),
                    BlockData::Joined => {
                        self.joined.push(b'\n');
                        self.joined.extend_from_slice(value);
                        self.data = BlockData::Joined;
                        self.joined.len()
                    }
                };
                if len > self.max_size {
                    return Err(Box::new(BlazenError::invalid_response(
                        "",
                        format!("SSE event data longer than {} bytes", self.max_size),
                        b"",
                    )));
                }
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
                self.event_set = true;
            }
            // An id containing NUL is ignored; an empty id resets the last event id.
            b"id" if !value.contains(&0) => {
                self.has_id = !value.is_empty();
                if self.has_id {
                    self.last_id.clear();
                    self.last_id.push_str(&String::from_utf8_lossy(value));
                }
            }
            // Digits only; a value too large for u64 is ignored like any invalid one.
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {} // unknown fields are ignored
        }
        Ok(false)
    }

    /// A second `data` line: the block's data becomes `first`, `\n`, `value` in `joined`.
    fn join_first(&mut self, first: &[u8], value: &[u8]) -> usize {
        self.joined.clear();
        self.joined.reserve(first.len() + 1 + value.len());
        self.joined.extend_from_slice(first);
        self.joined.push(b'\n');
        self.joined.extend_from_slice(value);
        self.data = BlockData::Joined;
        self.joined.len()
    }

    /// Ends the current block: an event (`true`) unless the block had no `data` line.
    fn dispatch(&mut self) -> bool {
        let event = std::mem::take(&mut self.event_set);
        let retry = self.retry.take();
        match std::mem::take(&mut self.data) {
            BlockData::None => false,
            data => {
                self.dispatched = Some(Dispatched { data, event, retry });
                true
            }
        }
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

/// The stream of [`sse_events`]: a plain state machine. Besides the owned events of its
/// `Stream` impl, it hands out borrowed ones: [`poll_event`](Self::poll_event) then
/// [`current`](Self::current), with no allocation, copy or reference count per event.
pub(crate) struct SseStream<S> {
    inner: Pin<Box<S>>,
    decoder: SseDecoder,
    /// No more reads: the input ended or failed.
    eof: bool,
    /// The stream is over (ended, or an error was yielded).
    over: bool,
}

impl<S> SseStream<S>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>>,
{
    /// Reads until the next event: `Ready(Some(Ok(())))` when there is one, to read with
    /// [`current`](Self::current) (or [`take_current`](Self::take_current)) before polling
    /// again; `Ready(None)` at the end; an error ends the stream.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<(), BoxedError>>> {
        use std::task::Poll;
        if self.over {
            return Poll::Ready(None);
        }
        loop {
            match self.decoder.advance() {
                Ok(true) => return Poll::Ready(Some(Ok(()))),
                Ok(false) if self.eof => {
                    self.over = true;
                    return Poll::Ready(None);
                }
                Ok(false) => {}
                Err(err) => {
                    self.over = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
            match self.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => self.decoder.push(bytes),
                Poll::Ready(Some(Err(err))) => {
                    self.over = true;
                    return Poll::Ready(Some(Err(Box::new(BlazenError::from_reqwest("", err)))));
                }
                Poll::Ready(None) => {
                    self.decoder.finish();
                    self.eof = true;
                }
            }
        }
    }

    /// The event found by the last [`poll_event`](Self::poll_event), borrowed.
    pub(crate) fn current(&self) -> Option<SseEventRef<'_>> {
        self.decoder.current()
    }

    /// The event found by the last [`poll_event`](Self::poll_event), owned.
    pub(crate) fn take_current(&mut self) -> Option<SseEvent> {
        self.decoder.take_current()
    }
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
        let this = &mut *self;
        this.poll_event(cx).map(|item| match item? {
            Ok(()) => this.take_current().map(Ok),
            Err(err) => Some(Err(*err)),
        })
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
