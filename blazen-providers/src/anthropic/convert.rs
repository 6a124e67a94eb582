//! Conversion between blazen's types and the Anthropic wire types, and the stream state machine.

use serde_json::{json, Value};

use super::wire::{
    BlockDelta, ImageSource, Message, MessagesRequest, MessagesResponse, RequestBlock,
    ResponseBlock, StreamEvent, TextBlock, Tool, ToolChoice as WireToolChoice, ToolResultContent,
    Usage,
};
use crate::error::{BlazenError, Result};
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, ResponseFormat, Role,
    StreamChunk, TokenUsage, ToolCall, ToolChoice, ToolDialect,
};

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
    if let Some(format) = req.response_format.as_ref().filter(|f| f.is_json()) {
        let schema = format
            .schema_for(ToolDialect::Anthropic)
            .map_or_else(|| json!({"type": "object"}), |(schema, _)| schema.clone());
        let mut tool = json_tool(schema);
        if let ResponseFormat::Structured(spec) = format {
            if !spec.description.is_empty() {
                tool.description = Some(spec.description.clone());
            }
        }
        tools.push(tool);
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

fn json_tool(schema: Value) -> Tool {
    Tool {
        name: JSON_TOOL_NAME.to_owned(),
        description: Some(crate::types::STRUCTURED_TOOL_DESCRIPTION.to_owned()),
        input_schema: schema,
    }
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
    let prompt = u64::from(u.input_tokens.unwrap_or(0))
        + u64::from(u.cache_creation_input_tokens.unwrap_or(0))
        + u64::from(u.cache_read_input_tokens.unwrap_or(0));
    TokenUsage::new(prompt, u64::from(u.output_tokens.unwrap_or(0)))
}

/// Converts a whole response. `structured` says the JSON tool was forced for structured output.
pub(crate) fn from_wire(
    resp: MessagesResponse,
    fallback_model: &str,
    structured: bool,
) -> CompletionResponse {
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in resp.content {
        match block {
            ResponseBlock::Text { text: t } => text.get_or_insert_with(String::new).push_str(&t),
            ResponseBlock::Thinking { thinking } => {
                reasoning
                    .get_or_insert_with(String::new)
                    .push_str(&thinking);
            }
            ResponseBlock::ToolUse { id, name, input } => {
                if structured && name == JSON_TOOL_NAME {
                    text = Some(input.to_string());
                } else {
                    let input = if input.is_null() { json!({}) } else { input };
                    tool_calls.push(ToolCall::new(id, name, input));
                }
            }
            ResponseBlock::Other => {}
        }
    }
    let mut finish = resp.stop_reason.as_deref().map(finish_reason);
    if structured && finish.as_deref() == Some("tool_calls") && tool_calls.is_empty() {
        finish = Some("stop".to_owned());
    }
    CompletionResponse {
        content: text,
        model: resp.model.unwrap_or_else(|| fallback_model.to_owned()),
        finish_reason: finish,
        tool_calls,
        usage: resp.usage.as_ref().map(usage),
        reasoning,
        request_id: resp.id,
        ..CompletionResponse::default()
    }
}

/// A tool call being streamed: id, name and the JSON fragments so far.
#[derive(Debug)]
struct PendingTool {
    index: usize,
    id: String,
    name: String,
    json: String,
}

/// Folds Anthropic stream events into [`StreamChunk`]s. A tool call is emitted once, complete,
/// when its block stops; the final chunk (finish reason, usage) is emitted on `message_stop`.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    structured: bool,
    tools: Vec<PendingTool>,
    structured_text: Option<usize>,
    input_usage: Usage,
    output_tokens: Option<u32>,
    stop_reason: Option<String>,
    saw_delta: bool,
    done: bool,
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
        let event: StreamEvent = serde_json::from_str(data).map_err(|e| {
            BlazenError::invalid_response(super::PROVIDER, format!("bad stream event: {e}"), data)
        })?;
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
            } => match content_block {
                ResponseBlock::ToolUse { id, name, input } => {
                    if self.structured && name == JSON_TOOL_NAME {
                        self.structured_text = Some(index);
                    }
                    // A start block normally carries `{}`; anything else is a complete input.
                    let json = match input {
                        Value::Object(m) if m.is_empty() => String::new(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    self.tools.push(PendingTool {
                        index,
                        id,
                        name,
                        json,
                    });
                    Ok(None)
                }
                ResponseBlock::Text { text } if !text.is_empty() => {
                    Ok(Some(StreamChunk::text(text)))
                }
                _ => Ok(None),
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => Ok(Some(StreamChunk::text(text))),
                BlockDelta::InputJsonDelta { partial_json } => {
                    if self.structured_text == Some(index) {
                        // Structured output: the tool input *is* the answer text.
                        self.saw_delta = true;
                        if partial_json.is_empty() {
                            return Ok(None);
                        }
                        return Ok(Some(StreamChunk::text(partial_json)));
                    }
                    match self.tools.iter_mut().find(|t| t.index == index) {
                        Some(tool) => {
                            tool.json.push_str(&partial_json);
                            Ok(None)
                        }
                        None => Err(BlazenError::invalid_response(
                            super::PROVIDER,
                            format!("input_json_delta for unknown block {index}"),
                            data,
                        )),
                    }
                }
                BlockDelta::ThinkingDelta { thinking } => Ok(Some(StreamChunk {
                    reasoning: Some(thinking),
                    ..StreamChunk::default()
                })),
                BlockDelta::Other => Ok(None),
            },
            StreamEvent::ContentBlockStop { index } => {
                let Some(pos) = self.tools.iter().position(|t| t.index == index) else {
                    return Ok(None);
                };
                let tool = self.tools.remove(pos);
                if self.structured_text == Some(index) {
                    if !self.saw_delta && !tool.json.is_empty() {
                        return Ok(Some(StreamChunk::text(tool.json)));
                    }
                    return Ok(None);
                }
                Ok(Some(StreamChunk {
                    tool_calls: vec![ToolCall::from_raw(tool.id, tool.name, &tool.json)],
                    ..StreamChunk::default()
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

    #[test]
    fn a_delta_for_an_unknown_block_is_an_error_not_a_panic() {
        let mut s = StreamState::new(false);
        let ev = r#"{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{"}}"#;
        assert!(s.on_event(ev).is_err());
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
