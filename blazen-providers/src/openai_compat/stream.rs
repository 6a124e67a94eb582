//! Turns an OpenAI-style SSE stream into [`StreamChunk`]s: text deltas as they come, tool calls
//! assembled across deltas and emitted once complete, usage attached to the final chunk, a
//! mid-stream error frame as a typed error, and a stream cut short as an error.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use super::wire::{ChatChunk, WireToolCall};
use crate::error::{BlazenError, Result};
use crate::sse::SseEvent;
use crate::types::{StreamChunk, TokenUsage, ToolCall};

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
    calls: Vec<PartialCall>,
    /// The final chunk, held back until usage arrives (or the stream ends).
    pending_finish: Option<StreamChunk>,
    finished: bool,
    emitted_finish: bool,
    usage: Option<TokenUsage>,
    done: bool,
}

/// What one SSE event did to the stream.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Keep reading.
    Continue,
    /// The stream is complete.
    End,
}

impl ChunkAssembler {
    pub(crate) fn new(provider: Arc<str>) -> Self {
        ChunkAssembler {
            provider,
            calls: Vec::new(),
            pending_finish: None,
            finished: false,
            emitted_finish: false,
            usage: None,
            done: false,
        }
    }

    fn take_calls(&mut self) -> Vec<ToolCall> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|c| ToolCall::from_raw(c.id, c.name, &c.arguments))
            .collect()
    }

    fn flush_pending(&mut self, out: &mut VecDeque<StreamChunk>) {
        if let Some(mut chunk) = self.pending_finish.take() {
            if chunk.usage.is_none() {
                chunk.usage = self.usage;
            }
            self.emitted_finish = true;
            out.push_back(chunk);
        }
    }

    fn add_tool_deltas(&mut self, deltas: Vec<WireToolCall>) {
        for (pos, d) in deltas.into_iter().enumerate() {
            // Index identifies the call; servers that omit it send one call per delta list, in
            // order, so fall back to the id, then the position.
            let index = match d.index {
                Some(i) => i,
                None => match d
                    .id
                    .as_deref()
                    .and_then(|id| self.calls.iter().find(|c| c.id == id))
                {
                    Some(c) => c.index,
                    None if d.id.is_some() => u32::try_from(self.calls.len()).unwrap_or(u32::MAX),
                    None => u32::try_from(pos).unwrap_or(u32::MAX),
                },
            };
            let slot = match self.calls.iter().position(|c| c.index == index) {
                Some(p) => p,
                None => {
                    self.calls.push(PartialCall {
                        index,
                        ..PartialCall::default()
                    });
                    self.calls.len() - 1
                }
            };
            let call = &mut self.calls[slot];
            if let Some(id) = d.id {
                if !id.is_empty() {
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

    /// Feeds one SSE event; chunks ready to hand out are pushed to `out`.
    pub(crate) fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<StreamChunk>,
    ) -> Result<Step> {
        if self.done {
            return Ok(Step::End);
        }
        // Fast path: the raw bytes checked as UTF-8 once (`str::from_utf8` over the whole data
        // has an ASCII fast path; `serde_json::from_slice` would check each string and key on
        // its own, ~5x the instructions) and parsed by `from_str`. JSON allows only ASCII
        // whitespace around a value, so when this succeeds the text path below would have
        // parsed the same text; when it fails, the text path gives the answer (and the error)
        // it always gave.
        let raw = event.data.raw().trim_ascii();
        if raw == b"[DONE]" {
            return self.on_end(out, true);
        }
        if !raw.is_empty() && event.event.as_deref() != Some("error") {
            if let Ok(text) = std::str::from_utf8(raw) {
                if let Ok(chunk) = serde_json::from_str::<ChatChunk>(text) {
                    return self.on_chunk(chunk, text, out);
                }
            }
        }
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Step::Continue);
        }
        if data == "[DONE]" {
            return self.on_end(out, true);
        }
        if event.event.as_deref() == Some("error") {
            self.done = true;
            return Err(error_frame(&self.provider, data));
        }
        let chunk: ChatChunk = serde_json::from_str(data).map_err(|e| {
            self.done = true;
            BlazenError::invalid_response(
                &self.provider,
                format!("stream chunk is not valid JSON: {e}"),
                data,
            )
        })?;
        self.on_chunk(chunk, data, out)
    }

    /// Applies one parsed chunk (`data`: its JSON text, for an error frame).
    fn on_chunk(
        &mut self,
        chunk: ChatChunk,
        data: &str,
        out: &mut VecDeque<StreamChunk>,
    ) -> Result<Step> {
        if chunk.error.as_ref().is_some_and(|e| !e.is_null()) {
            self.done = true;
            return Err(error_frame(&self.provider, data));
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.to_usage());
            if self.pending_finish.is_some() {
                self.flush_pending(out);
            }
        }
        for choice in chunk.choices {
            // Only the first candidate is answered (n > 1 is not supported by the stream).
            if choice.index != 0 || self.finished {
                continue;
            }
            let mut piece = StreamChunk::default();
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content {
                    if !text.0.is_empty() {
                        piece.delta = Some(text.0);
                    }
                }
                if let Some(r) = delta.reasoning_content.or(delta.reasoning) {
                    if !r.is_empty() {
                        piece.reasoning = Some(r);
                    }
                }
                if let Some(calls) = delta.tool_calls {
                    self.add_tool_deltas(calls);
                }
            }
            if piece.delta.is_some() || piece.reasoning.is_some() {
                out.push_back(piece);
            }
            if let Some(reason) = choice.finish_reason {
                if reason.is_empty() {
                    continue;
                }
                self.finished = true;
                let finish = StreamChunk {
                    finish_reason: Some(reason),
                    tool_calls: self.take_calls(),
                    usage: chunk.usage.as_ref().map(|u| u.to_usage()),
                    ..StreamChunk::default()
                };
                let has_usage = finish.usage.is_some();
                self.pending_finish = Some(finish);
                if has_usage {
                    self.flush_pending(out);
                }
            }
        }
        Ok(Step::Continue)
    }

    /// The stream ended (`[DONE]` or end of body).
    pub(crate) fn on_end(
        &mut self,
        out: &mut VecDeque<StreamChunk>,
        saw_done: bool,
    ) -> Result<Step> {
        if self.done {
            return Ok(Step::End);
        }
        self.done = true;
        if self.pending_finish.is_some() {
            self.flush_pending(out);
            return Ok(Step::End);
        }
        if self.emitted_finish {
            return Ok(Step::End);
        }
        if saw_done {
            // `[DONE]` without a finish reason: complete, but hand out any assembled calls.
            let calls = self.take_calls();
            if !calls.is_empty() || self.usage.is_some() {
                out.push_back(StreamChunk {
                    finish_reason: (!calls.is_empty()).then(|| "tool_calls".to_owned()),
                    tool_calls: calls,
                    usage: self.usage,
                    ..StreamChunk::default()
                });
            }
            return Ok(Step::End);
        }
        Err(BlazenError::stream(
            &self.provider,
            "the stream ended before a finish reason or [DONE] (connection cut short)",
        ))
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

/// The [`ChunkStream`](crate::ChunkStream) over an SSE event stream.
pub(crate) struct CompatStream<S> {
    events: Pin<Box<S>>,
    assembler: ChunkAssembler,
    ready: VecDeque<StreamChunk>,
    ended: bool,
}

impl<S> CompatStream<S> {
    pub(crate) fn new(provider: Arc<str>, events: S) -> Self {
        CompatStream {
            events: Box::pin(events),
            assembler: ChunkAssembler::new(provider),
            ready: VecDeque::new(),
            ended: false,
        }
    }
}

impl<S> Stream for CompatStream<S>
where
    S: Stream<Item = Result<SseEvent>>,
{
    type Item = Result<StreamChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(chunk) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.events.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(event))) => {
                    match this.assembler.on_event(&event, &mut this.ready) {
                        Ok(Step::Continue) => {}
                        Ok(Step::End) => this.ended = true,
                        Err(e) => {
                            this.ended = true;
                            this.ready.clear();
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => match this.assembler.on_end(&mut this.ready, false) {
                    Ok(_) => this.ended = true,
                    Err(e) => {
                        this.ended = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
            }
        }
    }
}

impl<S> std::fmt::Debug for CompatStream<S> {
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

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            data: data.into(),
            ..SseEvent::default()
        }
    }

    fn run(datas: &[String]) -> (Vec<StreamChunk>, Option<BlazenError>) {
        let mut a = ChunkAssembler::new(Arc::from("test"));
        let mut out = VecDeque::new();
        for d in datas {
            match a.on_event(&ev(d), &mut out) {
                Ok(Step::Continue) => {}
                Ok(Step::End) => return (out.into(), None),
                Err(e) => return (out.into(), Some(e)),
            }
        }
        let end = a.on_end(&mut out, false).err();
        (out.into(), end)
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
        let event = SseEvent {
            data: bytes::Bytes::from_static(raw).into(),
            ..SseEvent::default()
        };
        let mut a = ChunkAssembler::new(Arc::from("test"));
        let mut out = VecDeque::new();
        assert_eq!(a.on_event(&event, &mut out).unwrap(), Step::Continue);
        assert_eq!(out[0].delta.as_deref(), Some("a\u{FFFD}b"));
        // Whitespace around `[DONE]`, ASCII or not, still ends the stream.
        assert_eq!(
            a.on_event(&ev("\u{a0}[DONE] \n"), &mut out).unwrap(),
            Step::End
        );
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
