//! Conversion between blazen's types and the Bedrock Converse wire types, and the
//! ConverseStream state machine (over decoded event-stream messages).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::wire::{
    ContentBlock, ContentBlockDelta, ContentBlockStart, ContentBlockStop, ConverseRequest,
    ConverseResponse, ImageBlock, ImageSource, InferenceConfig, InputSchema, Message, MessageStop,
    StreamMetadata, SystemBlock, Tool, ToolConfig, ToolResultBlock, ToolResultContent, ToolSpec,
    ToolUseBlock, Usage,
};
use super::PROVIDER;
use crate::error::{BlazenError, Result};
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, RequestTiming, ResponseFormat,
    Role, StreamChunk, TokenUsage, ToolCall, ToolChoice, ToolDialect,
};

/// Name of the tool blazen forces to obtain structured (JSON) output: the Converse API has no
/// response format, so the schema becomes a tool's input schema and the tool call's input is the
/// answer.
pub(crate) const JSON_TOOL_NAME: &str = "json_response";

/// Whether the request asks for structured output.
pub(crate) fn is_structured(req: &CompletionRequest) -> bool {
    req.response_format
        .as_ref()
        .is_some_and(ResponseFormat::is_json)
}

/// Builds the request body.
pub(crate) fn to_wire(req: &CompletionRequest) -> Result<ConverseRequest> {
    let mut system = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for msg in &req.messages {
        match msg.role {
            Role::System => {
                if let Some(text) = msg.text_content() {
                    system.push(SystemBlock { text });
                }
            }
            Role::User => push_turn(&mut messages, "user", user_blocks(msg)?),
            Role::Assistant => push_turn(&mut messages, "assistant", assistant_blocks(msg)),
            Role::Tool => {
                let Some(id) = msg.tool_call_id.clone() else {
                    return Err(BlazenError::validation(
                        "a tool message needs tool_call_id for Bedrock",
                    ));
                };
                let text = msg.text_content().unwrap_or_default();
                let content = match serde_json::from_str::<Value>(&text) {
                    Ok(v @ Value::Object(_)) => ToolResultContent::Json(v),
                    _ => ToolResultContent::Text(text),
                };
                let block = ContentBlock::ToolResult(ToolResultBlock {
                    tool_use_id: id,
                    content: vec![content],
                    status: None,
                });
                push_turn(&mut messages, "user", vec![block]);
            }
        }
    }
    if messages.is_empty() {
        return Err(BlazenError::validation(
            "Bedrock needs at least one user or assistant message",
        ));
    }

    let answer_tool = req
        .response_format
        .as_ref()
        .and_then(|f| f.answer_tool(ToolDialect::OpenAi));
    let tool_config = if let Some((schema, description)) = answer_tool {
        let mut tools: Vec<Tool> = Vec::new();
        tools.push(Tool {
            tool_spec: ToolSpec {
                name: JSON_TOOL_NAME.to_owned(),
                description: Some(description),
                input_schema: InputSchema { json: schema },
            },
        });
        Some(ToolConfig {
            tools,
            tool_choice: Some(json!({"tool": {"name": JSON_TOOL_NAME}})),
        })
    } else if req.tools.is_empty()
        || (req.tool_choice == Some(ToolChoice::None) && !has_tool_history(&req.messages))
    {
        // Converse has no "none" choice: not offering the tools is how to forbid them...
        None
    } else {
        // ...except beside tool calls in the history, which Converse rejects without a
        // `toolConfig`: the tools are then offered with the default choice (the model may
        // still call one; callers such as `run_agent` handle that).
        Some(ToolConfig {
            tools: req
                .tools
                .iter()
                .map(|t| Tool {
                    tool_spec: ToolSpec {
                        name: t.name.clone(),
                        description: (!t.description.is_empty()).then(|| t.description.clone()),
                        input_schema: InputSchema {
                            json: t.parameters_for(ToolDialect::OpenAi).clone(),
                        },
                    },
                })
                .collect(),
            tool_choice: match &req.tool_choice {
                None | Some(ToolChoice::None) => None,
                Some(ToolChoice::Auto) => Some(json!({"auto": {}})),
                Some(ToolChoice::Required) => Some(json!({"any": {}})),
                Some(ToolChoice::Tool(name)) => Some(json!({"tool": {"name": name}})),
            },
        })
    };
    Ok(ConverseRequest {
        messages,
        system,
        inference_config: InferenceConfig {
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            stop_sequences: req.stop.clone(),
        },
        tool_config,
    })
}

