//! Turns an OpenAI-style SSE stream into [`StreamChunk`]s: text deltas as they come, tool calls
//! assembled across deltas and emitted once complete, usage attached to the final chunk, a
//! mid-stream error frame as a typed error, and a stream cut short as an error.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use super::chunk::ChatChunk;
use super::wire::WireToolCall;
use crate::error::{BlazenError, Result};
use crate::http::SseEvents;
use crate::sse::{BoxedError, SseEventRef};
use crate::types::{StreamChunk, TokenUsage, ToolCall};

/// Chunks ready to hand out, in order. An event usually makes one (kept inline, not queued);
/// the rare second one (a last text piece and the final chunk) waits in a queue.
#[derive(Debug, Default)]
pub(crate) struct Ready {
    first: Option<StreamChunk>,
    more: VecDeque<StreamChunk>,
}

impl Ready {
    fn push(&mut self, chunk: StreamChunk) {
        if self.first.is_none() && self.more.is_empty() {
            self.first = Some(chunk);
        } else {
            self.more.push_back(chunk);
        }
    }

    fn pop(&mut self) -> Option<StreamChunk> {
        self.first.take().or_else(|| self.more.pop_front())
    }

    fn clear(&mut self) {
        self.first = None;
        self.more.clear();
    }
}

#[derive(Debug, Default)]
struct PartialCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// The assembly state of one streamed completion, independent of I/O (unit-testable).
#[derive(Debug)]
pub(crate) struct ChunkAssembler {
    provider: Arc<str>,
    /// The parsed chunk, storage reused from event to event.
    chunk: ChatChunk,
    /// The calls being assembled, in the order they started (the order they are handed out).
    calls: Vec<PartialCall>,
    /// Where each call of `calls` is, by its index and by its id: a delta finds its call in
    /// constant time, so tens of thousands of calls cost linear time, not quadratic.
    by_index: HashMap<u32, usize>,
    by_id: HashMap<String, usize>,
    /// The final chunk, held back until usage arrives (or the stream ends).
    pending_finish: Option<StreamChunk>,
    finished: bool,
    emitted_finish: bool,
    usage: Option<TokenUsage>,
    /// The cost the provider reported with the usage, if it did.
    cost: Option<f64>,
    done: bool,
}

impl ChunkAssembler {
    pub(crate) fn new(provider: Arc<str>) -> Self {
        ChunkAssembler {
            provider,
            chunk: ChatChunk::default(),
            calls: Vec::new(),
            by_index: HashMap::new(),
            by_id: HashMap::new(),
            pending_finish: None,
            finished: false,
            emitted_finish: false,
            usage: None,
            cost: None,
            done: false,
        }
    }

