//! Conversion between blazen's types and the Gemini wire types, and the stream state machine.
//!
//! Gemini attaches a `thoughtSignature` to function-call parts of thinking models and wants it
//! echoed back with the call in the next request. blazen keeps it in [`ToolCall::signature`], so
//! a history replayed as-is keeps the signature while the call id stays Gemini's plain id (which
//! other providers accept when the history is replayed to them).

use crate::native::DataState;
use serde_json::{json, Map, Value};

use super::wire::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, GenerateContentResponse, GenerationConfig, Part,
    Tool, ToolConfig, UsageMetadata,
};
use super::PROVIDER;
use crate::error::{BlazenError, Result};
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, ResponseFormat, Role,
    StreamChunk, TokenUsage, ToolCall, ToolChoice, ToolDialect,
};

/// Separates the call id from the thought signature in ids of earlier blazen versions, which
/// carried the signature inside the id (`<id>|sig:<signature>`); still read, never written.
const LEGACY_SIGNATURE_SEPARATOR: &str = "|sig:";
/// Prefix of the ids blazen makes up for calls Gemini sent without one (never sent back).
const LOCAL_ID_PREFIX: &str = "gemini_call_";

/// The [`ToolCall`] id of a Gemini call: Gemini's id, or a local one when it sent none.
fn call_id(id: Option<&str>, ordinal: usize) -> String {
    match id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("{LOCAL_ID_PREFIX}{ordinal}"),
    }
}

/// Splits a [`ToolCall`] id into the id to send to Gemini (none for local ids) and the
/// signature an id of an earlier blazen version carried.
fn split_call_id(id: &str) -> (Option<&str>, Option<&str>) {
    let (base, sig) = match id.split_once(LEGACY_SIGNATURE_SEPARATOR) {
        Some((b, s)) => (b, Some(s).filter(|s| !s.is_empty())),
        None => (id, None),
    };
    let base = (!base.starts_with(LOCAL_ID_PREFIX) && !base.is_empty()).then_some(base);
    (base, sig)
}

/// Builds the request body.
pub(crate) fn to_wire(req: &CompletionRequest) -> Result<GenerateContentRequest> {
    let mut system_parts = Vec::new();
    let mut contents: Vec<Content> = Vec::new();
    for (pos, msg) in req.messages.iter().enumerate() {
        match msg.role {
            Role::System => {
                if let Some(text) = msg.text_content() {
                    system_parts.push(Part {
                        text: Some(text),
                        ..Part::default()
                    });
                }
            }
            Role::User => push_turn(&mut contents, "user", user_parts(msg)),
            Role::Assistant => push_turn(&mut contents, "model", model_parts(msg)),
            Role::Tool => {
                let part = function_response(&req.messages[..pos], msg)?;
                push_turn(&mut contents, "user", vec![part]);
            }
        }
    }
    if contents.is_empty() {
        return Err(BlazenError::validation(
            "Gemini needs at least one user or model message",
        ));
    }

    let tools = if req.tools.is_empty() {
        Vec::new()
    } else {
        vec![Tool {
            function_declarations: req
                .tools
                .iter()
                .map(|t| {
                    // What Gemini's `parameters` subset cannot express goes as standard JSON
                    // Schema in `parametersJsonSchema` (the two are mutually exclusive).
                    let (parameters, parameters_json_schema) = if t.gemini_limitation.is_some() {
                        let schema = t.parameters_for(ToolDialect::Anthropic).clone();
                        (None, Some(schema).filter(has_properties))
                    } else {
                        let schema = t.parameters_for(ToolDialect::Gemini).clone();
                        (Some(schema).filter(has_properties), None)
                    };
                    FunctionDeclaration {
                        name: t.name.clone(),
                        description: (!t.description.is_empty()).then(|| t.description.clone()),
                        parameters,
                        parameters_json_schema,
                    }
                })
                .collect(),
        }]
    };
    let tool_config = req.tool_choice.as_ref().map(|choice| {
        let (mode, allowed) = match choice {
            ToolChoice::Auto => ("AUTO", Vec::new()),
            ToolChoice::None => ("NONE", Vec::new()),
            ToolChoice::Required => ("ANY", Vec::new()),
            ToolChoice::Tool(name) => ("ANY", vec![name.clone()]),
        };
        ToolConfig {
            function_calling_config: FunctionCallingConfig {
                mode,
                allowed_function_names: allowed,
            },
        }
    });

    let mut config = GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        max_output_tokens: req.max_tokens,
        stop_sequences: req.stop.clone(),
        ..GenerationConfig::default()
    };
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            config.response_mime_type = Some("application/json".to_owned());
        }
        Some(format) => {
            config.response_mime_type = Some("application/json".to_owned());
            // `responseJsonSchema` takes standard JSON Schema (the dialect Anthropic's tools
            // use too), not the OpenAPI subset of `responseSchema`.
            config.response_json_schema = format
                .schema_for(ToolDialect::Anthropic)
                .map(|(schema, _)| schema.clone());
        }
    }
    let config_is_empty = config.temperature.is_none()
        && config.top_p.is_none()
        && config.max_output_tokens.is_none()
        && config.stop_sequences.is_empty()
        && config.response_mime_type.is_none();

    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system_parts.is_empty()).then_some(Content {
            role: None,
            parts: system_parts,
        }),
        tools,
        tool_config,
        generation_config: (!config_is_empty).then_some(config),
    })
}