fn push_turn(messages: &mut Vec<Message>, role: &str, blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => messages.push(Message {
            role: role.to_owned(),
            content: blocks,
        }),
    }
}

/// Bedrock's image `format` for a MIME type.
fn image_format(mime: &str) -> Result<&'static str> {
    Ok(match mime {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(BlazenError::invalid_media(format!(
                "bedrock accepts png, jpeg, gif and webp images, not {other}"
            )))
        }
    })
}

fn user_blocks(msg: &ChatMessage) -> Result<Vec<ContentBlock>> {
    crate::native::user_blocks(msg, ContentBlock::Text, |part| {
        Ok(match part {
            ContentPart::Text { text } => ContentBlock::Text(text.clone()),
            ContentPart::ImageBase64 { data, media_type } => ContentBlock::Image(ImageBlock {
                format: image_format(media_type.as_str())?.to_owned(),
                source: ImageSource {
                    bytes: data.clone(),
                },
            }),
            ContentPart::ImageUrl { url, .. } => {
                match crate::native::parse_data_url(url) {
                    Some((mime, data)) => ContentBlock::Image(ImageBlock {
                        format: image_format(mime)?.to_owned(),
                        source: ImageSource {
                            bytes: data.to_owned(),
                        },
                    }),
                    None => return Err(BlazenError::unsupported(
                        "bedrock: images must be sent inline (base64 or a data: URL), not by URL",
                    )),
                }
            }
        })
    })
}

fn assistant_blocks(msg: &ChatMessage) -> Vec<ContentBlock> {
    let mut blocks = Vec::new();
    if let Some(text) = msg.text_content().filter(|t| !t.is_empty()) {
        blocks.push(ContentBlock::Text(text));
    }
    for call in &msg.tool_calls {
        let input = if call.invalid_arguments.is_some() {
            json!({})
        } else {
            call.arguments.clone()
        };
        blocks.push(ContentBlock::ToolUse(ToolUseBlock {
            tool_use_id: call.id.clone(),
            name: call.name.clone(),
            input,
        }));
    }
    blocks
}

/// Maps Bedrock stop reasons.
pub(crate) fn finish_reason(reason: &str) -> String {
    match reason {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        other => other,
    }
    .to_owned()
}

pub(crate) fn usage(u: &Usage) -> TokenUsage {
    let mut t = TokenUsage::new(u.input_tokens.unwrap_or(0), u.output_tokens.unwrap_or(0));
    if let Some(total) = u.total_tokens {
        t.total_tokens = total.max(t.total_tokens);
    }
    t
}

/// Converts a whole response.
pub(crate) fn from_wire(
    resp: ConverseResponse,
    model: &str,
    structured: bool,
) -> CompletionResponse {
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    let content = resp
        .output
        .and_then(|o| o.message)
        .map(|m| m.content)
        .unwrap_or_default();
    for block in content {
        match block {
            ContentBlock::Text(t) => text.get_or_insert_with(String::new).push_str(&t),
            ContentBlock::ToolUse(u) if structured && u.name == JSON_TOOL_NAME => {
                text = Some(u.input.to_string());
            }
            ContentBlock::ToolUse(u) => {
                let input = if u.input.is_null() {
                    json!({})
                } else {
                    u.input
                };
                tool_calls.push(ToolCall::new(u.tool_use_id, u.name, input));
            }
            _ => {}
        }
    }
    let mut finish = resp.stop_reason.as_deref().map(finish_reason);
    if structured && tool_calls.is_empty() && finish.as_deref() == Some("tool_calls") {
        finish = Some("stop".to_owned());
    }
    CompletionResponse {
        content: text,
        model: model.to_owned(),
        finish_reason: finish,
        tool_calls,
        usage: resp.usage.as_ref().map(usage),
        timing: Some(RequestTiming {
            execution_ms: resp.metrics.and_then(|m| m.latency_ms),
            ..RequestTiming::default()
        }),
        ..CompletionResponse::default()
    }
}