    /// The stream is complete (ended, or failed): later events are ignored.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    fn take_calls(&mut self) -> Vec<ToolCall> {
        self.by_index.clear();
        self.by_id.clear();
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|c| ToolCall::from_raw(c.id, c.name, &c.arguments))
            .collect()
    }

    fn flush_pending(&mut self, out: &mut Ready) {
        if let Some(mut chunk) = self.pending_finish.take() {
            if chunk.usage.is_none() {
                chunk.usage = self.usage;
            }
            if chunk.cost.is_none() {
                chunk.cost = self.cost;
            }
            self.emitted_finish = true;
            out.push(chunk);
        }
    }

    fn add_tool_deltas(&mut self, deltas: Vec<WireToolCall>) {
        for (pos, d) in deltas.into_iter().enumerate() {
            // Index identifies the call; servers that omit it send one call per delta list, in
            // order, so fall back to the id, then the position.
            let index = match d.index {
                Some(i) => i,
                None => match d.id.as_deref().and_then(|id| self.by_id.get(id)) {
                    Some(&slot) => self.calls[slot].index,
                    None if d.id.is_some() => u32::try_from(self.calls.len()).unwrap_or(u32::MAX),
                    None => u32::try_from(pos).unwrap_or(u32::MAX),
                },
            };
            let slot = match self.by_index.get(&index) {
                Some(&p) => p,
                None => {
                    self.calls.push(PartialCall {
                        index,
                        ..PartialCall::default()
                    });
                    self.by_index.insert(index, self.calls.len() - 1);
                    self.calls.len() - 1
                }
            };
            let call = &mut self.calls[slot];
            if let Some(id) = d.id {
                if !id.is_empty() && call.id != id {
                    // The first call to carry an id keeps it (as the scan found the first).
                    self.by_id.entry(id.clone()).or_insert(slot);
                    call.id = id;
                }
            }
            if let Some(f) = d.function {
                if let Some(name) = f.name {
                    if call.name.is_empty() {
                        call.name = name;
                    } else if !name.is_empty() && !call.name.ends_with(&name) {
                        call.name.push_str(&name);
                    }
                }
                if let Some(args) = f.arguments {
                    args.push_to(&mut call.arguments);
                }
            }
        }
    }

    /// Feeds one SSE event; chunks ready to hand out are pushed to `out`. After `Ok`, the
    /// stream goes on unless [`is_done`](Self::is_done). (A bare `Result<(), BoxedError>`, one
    /// word, comes back in a register.)
    pub(crate) fn on_event(
        &mut self,
        event: SseEventRef<'_>,
        out: &mut Ready,
    ) -> std::result::Result<(), BoxedError> {
        if self.done {
            return Ok(());
        }
        // Fast path: the raw bytes checked as UTF-8 once (`str::from_utf8` over the whole data
        // has an ASCII fast path; `serde_json::from_slice` would check each string and key on
        // its own, ~5x the instructions) and parsed by `from_str`. JSON allows only ASCII
        // whitespace around a value, so when this succeeds the text path below would have
        // parsed the same text; when it fails, the text path gives the answer (and the error)
        // it always gave.
        let raw = event.data.trim_ascii();
        if raw == b"[DONE]" {
            return self.on_end(out, true);
        }
        if !raw.is_empty() && event.event != Some("error") {
            if let Ok(text) = std::str::from_utf8(raw) {
                let mut chunk = std::mem::take(&mut self.chunk);
                let step = match chunk.parse(text) {
                    Ok(()) => Some(self.on_chunk(&mut chunk, text, out)),
                    Err(_) => None,
                };
                self.chunk = chunk;
                if let Some(step) = step {
                    return step;
                }
            }
        }
        let text = String::from_utf8_lossy(event.data);
        let data = text.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            return self.on_end(out, true);
        }
        if event.event == Some("error") {
            self.done = true;
            return Err(Box::new(error_frame(&self.provider, data)));
        }
        let mut chunk = std::mem::take(&mut self.chunk);
        let step = match chunk.parse(data) {
            Ok(()) => self.on_chunk(&mut chunk, data, out),
            Err(e) => {
                self.done = true;
                Err(Box::new(crate::sse::frame_json_error(
                    &self.provider,
                    &e,
                    data,
                )))
            }
        };
        self.chunk = chunk;
        step
    }

    /// Applies one parsed chunk (`data`: its JSON text, for an error frame); takes what it
    /// keeps out of `chunk`.
    fn on_chunk(
        &mut self,
        chunk: &mut ChatChunk,
        data: &str,
        out: &mut Ready,
    ) -> std::result::Result<(), BoxedError> {
        if chunk.error {
            self.done = true;
            return Err(Box::new(error_frame(&self.provider, data)));
        }
        if chunk.choices.as_mut_slice().is_empty() && chunk.usage.is_none() {
            // A frame with neither choices nor usage: an error frame without an `error`
            // member (`{"type": "error", ...}`, vLLM's `{"object": "error", ...}`)? Rare, so
            // the text is looked at only here.
            if let Some(err) = bare_error_frame(&self.provider, data) {
                self.done = true;
                return Err(Box::new(err));
            }
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.to_usage());
            self.cost = u.reported_cost().or(self.cost);
            if self.pending_finish.is_some() {
                self.flush_pending(out);
            }
        }
        for choice in chunk.choices.as_mut_slice() {
            // Only the first candidate is answered (n > 1 is not supported by the stream).
            if choice.index != 0 || self.finished {
                continue;
            }
            let mut piece = StreamChunk::default();
            if let Some(delta) = choice.delta.get_mut() {
                if let Some(text) = delta.content.take() {
                    if !text.0.is_empty() {
                        piece.delta = Some(text.0);
                    }
                }
                let reasoning = delta.reasoning.take();
                if let Some(r) = delta.reasoning_content.take().or(reasoning) {
                    if !r.is_empty() {
                        piece.reasoning = Some(r);
                    }
                }
                if let Some(calls) = delta.tool_calls.take() {
                    self.add_tool_deltas(calls);
                }
            }
            if piece.delta.is_some() || piece.reasoning.is_some() {
                out.push(piece);
            }
            if let Some(reason) = choice.finish_reason.take() {
                if reason.is_empty() {
                    continue;
                }
                if reason == "error" {
                    // The provider gave up mid-answer (OpenRouter does this when the upstream
                    // fails) and said nothing more: not a normal end.
                    self.done = true;
                    return Err(Box::new(
                        BlazenError::stream(
                            &self.provider,
                            "the provider ended the answer with finish_reason \"error\"",
                        )
                        .with_raw_body(data),
                    ));
                }
                self.finished = true;
                let finish = StreamChunk {
                    finish_reason: Some(reason),
                    tool_calls: self.take_calls(),
                    usage: chunk.usage.as_ref().map(|u| u.to_usage()),
                    cost: chunk.usage.as_ref().and_then(|u| u.reported_cost()),
                    ..StreamChunk::default()
                };
                let has_usage = finish.usage.is_some();
                self.pending_finish = Some(finish);
                if has_usage {
                    self.flush_pending(out);
                }
            }
        }
        Ok(())
    }

    /// The stream ended (`[DONE]` or end of body).
    pub(crate) fn on_end(
        &mut self,
        out: &mut Ready,
        saw_done: bool,
    ) -> std::result::Result<(), BoxedError> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        if self.pending_finish.is_some() {
            self.flush_pending(out);
            return Ok(());
        }
        if self.emitted_finish {
            return Ok(());
        }
        if saw_done {
            // `[DONE]` without a finish reason: complete, but hand out any assembled calls.
            let calls = self.take_calls();
            if !calls.is_empty() || self.usage.is_some() {
                out.push(StreamChunk {
                    finish_reason: (!calls.is_empty()).then(|| "tool_calls".to_owned()),
                    tool_calls: calls,
                    usage: self.usage,
                    cost: self.cost,
                    ..StreamChunk::default()
                });
            }
            return Ok(());
        }
        Err(Box::new(BlazenError::stream(
            &self.provider,
            "the stream ended before a finish reason or [DONE] (connection cut short)",
        )))
    }
}

