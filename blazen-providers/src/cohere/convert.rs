//! Conversion between blazen's types and the Cohere v2 wire types, and the stream state machine.

use crate::native::DataState;
use serde_json::json;

use super::wire::{
    ChatRequest, ChatResponse, ContentPart as WirePart, FunctionCall, FunctionDef, ImageUrl,
    Message, MessageContent, ResponseContent, StreamEvent, Tool, ToolCall as WireToolCall, Usage,
};
use super::PROVIDER;
use crate::error::{BlazenError, Result};
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, ResponseFormat, Role,
    StreamChunk, TokenUsage, ToolCall, ToolChoice, ToolDialect,
};

/// Builds the request body.
pub(crate) fn to_wire(req: &CompletionRequest, model: &str, stream: bool) -> Result<ChatRequest> {
    let mut messages = Vec::with_capacity(req.messages.len());
    for msg in &req.messages {
        messages.push(match msg.role {
            Role::System => plain("system", msg.text_content().unwrap_or_default()),
            Role::User => Message {
                role: "user",
                content: Some(user_content(msg)),
                tool_calls: Vec::new(),
                tool_call_id: None,
                tool_plan: None,
            },
            Role::Assistant => assistant(msg),
            Role::Tool => {
                let Some(id) = msg.tool_call_id.clone() else {
                    return Err(BlazenError::validation(
                        "a tool message needs tool_call_id for Cohere",
                    ));
                };
                Message {
                    role: "tool",
                    content: Some(MessageContent::Text(msg.text_content().unwrap_or_default())),
                    tool_calls: Vec::new(),
                    tool_call_id: Some(id),
                    tool_plan: None,
                }
            }
        });
    }

    // Cohere has no "this tool" choice: offer only that tool and require a call.
    let (tools, tool_choice): (Vec<_>, _) = match &req.tool_choice {
        Some(ToolChoice::Tool(name)) => {
            let only: Vec<_> = req.tools.iter().filter(|t| &t.name == name).collect();
            if only.is_empty() {
                return Err(BlazenError::validation(format!(
                    "tool_choice names {name:?}, which is not among the request's tools"
                )));
            }
            (only, Some("REQUIRED"))
        }
        Some(ToolChoice::Required) => (req.tools.iter().collect(), Some("REQUIRED")),
        Some(ToolChoice::None) => (req.tools.iter().collect(), Some("NONE")),
        Some(ToolChoice::Auto) | None => (req.tools.iter().collect(), None),
    };
    let tools = tools
        .into_iter()
        .map(|t| Tool {
            kind: "function",
            function: FunctionDef {
                name: t.name.clone(),
                description: (!t.description.is_empty()).then(|| t.description.clone()),
                parameters: t.parameters_for(ToolDialect::OpenAi).clone(),
            },
        })
        .collect();
    // Cohere's JSON mode, with the schema when there is one.
    let response_format = match &req.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(format) => Some(match format.schema_for(ToolDialect::OpenAi) {
            Some((schema, _)) => json!({"type": "json_object", "json_schema": schema}),
            None => json!({"type": "json_object"}),
        }),
    };
    Ok(ChatRequest {
        model: model.to_owned(),
        messages,
        tools,
        tool_choice,
        temperature: req.temperature,
        p: req.top_p,
        max_tokens: req.max_tokens,
        stop_sequences: req.stop.clone(),
        response_format,
        stream,
    })
}

fn plain(role: &'static str, text: String) -> Message {
    Message {
        role,
        content: Some(MessageContent::Text(text)),
        tool_calls: Vec::new(),
        tool_call_id: None,
        tool_plan: None,
    }
}

fn user_content(msg: &ChatMessage) -> MessageContent {
    if msg.parts.is_empty() {
        return MessageContent::Text(msg.content.clone().unwrap_or_default());
    }
    MessageContent::Parts(
        msg.parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text } => WirePart::Text { text: text.clone() },
                ContentPart::ImageUrl { url, .. } => WirePart::ImageUrl {
                    image_url: ImageUrl { url: url.clone() },
                },
                ContentPart::ImageBase64 { data, media_type } => WirePart::ImageUrl {
                    image_url: ImageUrl {
                        url: format!("data:{};base64,{data}", media_type.as_str()),
                    },
                },
            })
            .collect(),
    )
}

