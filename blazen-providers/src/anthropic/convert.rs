//! Conversion between blazen's types and the Anthropic wire types, and the stream state machine.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::wire::{
    BlockDelta, ImageSource, Message, MessagesRequest, MessagesResponse, RequestBlock,
    ResponseBlock, StreamEvent, TextBlock, Tool, ToolChoice as WireToolChoice, ToolResultContent,
    Usage,
};
use crate::error::{BlazenError, Result};
use crate::types::{
    ChatMessage, Citation, CompletionRequest, CompletionResponse, ContentPart, Role,
    ServerToolCall, ServerToolResult, StreamChunk, TokenUsage, ToolCall, ToolChoice, ToolDialect,
};

/// The input of a streamed server tool call: its JSON, `{}` when empty, the text itself when
/// it is not JSON (the call is the provider's, reported as it came).
fn server_tool_input(json: &str) -> Value {
    if json.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(json).unwrap_or_else(|_| Value::String(json.to_owned()))
}

/// Name of the tool blazen forces to obtain structured (JSON) output from Anthropic models.
pub(crate) const JSON_TOOL_NAME: &str = "json_response";

/// Builds the request body. `max_tokens` is required by the API: `default_max_tokens` fills it.
pub(crate) fn to_wire(
    req: &CompletionRequest,
    model: &str,
    default_max_tokens: u32,
    stream: bool,
) -> Result<MessagesRequest> {
    let mut system = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for msg in &req.messages {
        match msg.role {
            Role::System => {
                if let Some(text) = msg.text_content() {
                    system.push(TextBlock::new(text));
                }
            }
            Role::User => push_turn(&mut messages, "user", user_blocks(msg)?),
            Role::Assistant => push_turn(&mut messages, "assistant", assistant_blocks(msg)),
            Role::Tool => {
                let Some(id) = msg.tool_call_id.clone() else {
                    return Err(BlazenError::validation(
                        "a tool message needs tool_call_id for Anthropic",
                    ));
                };
                let text = msg.text_content().unwrap_or_default();
                let block = RequestBlock::ToolResult {
                    tool_use_id: id,
                    content: vec![ToolResultContent::Text { text }],
                    is_error: false,
                };
                push_turn(&mut messages, "user", vec![block]);
            }
        }
    }
    if messages.is_empty() {
        return Err(BlazenError::validation(
            "Anthropic needs at least one user or assistant message",
        ));
    }

    let mut tools: Vec<Tool> = req
        .tools
        .iter()
        .map(|t| Tool {
            name: t.name.clone(),
            description: (!t.description.is_empty()).then(|| t.description.clone()),
            input_schema: t.parameters_for(ToolDialect::Anthropic).clone(),
        })
        .collect();
    let mut tool_choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(WireToolChoice::Auto),
        Some(ToolChoice::None) => Some(WireToolChoice::None),
        Some(ToolChoice::Required) => Some(WireToolChoice::Any),
        Some(ToolChoice::Tool(name)) => Some(WireToolChoice::Tool { name: name.clone() }),
    };
    // Structured output: a forced tool whose input schema is the requested schema.
    if let Some((schema, description)) = req
        .response_format
        .as_ref()
        .and_then(|f| f.answer_tool(ToolDialect::Anthropic))
    {
        tools.push(Tool {
            name: JSON_TOOL_NAME.to_owned(),
            description: Some(description),
            input_schema: schema,
        });
        tool_choice = Some(WireToolChoice::Tool {
            name: JSON_TOOL_NAME.to_owned(),
        });
    }

    Ok(MessagesRequest {
        model: model.to_owned(),
        max_tokens: req.max_tokens.unwrap_or(default_max_tokens),
        messages,
        system,
        temperature: req.temperature,
        top_p: req.top_p,
        stop_sequences: req.stop.clone(),
        tools,
        tool_choice,
        stream,
    })
}

/// Consecutive messages of one role are merged into one turn (the API wants turns to alternate).
fn push_turn(messages: &mut Vec<Message>, role: &'static str, blocks: Vec<RequestBlock>) {
    if blocks.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => messages.push(Message {
            role,
            content: blocks,
        }),
    }
}