/// A typed error from an error frame (`data: {"error": ...}` or `event: error`).
pub(crate) fn error_frame(provider: &str, data: &str) -> BlazenError {
    let value = serde_json::from_str::<serde_json::Value>(data)
        .unwrap_or_else(|_| serde_json::json!({ "error": data }));
    BlazenError::from_stream_frame(provider, &value)
        .or_else(|| {
            BlazenError::from_stream_frame(provider, &serde_json::json!({ "error": value }))
        })
        .unwrap_or_else(|| BlazenError::stream(provider, "error frame in stream"))
}

/// The typed error of a frame that is an error without an `error` member: `type` or `object`
/// is `"error"`; `None` for anything else.
fn bare_error_frame(provider: &str, data: &str) -> Option<BlazenError> {
    if !data.contains("error") {
        return None;
    }
    let value = serde_json::from_str::<serde_json::Value>(data).ok()?;
    let is_error = ["type", "object"]
        .iter()
        .any(|k| value.get(k).and_then(|v| v.as_str()) == Some("error"));
    is_error.then(|| error_frame(provider, data))
}

/// The [`ChunkStream`](crate::ChunkStream) over an SSE body: events are read borrowed from the
/// decoder and turned into chunks in one layer.
pub(crate) struct CompatStream<B> {
    events: SseEvents<B>,
    assembler: ChunkAssembler,
    ready: Ready,
    ended: bool,
}

impl<B> CompatStream<B> {
    pub(crate) fn new(provider: Arc<str>, events: SseEvents<B>) -> Self {
        CompatStream {
            events,
            assembler: ChunkAssembler::new(provider),
            ready: Ready::default(),
            ended: false,
        }
    }
}

impl<B> Stream for CompatStream<B>
where
    B: Stream<Item = reqwest::Result<Bytes>>,
{
    type Item = Result<StreamChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(chunk) = this.ready.pop() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.events.poll_event(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(()))) => {
                    let Some(event) = this.events.current() else {
                        continue;
                    };
                    match this.assembler.on_event(event, &mut this.ready) {
                        Ok(()) => this.ended = this.assembler.is_done(),
                        Err(e) => {
                            this.ended = true;
                            this.ready.clear();
                            let id = this.events.request_id();
                            return Poll::Ready(Some(Err(e.or_request_id(id))));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(*e)));
                }
                Poll::Ready(None) => match this.assembler.on_end(&mut this.ready, false) {
                    Ok(_) => this.ended = true,
                    Err(e) => {
                        this.ended = true;
                        let id = this.events.request_id();
                        return Poll::Ready(Some(Err(e.or_request_id(id))));
                    }
                },
            }
        }
    }
}