fn assistant(msg: &ChatMessage) -> Message {
    let text = msg.text_content().filter(|t| !t.is_empty());
    if msg.tool_calls.is_empty() {
        return plain("assistant", text.unwrap_or_default());
    }
    Message {
        role: "assistant",
        content: None,
        tool_calls: msg
            .tool_calls
            .iter()
            .map(|c| WireToolCall {
                id: Some(c.id.clone()),
                kind: "function".to_owned(),
                function: Some(FunctionCall {
                    name: Some(c.name.clone()),
                    arguments: Some(c.arguments_json()),
                }),
            })
            .collect(),
        tool_call_id: None,
        // The text said before the calls is Cohere's "tool plan".
        tool_plan: text,
    }
}

/// Maps Cohere finish reasons.
pub(crate) fn finish_reason(reason: &str) -> String {
    match reason {
        "COMPLETE" | "STOP_SEQUENCE" => "stop",
        "MAX_TOKENS" => "length",
        "TOOL_CALL" => "tool_calls",
        other => return other.to_ascii_lowercase(),
    }
    .to_owned()
}

/// Counts as f64 on the wire (Cohere sends numbers); clamp to integers (only finite, positive
/// values are cast, after rounding). Chat and embeddings both read their counts with this.
pub(super) fn count(v: Option<f64>) -> u64 {
    v.filter(|x| x.is_finite() && *x > 0.0)
        .map_or(0, |x| x.round() as u64)
}

pub(crate) fn usage(u: &Usage) -> Option<TokenUsage> {
    let counts = u.tokens.as_ref().or(u.billed_units.as_ref())?;
    Some(TokenUsage::new(
        count(counts.input_tokens),
        count(counts.output_tokens),
    ))
}

fn tool_call(call: &WireToolCall) -> ToolCall {
    let f = call.function.clone().unwrap_or_default();
    ToolCall::from_raw(
        call.id.clone().unwrap_or_default(),
        f.name.unwrap_or_default(),
        f.arguments.as_deref().unwrap_or(""),
    )
}

/// Converts a whole response.
pub(crate) fn from_wire(resp: ChatResponse, model: &str) -> CompletionResponse {
    let message = resp.message.unwrap_or_default();
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    for item in &message.content {
        match item {
            ResponseContent::Text { text: t } => text.get_or_insert_with(String::new).push_str(t),
            ResponseContent::Thinking { thinking } => {
                reasoning.get_or_insert_with(String::new).push_str(thinking);
            }
            ResponseContent::Other => {}
        }
    }
    if let Some(plan) = message.tool_plan.filter(|p| !p.is_empty()) {
        reasoning.get_or_insert_with(String::new).push_str(&plan);
    }
    CompletionResponse {
        content: text,
        model: model.to_owned(),
        finish_reason: resp.finish_reason.as_deref().map(finish_reason),
        tool_calls: message.tool_calls.iter().map(tool_call).collect(),
        usage: resp.usage.as_ref().and_then(usage),
        reasoning,
        request_id: resp.id,
        ..CompletionResponse::default()
    }
}

#[derive(Debug, Default)]
struct PendingCall {
    index: usize,
    id: String,
    name: String,
    arguments: String,
}

/// Folds Cohere v2 stream events into chunks; `message-end` is the terminal event.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    calls: Vec<PendingCall>,
    done: bool,
}

impl DataState for StreamState {
    fn is_done(&self) -> bool {
        self.done
    }