#[derive(Debug)]
struct PendingTool {
    id: String,
    name: String,
    input: String,
}

/// Folds ConverseStream events into chunks. `messageStop` gives the stop reason, the
/// `metadata` event after it the usage; the final chunk is emitted on `metadata` (or at the end
/// of the stream when `metadata` never came).
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    /// Tool calls being streamed, by content block index: found in constant time, so tens of
    /// thousands of interleaved calls cost linear time, not quadratic.
    tools: HashMap<usize, PendingTool>,
    stop_reason: Option<String>,
    done: bool,
    /// Structured output: the forced JSON tool's input streams as text.
    structured: bool,
    json_block: Option<usize>,
}

fn parse<T: serde::de::DeserializeOwned>(event: &str, payload: &[u8]) -> Result<T> {
    serde_json::from_slice(payload).map_err(|e| {
        BlazenError::invalid_response(PROVIDER, format!("bad {event} event: {e}"), payload)
    })
}

impl StreamState {
    pub(crate) fn new(structured: bool) -> Self {
        Self {
            structured,
            ..Self::default()
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Handles one event message (its `:event-type` and JSON payload).
    pub(crate) fn on_event(
        &mut self,
        event_type: &str,
        payload: &[u8],
    ) -> Result<Option<StreamChunk>> {
        match event_type {
            "messageStart" => Ok(None),
            "contentBlockStart" => {
                let start: ContentBlockStart = parse(event_type, payload)?;
                if let Some(tool) = start.start.and_then(|s| s.tool_use) {
                    if self.structured && tool.name == JSON_TOOL_NAME {
                        self.json_block = Some(start.content_block_index);
                        return Ok(None);
                    }
                    self.tools.insert(
                        start.content_block_index,
                        PendingTool {
                            id: tool.tool_use_id,
                            name: tool.name,
                            input: String::new(),
                        },
                    );
                }
                Ok(None)
            }
            "contentBlockDelta" => {
                let delta: ContentBlockDelta = parse(event_type, payload)?;
                let Some(d) = delta.delta else {
                    return Ok(None);
                };
                if let Some(tool_delta) = d.tool_use {
                    if self.json_block == Some(delta.content_block_index) {
                        let text = tool_delta.input;
                        return Ok((!text.is_empty()).then(|| StreamChunk::text(text)));
                    }
                    match self.tools.get_mut(&delta.content_block_index) {
                        Some(t) => t.input.push_str(&tool_delta.input),
                        None => {
                            return Err(BlazenError::invalid_response(
                                PROVIDER,
                                format!(
                                    "tool input for unknown block {}",
                                    delta.content_block_index
                                ),
                                payload,
                            ))
                        }
                    }
                    return Ok(None);
                }
                Ok(d.text.filter(|t| !t.is_empty()).map(StreamChunk::text))
            }
            "contentBlockStop" => {
                let stop: ContentBlockStop = parse(event_type, payload)?;
                let Some(t) = self.tools.remove(&stop.content_block_index) else {
                    return Ok(None);
                };
                Ok(Some(StreamChunk {
                    tool_calls: vec![ToolCall::from_raw(t.id, t.name, &t.input)],
                    ..StreamChunk::default()
                }))
            }
            "messageStop" => {
                let stop: MessageStop = parse(event_type, payload)?;
                self.stop_reason = Some(stop.stop_reason.unwrap_or_else(|| "end_turn".to_owned()));
                Ok(None)
            }
            "metadata" => {
                let meta: StreamMetadata = parse(event_type, payload)?;
                if self.stop_reason.is_none() {
                    // Metadata before messageStop: keep reading.
                    return Ok(None);
                }
                self.done = true;
                Ok(Some(self.final_chunk(meta.usage.as_ref().map(usage))))
            }
            _ => Ok(None),
        }
    }

    fn final_chunk(&self, usage: Option<TokenUsage>) -> StreamChunk {
        let mut finish = self.stop_reason.as_deref().map(finish_reason);
        if self.json_block.is_some() && finish.as_deref() == Some("tool_calls") {
            finish = Some("stop".to_owned());
        }
        StreamChunk {
            finish_reason: finish,
            usage,
            ..StreamChunk::default()
        }
    }

    pub(crate) fn on_eof(&mut self) -> Result<Option<StreamChunk>> {
        if self.done {
            return Ok(None);
        }
        if self.stop_reason.is_some() {
            self.done = true;
            return Ok(Some(self.final_chunk(None)));
        }
        Err(BlazenError::stream(
            PROVIDER,
            "the stream ended before messageStop (truncated)",
        ))
    }
}

/// Whether the conversation holds tool calls or tool results.
fn has_tool_history(messages: &[ChatMessage]) -> bool {
    messages
        .iter()
        .any(|m| !m.tool_calls.is_empty() || m.tool_call_id.is_some() || m.role == Role::Tool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 40,000 tool calls all started before any ends (interleaved, as a hostile or buggy
    /// server may send them): found by index, linear. The scan this replaced was quadratic.
    #[test]
    fn tens_of_thousands_of_interleaved_streamed_calls_are_linear() {
        const N: usize = 40_000;
        // The events, written before the clock starts: only the assembly is timed.
        let mut events: Vec<(&str, String)> = (0..N)
            .map(|i| {
                let start = json!({"contentBlockIndex": i, "start": {"toolUse":
                    {"toolUseId": format!("t{i}"), "name": "f"}}});
                ("contentBlockStart", start.to_string())
            })
            .collect();
        events.extend((0..N).map(|i| {
            let delta = json!({"contentBlockIndex": i, "delta": {"toolUse": {"input": "{}"}}});
            ("contentBlockDelta", delta.to_string())
        }));
        events.extend((0..N).rev().map(|i| {
            (
                "contentBlockStop",
                json!({"contentBlockIndex": i}).to_string(),
            )
        }));
        let mut s = StreamState::new(false);
        let started = std::time::Instant::now();
        let mut calls = 0;
        for (kind, payload) in &events {
            if let Some(chunk) = s.on_event(kind, payload.as_bytes()).unwrap() {
                calls += chunk.tool_calls.len();
            }
        }
        let took = started.elapsed();
        assert_eq!(calls, N);
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    }

    #[test]
    fn tool_choice_none_drops_the_tools_unless_the_history_holds_tool_calls() {
        let add = crate::types::ToolSpec::new("add", "Adds.", json!({"type": "object"}));
        let fresh = CompletionRequest::new(vec![ChatMessage::user("hi")])
            .tool(add.clone())
            .tool_choice(ToolChoice::None);
        assert!(to_wire(&fresh).unwrap().tool_config.is_none());

        let call = ToolCall::new("t1", "add", json!({}));
        let with_history = CompletionRequest::new(vec![
            ChatMessage::user("hi"),
            ChatMessage::assistant_tool_calls(vec![call]),
            ChatMessage::tool_result("t1", "3"),
        ])
        .tool(add)
        .tool_choice(ToolChoice::None);
        let config = to_wire(&with_history)
            .unwrap()
            .tool_config
            .expect("tools kept");
        assert_eq!(config.tools[0].tool_spec.name, "add");
        assert!(config.tool_choice.is_none());
    }

    #[test]
    fn stop_reasons_map() {
        assert_eq!(finish_reason("end_turn"), "stop");
        assert_eq!(finish_reason("tool_use"), "tool_calls");
        assert_eq!(finish_reason("guardrail_intervened"), "content_filter");
        assert_eq!(finish_reason("max_tokens"), "length");
    }

    proptest! {
        #[test]
        fn stream_state_never_panics(
            kind in prop::sample::select(vec!["messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata", "other"]),
            payload in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut s = StreamState::default();
            let _ = s.on_event(kind, &payload);
            let _ = s.on_eof();
        }
    }
}