impl<B> std::fmt::Debug for CompatStream<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompatStream")
            .field("assembler", &self.assembler)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ev(data: &str) -> SseEventRef<'_> {
        SseEventRef {
            data: data.as_bytes(),
            ..SseEventRef::default()
        }
    }

    fn drain(out: &mut Ready) -> Vec<StreamChunk> {
        std::iter::from_fn(|| out.pop()).collect()
    }

    fn run(datas: &[String]) -> (Vec<StreamChunk>, Option<BlazenError>) {
        let mut a = ChunkAssembler::new(Arc::from("test"));
        let mut out = Ready::default();
        for d in datas {
            match a.on_event(ev(d), &mut out) {
                Ok(()) if a.is_done() => return (drain(&mut out), None),
                Ok(()) => {}
                Err(e) => return (drain(&mut out), Some(*e)),
            }
        }
        let end = a.on_end(&mut out, false).err().map(|e| *e);
        (drain(&mut out), end)
    }

    #[test]
    fn calls_without_index_are_told_apart_by_id() {
        let datas = [
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"id": "a", "function": {"name": "f", "arguments": "{\"x\":"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"id": "a", "function": {"arguments": "1}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"id": "b", "function": {"name": "g", "arguments": "{}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        ]
        .map(|v| v.to_string());
        let (chunks, err) = run(&datas);
        assert!(err.is_none());
        let calls = &chunks.last().unwrap().tool_calls;
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].arguments, json!({"x": 1}));
        assert_eq!(calls[1].name, "g");
    }

    #[test]
    fn other_candidates_are_ignored() {
        let datas = [
            json!({"choices": [{"index": 1, "delta": {"content": "B"}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "A"}}]}),
            json!({"choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}),
        ]
        .map(|v| v.to_string());
        let (chunks, err) = run(&datas);
        assert!(err.is_none());
        assert_eq!(chunks[0].delta.as_deref(), Some("A"));
        assert_eq!(
            chunks.last().unwrap().finish_reason.as_deref(),
            Some("length")
        );
    }

    #[test]
    fn invalid_utf8_in_a_chunk_reads_as_replacement_characters() {
        // The fast path (`from_utf8` + `from_str`) fails; the text path parses the lossy text.
        let raw = b"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\xFFb\"}}]}";
        let event = SseEventRef {
            data: raw,
            ..SseEventRef::default()
        };
        let mut a = ChunkAssembler::new(Arc::from("test"));
        let mut out = Ready::default();
        a.on_event(event, &mut out).unwrap();
        assert!(!a.is_done());
        assert_eq!(drain(&mut out)[0].delta.as_deref(), Some("a\u{FFFD}b"));
        // Whitespace around `[DONE]`, ASCII or not, still ends the stream.
        a.on_event(ev("\u{a0}[DONE] \n"), &mut out).unwrap();
        assert!(a.is_done());
    }

    /// 40,000 streamed calls, each started in one delta and finished in another, found by
    /// index (and, without an index, by id): linear. The scan this replaced took seconds.
    #[test]
    fn tens_of_thousands_of_streamed_calls_are_assembled_in_linear_time() {
        const N: u32 = 40_000;
        let starts: Vec<_> = (0..N)
            .map(|i| {
                json!({"index": i, "id": format!("call_{i}"),
                "function": {"name": "f", "arguments": "{\"n\":"}})
            })
            .collect();
        let by_index: Vec<_> = (0..N)
            .map(|i| json!({"index": i, "function": {"arguments": format!("{i}}}")}}))
            .collect();
        let frames = [
            json!({"choices": [{"index": 0, "delta": {"tool_calls": starts}}]}).to_string(),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": by_index}}]}).to_string(),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
                .to_string(),
            "[DONE]".to_owned(),
        ];
        let started = std::time::Instant::now();
        let (chunks, err) = run(&frames);
        let took = started.elapsed();
        assert!(err.is_none(), "{err:?}");
        let calls = &chunks.last().unwrap().tool_calls;
        assert_eq!(calls.len(), N as usize);
        assert_eq!(calls[39_999].arguments, json!({"n": 39_999}));
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");

        // Without indexes: each later delta names its call by id.
        let by_id: Vec<_> = (0..N)
            .map(|i| json!({"id": format!("call_{i}"), "function": {"arguments": "1}"}}))
            .collect();
        let mut frames = frames;
        frames[1] = json!({"choices": [{"index": 0, "delta": {"tool_calls": by_id}}]}).to_string();
        let started = std::time::Instant::now();
        let (chunks, err) = run(&frames);
        let took = started.elapsed();
        assert!(err.is_none(), "{err:?}");
        assert_eq!(chunks.last().unwrap().tool_calls.len(), N as usize);
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    }

    #[test]
    fn not_json_is_an_invalid_response() {
        let (_, err) = run(&["{oops".to_owned()]);
        assert!(matches!(err, Some(BlazenError::InvalidResponse { .. })));
    }

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(datas in proptest::collection::vec(".{0,64}", 0..8)) {
            let _ = run(&datas);
        }

        #[test]
        fn arbitrary_json_frames_never_panic(
            content in proptest::option::of(".{0,8}"),
            args in ".{0,16}",
            index in 0u32..3,
            finish in proptest::option::of("[a-z_]{0,10}"),
        ) {
            let d = json!({"choices": [{"index": 0, "delta": {"content": content,
                "tool_calls": [{"index": index, "function": {"name": "f", "arguments": args}}]},
                "finish_reason": finish}]}).to_string();
            let _ = run(&[d.clone(), d, "[DONE]".to_owned()]);
        }
    }
}