/// A function without parameters is declared without a `parameters` schema.
fn has_properties(schema: &Value) -> bool {
    match schema.get("properties") {
        Some(Value::Object(p)) => !p.is_empty(),
        Some(_) => true,
        None => {
            let empty = schema.as_object().is_none_or(Map::is_empty);
            !empty && schema.get("type").and_then(Value::as_str) != Some("object")
        }
    }
}

fn push_turn(contents: &mut Vec<Content>, role: &str, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content {
            role: Some(role.to_owned()),
            parts,
        }),
    }
}

fn user_parts(msg: &ChatMessage) -> Vec<Part> {
    if msg.parts.is_empty() {
        return msg
            .content
            .iter()
            .map(|t| Part {
                text: Some(t.clone()),
                ..Part::default()
            })
            .collect();
    }
    msg.parts
        .iter()
        .map(|part| match part {
            ContentPart::Text { text } => Part {
                text: Some(text.clone()),
                ..Part::default()
            },
            ContentPart::ImageBase64 { data, media_type } => Part {
                inline_data: Some(Blob {
                    mime_type: media_type.as_str().to_owned(),
                    data: data.clone(),
                }),
                ..Part::default()
            },
            ContentPart::ImageUrl { url, media_type } => match crate::native::parse_data_url(url) {
                Some((mime, data)) => Part {
                    inline_data: Some(Blob {
                        mime_type: mime.to_owned(),
                        data: data.to_owned(),
                    }),
                    ..Part::default()
                },
                None => Part {
                    file_data: Some(FileData {
                        mime_type: media_type
                            .as_ref()
                            .map(|m| m.as_str().to_owned())
                            .or_else(|| guess_mime(url).map(str::to_owned)),
                        file_uri: url.clone(),
                    }),
                    ..Part::default()
                },
            },
        })
        .collect()
}

/// The MIME type of a URL's file extension, for the common image types.
fn guess_mime(url: &str) -> Option<&'static str> {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let ext = path.rsplit('.').next()?;
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

fn model_parts(msg: &ChatMessage) -> Vec<Part> {
    let mut parts = Vec::new();
    if let Some(text) = msg.text_content().filter(|t| !t.is_empty()) {
        parts.push(Part {
            text: Some(text),
            ..Part::default()
        });
    }
    for call in &msg.tool_calls {
        let (id, legacy_signature) = split_call_id(&call.id);
        let signature = call.signature.as_deref().or(legacy_signature);
        let args = if call.invalid_arguments.is_some() {
            json!({})
        } else {
            call.arguments.clone()
        };
        parts.push(Part {
            function_call: Some(FunctionCall {
                id: id.map(str::to_owned),
                name: call.name.clone(),
                args,
            }),
            thought_signature: signature.map(str::to_owned),
            ..Part::default()
        });
    }
    parts
}

/// A tool message as a `functionResponse` part: the function name comes from the assistant
/// tool call it answers (or the message's `name`), the response must be a JSON object.
fn function_response(history: &[ChatMessage], msg: &ChatMessage) -> Result<Part> {
    let call_id = msg.tool_call_id.as_deref();
    let name = call_id
        .and_then(|id| {
            history
                .iter()
                .rev()
                .flat_map(|m| m.tool_calls.iter())
                .find(|c| c.id == id)
                .map(|c| c.name.clone())
        })
        .or_else(|| msg.name.clone())
        .ok_or_else(|| {
            BlazenError::validation(
                "Gemini needs the function name of a tool result: answer a tool call of the history (tool_call_id) or set the message name",
            )
        })?;
    let text = msg.text_content().unwrap_or_default();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(other) => json!({ "result": other }),
        Err(_) => json!({ "result": text }),
    };
    let id = call_id
        .and_then(|id| split_call_id(id).0)
        .map(str::to_owned);
    Ok(Part {
        function_response: Some(FunctionResponse { id, name, response }),
        ..Part::default()
    })
}