fn user_blocks(msg: &ChatMessage) -> Result<Vec<RequestBlock>> {
    let text = |text| RequestBlock::Text { text };
    crate::native::user_blocks(msg, text, |part| {
        Ok(match part {
            ContentPart::Text { text } => RequestBlock::Text { text: text.clone() },
            ContentPart::ImageUrl { url, media_type } => match crate::native::parse_data_url(url) {
                Some((mime, data)) => RequestBlock::Image {
                    source: ImageSource::Base64 {
                        media_type: mime.to_owned(),
                        data: data.to_owned(),
                    },
                },
                None => {
                    let _ = media_type;
                    RequestBlock::Image {
                        source: ImageSource::Url { url: url.clone() },
                    }
                }
            },
            ContentPart::ImageBase64 { data, media_type } => RequestBlock::Image {
                source: ImageSource::Base64 {
                    media_type: media_type.as_str().to_owned(),
                    data: data.clone(),
                },
            },
        })
    })
}

fn assistant_blocks(msg: &ChatMessage) -> Vec<RequestBlock> {
    // An earlier answer's own blocks (signed thinking, server tools) go back as they came.
    if let Some(Value::Array(native)) = &msg.native_content {
        if !native.is_empty() {
            return native.iter().cloned().map(RequestBlock::Native).collect();
        }
    }
    let mut blocks = Vec::new();
    if let Some(text) = msg.text_content().filter(|t| !t.is_empty()) {
        blocks.push(RequestBlock::Text { text });
    }
    for call in &msg.tool_calls {
        let input = if call.invalid_arguments.is_some() || !call.arguments.is_object() {
            json!({})
        } else {
            call.arguments.clone()
        };
        blocks.push(RequestBlock::ToolUse {
            id: call.id.clone(),
            name: call.name.clone(),
            input,
        });
    }
    blocks
}

/// Maps Anthropic's stop reasons to blazen's finish reasons.
pub(crate) fn finish_reason(stop_reason: &str) -> String {
    match stop_reason {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        other => other,
    }
    .to_owned()
}

pub(crate) fn usage(u: &Usage) -> TokenUsage {
    // Saturating: the counts are the provider's, whatever their size.
    let prompt = u
        .input_tokens
        .unwrap_or(0)
        .saturating_add(u.cache_creation_input_tokens.unwrap_or(0))
        .saturating_add(u.cache_read_input_tokens.unwrap_or(0));
    TokenUsage::new(prompt, u.output_tokens.unwrap_or(0))
}