    fn on_data(&mut self, data: &str) -> Result<Option<StreamChunk>> {
        if data == "[DONE]" {
            return Ok(None);
        }
        let value: serde_json::Value = serde_json::from_str(data)
            .map_err(|e| crate::sse::frame_json_error(PROVIDER, &e, data))?;
        if let Some(err) = BlazenError::from_stream_frame(PROVIDER, &value) {
            return Err(err);
        }
        let event: StreamEvent = serde_json::from_value(value).map_err(|e| {
            BlazenError::invalid_response(PROVIDER, format!("bad stream event: {e}"), data)
        })?;
        Ok(match event {
            StreamEvent::MessageStart {} | StreamEvent::Other => None,
            StreamEvent::ContentDelta { delta } => {
                let content = delta
                    .and_then(|d| d.message)
                    .and_then(|m| m.content)
                    .unwrap_or_default();
                match (content.text, content.thinking) {
                    (Some(t), _) if !t.is_empty() => Some(StreamChunk::text(t)),
                    (_, Some(r)) if !r.is_empty() => Some(StreamChunk {
                        reasoning: Some(r),
                        ..StreamChunk::default()
                    }),
                    _ => None,
                }
            }
            StreamEvent::ToolPlanDelta { delta } => delta
                .and_then(|d| d.message)
                .and_then(|m| m.tool_plan)
                .filter(|p| !p.is_empty())
                .map(|p| StreamChunk {
                    reasoning: Some(p),
                    ..StreamChunk::default()
                }),
            StreamEvent::ToolCallStart { index, delta } => {
                let call = delta.and_then(|d| d.message).and_then(|m| m.tool_calls);
                let (id, f) = match call {
                    Some(c) => (c.id.unwrap_or_default(), c.function.unwrap_or_default()),
                    None => (String::new(), FunctionCall::default()),
                };
                self.calls.push(PendingCall {
                    index: index.unwrap_or(self.calls.len()),
                    id,
                    name: f.name.unwrap_or_default(),
                    arguments: f.arguments.unwrap_or_default(),
                });
                None
            }
            StreamEvent::ToolCallDelta { index, delta } => {
                let fragment = delta
                    .and_then(|d| d.message)
                    .and_then(|m| m.tool_calls)
                    .and_then(|c| c.function)
                    .and_then(|f| f.arguments)
                    .unwrap_or_default();
                let call = match index {
                    Some(i) => self.calls.iter_mut().find(|c| c.index == i),
                    None => self.calls.last_mut(),
                };
                match call {
                    Some(c) => c.arguments.push_str(&fragment),
                    None => {
                        return Err(BlazenError::invalid_response(
                            PROVIDER,
                            "tool-call-delta before tool-call-start",
                            data,
                        ))
                    }
                }
                None
            }
            StreamEvent::ToolCallEnd { index } => {
                let pos = match index {
                    Some(i) => self.calls.iter().position(|c| c.index == i),
                    None => self.calls.len().checked_sub(1),
                };
                pos.map(|p| {
                    let c = self.calls.remove(p);
                    StreamChunk {
                        tool_calls: vec![ToolCall::from_raw(c.id, c.name, &c.arguments)],
                        ..StreamChunk::default()
                    }
                })
            }
            StreamEvent::MessageEnd { delta } => {
                let delta = delta.unwrap_or_default();
                if let Some(message) = delta.error.filter(|e| !e.is_empty()) {
                    return Err(BlazenError::stream(PROVIDER, message));
                }
                if delta.finish_reason.as_deref() == Some("ERROR") {
                    return Err(BlazenError::stream(
                        PROVIDER,
                        "the model stopped with finish reason ERROR",
                    ));
                }
                self.done = true;
                // Calls that never saw tool-call-end are still complete at message end.
                let tool_calls = self
                    .calls
                    .drain(..)
                    .map(|c| ToolCall::from_raw(c.id, c.name, &c.arguments))
                    .collect();
                Some(StreamChunk {
                    finish_reason: Some(
                        delta
                            .finish_reason
                            .as_deref()
                            .map_or_else(|| "stop".to_owned(), finish_reason),
                    ),
                    usage: delta.usage.as_ref().and_then(usage),
                    tool_calls,
                    ..StreamChunk::default()
                })
            }
        })
    }

    fn on_eof(&mut self) -> Result<Option<StreamChunk>> {
        if self.done {
            return Ok(None);
        }
        Err(BlazenError::stream(
            PROVIDER,
            "the stream ended before message-end (truncated)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finish_reasons_map() {
        assert_eq!(finish_reason("COMPLETE"), "stop");
        assert_eq!(finish_reason("MAX_TOKENS"), "length");
        assert_eq!(finish_reason("TOOL_CALL"), "tool_calls");
        assert_eq!(finish_reason("TIMEOUT"), "timeout");
    }

    #[test]
    fn error_finish_is_an_error() {
        let mut s = StreamState::default();
        let ev = r#"{"type":"message-end","delta":{"finish_reason":"ERROR"}}"#;
        assert!(s.on_data(ev).is_err());
    }

    proptest! {
        #[test]
        fn stream_state_never_panics(events in proptest::collection::vec(".{0,120}", 0..6)) {
            let mut s = StreamState::default();
            for e in &events {
                let _ = s.on_data(e);
            }
            let _ = s.on_eof();
        }
    }
}