/// Maps Gemini finish reasons; `had_calls` turns `STOP` into `tool_calls`.
pub(crate) fn finish_reason(reason: &str, had_calls: bool) -> String {
    match reason {
        "STOP" if had_calls => "tool_calls",
        "STOP" => "stop",
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" => "malformed_function_call",
        other => return other.to_ascii_lowercase(),
    }
    .to_owned()
}

pub(crate) fn usage(u: &UsageMetadata) -> TokenUsage {
    let prompt = u.prompt_token_count.unwrap_or(0);
    // Saturating: the counts are the provider's, whatever their size.
    let completion = u
        .candidates_token_count
        .unwrap_or(0)
        .saturating_add(u.thoughts_token_count.unwrap_or(0));
    let mut t = TokenUsage::new(prompt, completion);
    if let Some(total) = u.total_token_count {
        t.total_tokens = total.max(t.total_tokens);
    }
    t
}

/// Text, reasoning and tool calls of the first candidate. `ordinal` numbers calls without ids.
struct Extracted {
    text: Option<String>,
    reasoning: Option<String>,
    calls: Vec<ToolCall>,
    finish: Option<String>,
}

fn extract(resp: &GenerateContentResponse, ordinal: &mut usize) -> Extracted {
    let mut out = Extracted {
        text: None,
        reasoning: None,
        calls: Vec::new(),
        finish: None,
    };
    let Some(candidate) = resp.candidates.first() else {
        return out;
    };
    if let Some(content) = &candidate.content {
        for part in &content.parts {
            if let Some(call) = &part.function_call {
                let id = call_id(call.id.as_deref(), *ordinal);
                *ordinal += 1;
                let args = match &call.args {
                    Value::Null => Value::Object(Map::new()),
                    other => other.clone(),
                };
                let mut tool_call = ToolCall::new(id, call.name.clone(), args);
                tool_call.signature = part.thought_signature.clone().filter(|sig| !sig.is_empty());
                out.calls.push(tool_call);
            } else if let Some(text) = &part.text {
                let target = if part.thought == Some(true) {
                    &mut out.reasoning
                } else {
                    &mut out.text
                };
                target.get_or_insert_with(String::new).push_str(text);
            }
        }
    }
    out.finish = candidate.finish_reason.clone();
    out
}

/// Whether the prompt itself was blocked (no candidates, a `promptFeedback.blockReason`).
fn prompt_blocked(resp: &GenerateContentResponse) -> bool {
    resp.candidates.is_empty()
        && resp
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some())
}

/// Converts a whole response.
pub(crate) fn from_wire(resp: GenerateContentResponse, fallback_model: &str) -> CompletionResponse {
    let mut ordinal = 0;
    let ex = extract(&resp, &mut ordinal);
    let mut finish = ex
        .finish
        .as_deref()
        .map(|r| finish_reason(r, !ex.calls.is_empty()));
    if finish.is_none() && prompt_blocked(&resp) {
        finish = Some("content_filter".to_owned());
    }
    CompletionResponse {
        content: ex.text,
        model: resp
            .model_version
            .clone()
            .unwrap_or_else(|| fallback_model.to_owned()),
        finish_reason: finish,
        tool_calls: ex.calls,
        usage: resp.usage_metadata.as_ref().map(usage),
        reasoning: ex.reasoning,
        ..CompletionResponse::default()
    }
}

/// Folds the SSE events of `streamGenerateContent?alt=sse` into chunks. Function calls arrive
/// whole in one part and are emitted in the chunk of their event; the chunk of the event with a
/// finish reason is the last one.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    ordinal: usize,
    had_calls: bool,
    usage: Option<TokenUsage>,
    done: bool,
}

impl DataState for StreamState {
    fn is_done(&self) -> bool {
        self.done
    }

    fn on_data(&mut self, data: &str) -> Result<Option<StreamChunk>> {
        let value: Value = serde_json::from_str(data)
            .map_err(|e| crate::sse::frame_json_error(PROVIDER, &e, data))?;
        if let Some(err) = BlazenError::from_stream_frame(PROVIDER, &value) {
            return Err(err);
        }
        let resp: GenerateContentResponse = serde_json::from_value(value).map_err(|e| {
            BlazenError::invalid_response(PROVIDER, format!("bad stream event: {e}"), data)
        })?;
        if let Some(u) = &resp.usage_metadata {
            self.usage = Some(usage(u));
        }
        let ex = extract(&resp, &mut self.ordinal);
        self.had_calls |= !ex.calls.is_empty();
        let mut finish = ex
            .finish
            .as_deref()
            .map(|r| finish_reason(r, self.had_calls));
        if finish.is_none() && prompt_blocked(&resp) {
            finish = Some("content_filter".to_owned());
        }
        if finish.is_some() {
            self.done = true;
        }
        let chunk = StreamChunk {
            delta: ex.text,
            reasoning: ex.reasoning,
            tool_calls: ex.calls,
            usage: if finish.is_some() { self.usage } else { None },
            finish_reason: finish,
            ..StreamChunk::default()
        };
        let empty = chunk.delta.is_none()
            && chunk.reasoning.is_none()
            && chunk.tool_calls.is_empty()
            && chunk.finish_reason.is_none();
        Ok((!empty).then_some(chunk))
    }