/// One content block of an answer, known or kept raw.
enum Block {
    Text {
        text: String,
        citations: Vec<Citation>,
    },
    Thinking(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ServerToolUse(ServerToolCall),
    ServerToolResult(ServerToolResult),
    /// A block of a type this crate does not know: skipped, kept as sent.
    Skipped(Value),
}

/// Reads one content block. Server tool results are recognised by their type's suffix
/// (`web_search_tool_result`, `web_fetch_tool_result`, `code_execution_tool_result`,
/// `bash_code_execution_tool_result`, `mcp_tool_result`, ...); anything unknown or malformed is
/// [`Block::Skipped`], never an error.
fn block(raw: &Value) -> Block {
    let kind = raw.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind.ends_with("_tool_result") {
        let content = raw.get("content").cloned().unwrap_or(Value::Null);
        let error_content = content
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("_error"));
        return Block::ServerToolResult(ServerToolResult {
            tool_use_id: raw
                .get("tool_use_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kind: kind.to_owned(),
            is_error: raw
                .get("is_error")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                || error_content,
            content,
        });
    }
    match <ResponseBlock as serde::Deserialize>::deserialize(raw) {
        Ok(ResponseBlock::Text { text, citations }) => Block::Text {
            text,
            citations: citations
                .unwrap_or_default()
                .into_iter()
                .map(Citation::from_raw)
                .collect(),
        },
        Ok(ResponseBlock::Thinking { thinking }) => Block::Thinking(thinking),
        Ok(ResponseBlock::ToolUse { id, name, input }) => Block::ToolUse { id, name, input },
        Ok(ResponseBlock::ServerToolUse { id, name, input }) => {
            Block::ServerToolUse(ServerToolCall {
                id,
                name,
                input,
                server_name: None,
            })
        }
        Ok(ResponseBlock::McpToolUse {
            id,
            name,
            input,
            server_name,
        }) => Block::ServerToolUse(ServerToolCall {
            id,
            name,
            input,
            server_name,
        }),
        Ok(ResponseBlock::Other) | Err(_) => Block::Skipped(raw.clone()),
    }
}

/// Whether an answer's block must go back verbatim in the next request of the conversation:
/// any block but plain text and client tool calls (thinking and its signature, redacted
/// thinking, server tool calls and results, blocks this crate does not know).
fn must_replay(raw: &Value) -> bool {
    !matches!(
        raw.get("type").and_then(Value::as_str),
        Some("text" | "tool_use")
    )
}

/// Converts a whole response. `structured` says the JSON tool was forced for structured output.
pub(crate) fn from_wire(
    resp: MessagesResponse,
    fallback_model: &str,
    structured: bool,
) -> CompletionResponse {
    let mut out = CompletionResponse {
        model: resp.model.unwrap_or_else(|| fallback_model.to_owned()),
        usage: resp.usage.as_ref().map(usage),
        request_id: resp.id,
        ..CompletionResponse::default()
    };
    for raw in &resp.content {
        match block(raw) {
            Block::Text { text, citations } => {
                out.content.get_or_insert_with(String::new).push_str(&text);
                out.citations.extend(citations);
            }
            Block::Thinking(thinking) => {
                out.reasoning
                    .get_or_insert_with(String::new)
                    .push_str(&thinking);
            }
            Block::ToolUse { id, name, input } => {
                if structured && name == JSON_TOOL_NAME {
                    out.content = Some(input.to_string());
                } else {
                    let input = if input.is_null() { json!({}) } else { input };
                    out.tool_calls.push(ToolCall::new(id, name, input));
                }
            }
            Block::ServerToolUse(call) => out.server_tool_calls.push(call),
            Block::ServerToolResult(result) => out.server_tool_results.push(result),
            Block::Skipped(raw) => out.skipped_blocks.push(raw),
        }
    }
    let mut finish = resp.stop_reason.as_deref().map(finish_reason);
    if structured && finish.as_deref() == Some("tool_calls") && out.tool_calls.is_empty() {
        finish = Some("stop".to_owned());
    }
    out.finish_reason = finish;
    if resp.content.iter().any(must_replay) {
        out.native_content = Some(Value::Array(resp.content));
    }
    out
}

/// A tool call being streamed: id, name and the input its start block carried (normally none:
/// the input comes as JSON fragments, kept in [`NativeBlocks`]); `server` for a tool the
/// provider runs itself (surfaced as a [`ServerToolCall`], not a client tool call).
#[derive(Debug)]
struct PendingTool {
    id: String,
    name: String,
    start: String,
    server: Option<Option<String>>,
}

/// Folds Anthropic stream events into [`StreamChunk`]s. A tool call is emitted once, complete,
/// when its block stops; the final chunk (finish reason, usage) is emitted on `message_stop`.
///
/// Blocks being streamed are found by their index in a map, not by a scan: an answer with
/// tens of thousands of tool calls costs linear time, not quadratic.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    structured: bool,
    tools: HashMap<usize, PendingTool>,
    structured_text: Option<usize>,
    input_usage: Usage,
    output_tokens: Option<u64>,
    stop_reason: Option<String>,
    saw_delta: bool,
    done: bool,
    /// The answer's blocks as streamed, rebuilt for [`StreamChunk::native_content`].
    native: NativeBlocks,
}

/// An answer's content blocks rebuilt from the stream (start block, then its deltas), kept
/// only to be given back when one of them must be (see `must_replay`).
#[derive(Debug, Default)]
struct NativeBlocks {
    blocks: std::collections::BTreeMap<usize, Value>,
    /// The `input_json_delta` fragments of each block since its start, parsed when it stops:
    /// the one copy, which a pending tool call's input is made of too.
    json: HashMap<usize, String>,
    replay: bool,
}

impl NativeBlocks {
    fn start(&mut self, index: usize, raw: &Value) {
        self.replay |= must_replay(raw);
        self.blocks.insert(index, raw.clone());
        self.json.remove(&index);
    }

    /// Appends `text` to the string field `field` of block `index`.
    fn append(&mut self, index: usize, field: &str, text: &str) {
        if let Some(Value::Object(block)) = self.blocks.get_mut(&index) {
            match block.get_mut(field) {
                Some(Value::String(s)) => s.push_str(text),
                _ => {
                    block.insert(field.to_owned(), Value::String(text.to_owned()));
                }
            }
        }
    }

    /// Ends block `index`: its JSON fragments, when they parse, become its `input`. Returns
    /// the fragments, and their parsed value when `keep_input` (for the block's tool call).
    fn stop(&mut self, index: usize, keep_input: bool) -> (String, Option<Value>) {
        let Some(json) = self.json.remove(&index) else {
            return (String::new(), None);
        };
        let input = serde_json::from_str::<Value>(&json).ok();
        let kept = if keep_input { input.clone() } else { None };
        if let (Some(input), Some(Value::Object(block))) = (input, self.blocks.get_mut(&index)) {
            block.insert("input".to_owned(), input);
        }
        (json, kept)
    }

    /// The blocks in order, when one must be given back.
    fn content(&self) -> Option<Value> {
        self.replay
            .then(|| Value::Array(self.blocks.values().cloned().collect()))
    }
}

/// The JSON a start block's `input` contributes: a start block normally carries `{}`; anything
/// else is a complete input.
fn start_json(input: Value) -> String {
    match input {
        Value::Object(m) if m.is_empty() => String::new(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl StreamState {
    pub(crate) fn new(structured: bool) -> Self {
        Self {
            structured,
            ..Self::default()
        }
    }

    /// Whether `message_stop` was seen.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Handles the `data:` payload of one event. Returns the chunk to emit, if any.
    pub(crate) fn on_event(&mut self, data: &str) -> Result<Option<StreamChunk>> {
        let event: StreamEvent = serde_json::from_str(data)
            .map_err(|e| crate::sse::frame_json_error(super::PROVIDER, &e, data))?;
        match event {
            StreamEvent::MessageStart { message } => {
                if let Some(u) = message.usage {
                    self.input_usage = u;
                }
                Ok(None)
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                self.native.start(index, &content_block);
                Ok(self.on_block_start(index, content_block))
            }
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => {
                    self.native.append(index, "text", &text);
                    Ok(Some(StreamChunk::text(text)))
                }
                BlockDelta::InputJsonDelta { partial_json } => {
                    self.native
                        .json
                        .entry(index)
                        .or_default()
                        .push_str(&partial_json);
                    if self.structured_text == Some(index) {
                        // Structured output: the tool input *is* the answer text.
                        self.saw_delta = true;
                        if partial_json.is_empty() {
                            return Ok(None);
                        }
                        return Ok(Some(StreamChunk::text(partial_json)));
                    }
                    Ok(None)
                }
                BlockDelta::CitationsDelta { citation } => {
                    if let Some(Value::Object(block)) = self.native.blocks.get_mut(&index) {
                        if let Value::Array(all) = block
                            .entry("citations")
                            .or_insert_with(|| Value::Array(Vec::new()))
                        {
                            all.push(citation.clone());
                        }
                    }
                    Ok(Some(StreamChunk {
                        citations: vec![Citation::from_raw(citation)],
                        ..StreamChunk::default()
                    }))
                }
                BlockDelta::ThinkingDelta { thinking } => {
                    self.native.append(index, "thinking", &thinking);
                    Ok(Some(StreamChunk {
                        reasoning: Some(thinking),
                        ..StreamChunk::default()
                    }))
                }
                BlockDelta::SignatureDelta { signature } => {
                    self.native.append(index, "signature", &signature);
                    Ok(None)
                }
                BlockDelta::Other => Ok(None),
            },
            StreamEvent::ContentBlockStop { index } => {
                let tool = self.tools.remove(&index);
                let (fragments, parsed) = self.native.stop(index, tool.is_some());
                // A delta of a block that is no tool call (one skipped as unknown) is ignored
                // with it.
                let Some(tool) = tool else {
                    return Ok(None);
                };
                if self.structured_text == Some(index) {
                    // Its fragments were the answer text already.
                    if !self.saw_delta && !tool.start.is_empty() {
                        return Ok(Some(StreamChunk::text(tool.start)));
                    }
                    return Ok(None);
                }
                // The input: the start block's, then the fragments. A start block normally
                // brings none: then the fragments' parsed value serves as is.
                let (json, parsed) = if tool.start.is_empty() {
                    (fragments, parsed)
                } else {
                    (tool.start + &fragments, None)
                };
                Ok(Some(match tool.server {
                    Some(server_name) => StreamChunk {
                        server_tool_calls: vec![ServerToolCall {
                            input: parsed.unwrap_or_else(|| server_tool_input(&json)),
                            id: tool.id,
                            name: tool.name,
                            server_name,
                        }],
                        ..StreamChunk::default()
                    },
                    None => StreamChunk {
                        tool_calls: vec![match parsed {
                            Some(arguments) => ToolCall::new(tool.id, tool.name, arguments),
                            None => ToolCall::from_raw(tool.id, tool.name, &json),
                        }],
                        ..StreamChunk::default()
                    },
                }))
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(r) = delta.stop_reason {
                    self.stop_reason = Some(r);
                }
                if let Some(u) = usage {
                    if u.output_tokens.is_some() {
                        self.output_tokens = u.output_tokens;
                    }
                    if u.input_tokens.is_some() {
                        self.input_usage.input_tokens = u.input_tokens;
                    }
                    if u.cache_read_input_tokens.is_some() {
                        self.input_usage.cache_read_input_tokens = u.cache_read_input_tokens;
                    }
                    if u.cache_creation_input_tokens.is_some() {
                        self.input_usage.cache_creation_input_tokens =
                            u.cache_creation_input_tokens;
                    }
                }
                Ok(None)
            }
            StreamEvent::MessageStop {} => {
                self.done = true;
                Ok(Some(self.final_chunk()))
            }
            StreamEvent::Ping {} | StreamEvent::Unknown => Ok(None),
            StreamEvent::Error {} => Err(super::error_from_stream_event(data)),
        }
    }

    /// A `content_block_start`: a tool call starts pending; a server tool result, text with
    /// citations or an unknown block (kept raw) is a chunk at once.
    fn on_block_start(&mut self, index: usize, raw: Value) -> Option<StreamChunk> {
        match block(&raw) {
            Block::ToolUse { id, name, input } => {
                if self.structured && name == JSON_TOOL_NAME {
                    self.structured_text = Some(index);
                }
                self.tools.insert(
                    index,
                    PendingTool {
                        id,
                        name,
                        start: start_json(input),
                        server: None,
                    },
                );
                None
            }
            Block::ServerToolUse(call) => {
                self.tools.insert(
                    index,
                    PendingTool {
                        id: call.id,
                        name: call.name,
                        start: start_json(call.input),
                        server: Some(call.server_name),
                    },
                );
                None
            }
            Block::ServerToolResult(result) => Some(StreamChunk {
                server_tool_results: vec![result],
                ..StreamChunk::default()
            }),
            Block::Text { text, citations } if !text.is_empty() || !citations.is_empty() => {
                Some(StreamChunk {
                    delta: (!text.is_empty()).then_some(text),
                    citations,
                    ..StreamChunk::default()
                })
            }
            Block::Text { .. } | Block::Thinking(_) => None,
            Block::Skipped(raw) => Some(StreamChunk {
                skipped_blocks: vec![raw],
                ..StreamChunk::default()
            }),
        }
    }

    /// Called when the byte stream ends. A stream that ended after `message_delta` gave a stop
    /// reason still completes; one that ended before it is an error.
    pub(crate) fn on_eof(&mut self) -> Result<Option<StreamChunk>> {
        if self.done {
            return Ok(None);
        }
        if self.stop_reason.is_some() && self.tools.is_empty() {
            self.done = true;
            return Ok(Some(self.final_chunk()));
        }
        Err(BlazenError::stream(
            super::PROVIDER,
            "the stream ended before message_stop (truncated)",
        ))
    }

    fn final_chunk(&self) -> StreamChunk {
        let mut usage_in = self.input_usage.clone();
        usage_in.output_tokens = self.output_tokens.or(self.input_usage.output_tokens);
        let mut finish = self
            .stop_reason
            .as_deref()
            .map(finish_reason)
            .unwrap_or_else(|| "stop".to_owned());
        if self.structured_text.is_some() && finish == "tool_calls" {
            finish = "stop".to_owned();
        }
        StreamChunk {
            finish_reason: Some(finish),
            usage: Some(usage(&usage_in)),
            native_content: self.native.content(),
            ..StreamChunk::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stop_reasons_map() {
        assert_eq!(finish_reason("end_turn"), "stop");
        assert_eq!(finish_reason("max_tokens"), "length");
        assert_eq!(finish_reason("tool_use"), "tool_calls");
        assert_eq!(finish_reason("refusal"), "content_filter");
        assert_eq!(finish_reason("pause_turn"), "pause_turn");
    }

    /// 40,000 tool calls all started before any ends: found by index, linear (the scan this
    /// replaced was quadratic).
    #[test]
    fn tens_of_thousands_of_interleaved_streamed_calls_are_linear() {
        const N: usize = 40_000;
        // The events, written before the clock starts: only the assembly is timed.
        let mut events: Vec<String> = (0..N)
            .map(|i| {
                json!({"type": "content_block_start", "index": i, "content_block":
                    {"type": "tool_use", "id": format!("t{i}"), "name": "f", "input": {}}})
                .to_string()
            })
            .collect();
        events.extend((0..N).map(|i| {
            json!({"type": "content_block_delta", "index": i,
                "delta": {"type": "input_json_delta", "partial_json": "{}"}})
            .to_string()
        }));
        events.extend(
            (0..N)
                .rev()
                .map(|i| json!({"type": "content_block_stop", "index": i}).to_string()),
        );
        let mut s = StreamState::new(false);
        let started = std::time::Instant::now();
        let mut calls = 0;
        for ev in &events {
            if let Some(chunk) = s.on_event(ev).unwrap() {
                calls += chunk.tool_calls.len();
            }
        }
        let took = started.elapsed();
        assert_eq!(calls, N);
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    }

    /// Each call's input is its fragments parsed (or the start block's input, or kept raw when
    /// it is no JSON), and the rebuilt blocks carry the same input.
    #[test]
    fn streamed_inputs_reach_the_calls_and_the_rebuilt_blocks() {
        let start = |i: usize, block: Value| {
            json!({"type": "content_block_start", "index": i, "content_block": block}).to_string()
        };
        let delta = |i: usize, text: &str| {
            json!({"type": "content_block_delta", "index": i,
                "delta": {"type": "input_json_delta", "partial_json": text}})
            .to_string()
        };
        let stop = |i: usize| json!({"type": "content_block_stop", "index": i}).to_string();
        let tool = |id: &str, input: Value| json!({"type": "tool_use", "id": id, "name": "f", "input": input});
        let events = [
            start(
                0,
                json!({"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}),
            ),
            delta(0, r#"{"query": "#),
            delta(0, r#""tides"}"#),
            stop(0),
            start(1, tool("a", json!({}))),
            delta(1, r#"{"n":"#),
            delta(1, "1} "),
            stop(1),
            start(2, tool("b", json!({}))),
            delta(2, r#"{"n""#),
            stop(2),
            start(3, tool("c", json!({"n": 3}))),
            stop(3),
            start(4, tool("d", json!({}))),
            delta(4, "  "),
            stop(4),
            json!({"type": "message_stop"}).to_string(),
        ];
        let mut s = StreamState::new(false);
        let mut calls = Vec::new();
        let mut server = Vec::new();
        let mut native = None;
        for ev in &events {
            if let Some(chunk) = s.on_event(ev).unwrap() {
                calls.extend(chunk.tool_calls);
                server.extend(chunk.server_tool_calls);
                native = native.or(chunk.native_content);
            }
        }
        assert_eq!(server[0].input, json!({"query": "tides"}));
        let args: Vec<_> = calls.iter().map(|c| c.arguments.clone()).collect();
        assert_eq!(
            args,
            [
                json!({"n": 1}),
                json!(r#"{"n""#),
                json!({"n": 3}),
                json!({})
            ]
        );
        // Only the call whose fragments are no JSON.
        let invalid: Vec<_> = calls
            .iter()
            .map(|c| c.invalid_arguments.is_some())
            .collect();
        assert_eq!(invalid, [false, true, false, false]);
        let inputs: Vec<_> = native
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["input"].clone())
            .collect();
        assert_eq!(
            inputs,
            [
                json!({"query": "tides"}),
                json!({"n": 1}),
                json!({}),
                json!({"n": 3}),
                json!({})
            ]
        );
    }

    #[test]
    fn a_delta_for_an_unknown_block_is_ignored_not_fatal() {
        let mut s = StreamState::new(false);
        let ev = r#"{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{"}}"#;
        assert!(matches!(s.on_event(ev), Ok(None)));
    }

    proptest! {
        #[test]
        fn stream_state_never_panics(events in proptest::collection::vec(".{0,120}", 0..6)) {
            let mut s = StreamState::new(false);
            for e in &events {
                let _ = s.on_event(e);
            }
            let _ = s.on_eof();
        }
    }
}