    fn on_eof(&mut self) -> Result<Option<StreamChunk>> {
        if self.done {
            return Ok(None);
        }
        Err(BlazenError::stream(
            PROVIDER,
            "the stream ended without a finish reason (truncated)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn call_ids_are_plain_and_local_ids_are_not_sent() {
        assert_eq!(call_id(Some("fc_7"), 0), "fc_7");
        assert_eq!(call_id(None, 3), "gemini_call_3");
        assert_eq!(call_id(Some(""), 1), "gemini_call_1");
        assert_eq!(split_call_id("fc_7"), (Some("fc_7"), None));
        assert_eq!(split_call_id("gemini_call_3"), (None, None));
        // Ids of earlier versions carried the signature: still read.
        assert_eq!(split_call_id("fc_7|sig:c2ln"), (Some("fc_7"), Some("c2ln")));
        assert_eq!(split_call_id("gemini_call_1|sig:s"), (None, Some("s")));
    }

    fn history_with(call: ToolCall) -> CompletionRequest {
        CompletionRequest::new(vec![
            ChatMessage::user("Weather?"),
            ChatMessage::assistant_tool_calls(vec![call]),
        ])
    }

    #[test]
    fn the_signature_goes_back_on_its_function_call_part() {
        let call = ToolCall::new("fc_1", "weather", json!({"city": "Oslo"})).with_signature("c2ln");
        let body = serde_json::to_value(to_wire(&history_with(call)).unwrap()).unwrap();
        assert_eq!(
            body["contents"][1]["parts"][0],
            json!({"functionCall": {"id": "fc_1", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"})
        );
        let legacy = ToolCall::new("fc_1|sig:b2xk", "weather", json!({}));
        let body = serde_json::to_value(to_wire(&history_with(legacy)).unwrap()).unwrap();
        assert_eq!(
            body["contents"][1]["parts"][0],
            json!({"functionCall": {"id": "fc_1", "name": "weather", "args": {}}, "thoughtSignature": "b2xk"})
        );
        let unsigned = ToolCall::new("call_abc", "weather", json!({}));
        let body = serde_json::to_value(to_wire(&history_with(unsigned)).unwrap()).unwrap();
        assert!(body["contents"][1]["parts"][0]
            .get("thoughtSignature")
            .is_none());
    }

    #[test]
    fn decoded_calls_keep_the_signature_apart_from_the_id() {
        let resp: GenerateContentResponse = serde_json::from_value(json!({"candidates": [{
            "content": {"role": "model", "parts": [
                {"functionCall": {"id": "fc_9", "name": "f", "args": {}}, "thoughtSignature": "c2ln"},
                {"functionCall": {"name": "g"}}
            ]},
            "finishReason": "STOP"}]}))
        .unwrap();
        let out = from_wire(resp, "gemini-2.5-flash");
        assert_eq!(out.tool_calls[0].id, "fc_9");
        assert_eq!(out.tool_calls[0].signature.as_deref(), Some("c2ln"));
        assert_eq!(out.tool_calls[1].id, "gemini_call_1");
        assert_eq!(out.tool_calls[1].signature, None);
    }

    #[test]
    fn functions_without_parameters_omit_the_schema() {
        assert!(!has_properties(&json!({})));
        assert!(!has_properties(
            &json!({"type": "object", "properties": {}})
        ));
        assert!(!has_properties(&json!({"type": "object"})));
        assert!(has_properties(
            &json!({"type": "object", "properties": {"a": {"type": "string"}}})
        ));
    }

    #[test]
    fn finish_reasons_map() {
        assert_eq!(finish_reason("STOP", false), "stop");
        assert_eq!(finish_reason("STOP", true), "tool_calls");
        assert_eq!(finish_reason("MAX_TOKENS", false), "length");
        assert_eq!(finish_reason("RECITATION", false), "content_filter");
        assert_eq!(finish_reason("LANGUAGE", false), "language");
    }

    proptest! {
        #[test]
        fn stream_state_never_panics(data in ".{0,200}") {
            let mut s = StreamState::default();
            let _ = s.on_data(&data);
            let _ = s.on_eof();
        }
    }
}
