//! Opt-in message content on the GenAI spans: the switch, and the JSON shapes of the
//! convention's `gen_ai.system_instructions`, `gen_ai.input.messages`,
//! `gen_ai.output.messages`, `gen_ai.tool.call.arguments` and `gen_ai.tool.call.result`.
//!
//! Everything here runs only on an enabled span with the switch on; the parts borrow from the
//! request and the response, so recording is one `serde_json::to_string` per attribute.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;
use serde_json::Value;
use tracing::Span;

use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, MediaOutput, MediaType, Role,
    ToolCall,
};

/// The environment variable that turns content recording on (`true`), read once, on the first
/// enabled span, unless [`set_capture_content`] was called before.
///
/// ```
/// use blazen_providers::telemetry::CAPTURE_CONTENT_ENV;
/// assert_eq!(CAPTURE_CONTENT_ENV, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
/// ```
pub const CAPTURE_CONTENT_ENV: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

const UNREAD: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// The switch: unread until the environment variable is read or a value is set.
static CAPTURE: AtomicU8 = AtomicU8::new(UNREAD);

/// Turns the recording of message content on or off for the whole process, whatever
/// [`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`](CAPTURE_CONTENT_ENV) says.
///
/// Content is off by default: the conventions class instructions, messages and tool arguments
/// as sensitive. With it on, enabled `chat` spans get `gen_ai.system_instructions`,
/// `gen_ai.input.messages` and `gen_ai.output.messages`, and `execute_tool` spans
/// `gen_ai.tool.call.arguments` and `gen_ai.tool.call.result` (see the [module](super) table).
/// It applies to what spans record from then on (a span's input is recorded when it starts, its
/// output or a tool's result when they arrive).
///
/// ```
/// use blazen_providers::telemetry::{capture_content, set_capture_content};
///
/// set_capture_content(true);
/// assert!(capture_content());
/// set_capture_content(false);
/// assert!(!capture_content());
/// ```
pub fn set_capture_content(on: bool) {
    CAPTURE.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether message content is recorded: the value given to [`set_capture_content`], else
/// whether [`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`](CAPTURE_CONTENT_ENV) is
/// `true` (any ASCII case; also `span_only` or `span_and_event`, the values of the
/// OpenTelemetry Python instrumentations), read on the first call.
///
/// ```
/// use blazen_providers::telemetry::{capture_content, set_capture_content};
///
/// // With `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`, or in code:
/// set_capture_content(true);
/// assert!(capture_content());
/// ```
pub fn capture_content() -> bool {
    match CAPTURE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => read_env(),
    }
}

/// Reads the environment variable once; a value set meanwhile by [`set_capture_content`] wins.
#[cold]
fn read_env() -> bool {
    let read = if env_says_on(std::env::var(CAPTURE_CONTENT_ENV).ok().as_deref()) {
        ON
    } else {
        OFF
    };
    match CAPTURE.compare_exchange(UNREAD, read, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => read == ON,
        Err(set) => set == ON,
    }
}

fn env_says_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        ["true", "span_only", "span_and_event"]
            .iter()
            .any(|on| v.eq_ignore_ascii_case(on))
    })
}

/// A message of `gen_ai.input.messages` or `gen_ai.output.messages`.
#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    parts: Vec<Part<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
}

/// A message part, tagged by `type` as the convention's JSON schemas name them.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text {
        content: &'a str,
    },
    Reasoning {
        content: &'a str,
    },
    ToolCall {
        id: &'a str,
        name: &'a str,
        arguments: &'a Value,
    },
    ToolCallResponse {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        response: Cow<'a, str>,
    },
    /// Media by URL (not a `data:` URL).
    Uri {
        modality: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        mime_type: Option<&'a str>,
        uri: &'a str,
    },
    /// Inline media: its modality and MIME type, never its bytes (the convention's `content`
    /// is left out on purpose).
    Blob {
        modality: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        mime_type: Option<&'a str>,
    },
}

/// Records the request's system instructions and input messages on a `chat` span.
pub(super) fn record_input(span: &Span, request: &CompletionRequest) {
    let mut instructions = Vec::new();
    let mut messages = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        if message.role == Role::System {
            push_content(&mut instructions, message);
        } else {
            messages.push(input_message(message));
        }
    }
    if !instructions.is_empty() {
        record_json(span, "gen_ai.system_instructions", &instructions);
    }
    record_json(span, "gen_ai.input.messages", &messages);
}

/// Records a response as the one message of `gen_ai.output.messages`.
pub(super) fn record_output(span: &Span, response: &CompletionResponse) {
    let mut parts = Vec::new();
    if let Some(reasoning) = &response.reasoning {
        parts.push(Part::Reasoning { content: reasoning });
    }
    if let Some(text) = &response.content {
        parts.push(Part::Text { content: text });
    }
    parts.extend(response.tool_calls.iter().map(tool_call));
    for media in [&response.images, &response.audio, &response.videos] {
        parts.extend(media.iter().map(media_output));
    }
    let message = Message {
        role: Role::Assistant.as_str(),
        parts,
        name: None,
        finish_reason: Some(finish_reason(response.finish_reason.as_deref())),
    };
    record_json(span, "gen_ai.output.messages", &[message]);
}

/// Records a tool call's arguments on its `execute_tool` span: their JSON (the raw text as a
/// JSON string when the model's arguments did not parse).
pub(super) fn record_tool_arguments(span: &Span, call: &ToolCall) {
    record_json(span, "gen_ai.tool.call.arguments", &call.arguments);
}

/// Records a tool's result on its `execute_tool` span, as JSON; a
/// [`ToolContent`](blazen::tool::ToolContent) result without the bytes of its images, audio
/// and binary resources (their blocks keep type and MIME type).
pub(super) fn record_tool_result(span: &Span, result: &Value) {
    if blazen::tool::ToolContent::from_value(result).is_some() {
        let mut result = result.clone();
        if let Some(blocks) = result["content"].as_array_mut() {
            for block in blocks.iter_mut().filter_map(Value::as_object_mut) {
                block.remove("data");
                if let Some(resource) = block.get_mut("resource").and_then(Value::as_object_mut) {
                    resource.remove("blob");
                }
            }
        }
        record_json(span, "gen_ai.tool.call.result", &result);
    } else {
        record_json(span, "gen_ai.tool.call.result", result);
    }
}

fn record_json<T: Serialize + ?Sized>(span: &Span, field: &str, value: &T) {
    // Serializing borrowed strings and `serde_json::Value`s cannot fail.
    if let Ok(json) = serde_json::to_string(value) {
        span.record(field, json.as_str());
    }
}

fn input_message(message: &ChatMessage) -> Message<'_> {
    let mut parts = Vec::new();
    if message.role == Role::Tool {
        parts.push(Part::ToolCallResponse {
            id: message.tool_call_id.as_deref(),
            response: match &message.content {
                Some(text) => Cow::Borrowed(text),
                None => Cow::Owned(message.text_content().unwrap_or_default()),
            },
        });
    } else {
        push_content(&mut parts, message);
    }
    parts.extend(message.tool_calls.iter().map(tool_call));
    Message {
        role: message.role.as_str(),
        parts,
        name: message.name.as_deref(),
        finish_reason: None,
    }
}

/// A message's content as parts: its `parts` when it has some (they are what is sent), else its
/// text.
fn push_content<'a>(parts: &mut Vec<Part<'a>>, message: &'a ChatMessage) {
    if message.parts.is_empty() {
        if let Some(text) = &message.content {
            parts.push(Part::Text { content: text });
        }
    } else {
        parts.extend(message.parts.iter().map(content_part));
    }
}

fn content_part(part: &ContentPart) -> Part<'_> {
    match part {
        ContentPart::Text { text } => Part::Text { content: text },
        ContentPart::ImageUrl { url, media_type } => match url.strip_prefix("data:") {
            Some(data) => {
                let mime = media_type
                    .as_ref()
                    .map(MediaType::as_str)
                    .or_else(|| data_url_mime(data));
                Part::Blob {
                    modality: modality(mime),
                    mime_type: mime,
                }
            }
            None => {
                let mime = media_type.as_ref().map(MediaType::as_str);
                Part::Uri {
                    modality: modality(mime),
                    mime_type: mime,
                    uri: url,
                }
            }
        },
        ContentPart::ImageBase64 { media_type, .. } => Part::Blob {
            modality: modality(Some(media_type.as_str())),
            mime_type: Some(media_type.as_str()),
        },
    }
}

fn media_output(media: &MediaOutput) -> Part<'_> {
    let mime = media.media_type.as_ref().map(MediaType::as_str);
    match &media.url {
        Some(url) if !url.starts_with("data:") => Part::Uri {
            modality: modality(mime),
            mime_type: mime,
            uri: url,
        },
        _ => Part::Blob {
            modality: modality(mime),
            mime_type: mime,
        },
    }
}

fn tool_call(call: &ToolCall) -> Part<'_> {
    Part::ToolCall {
        id: &call.id,
        name: &call.name,
        arguments: &call.arguments,
    }
}

/// The MIME type of a `data:` URL (what follows `data:`), when it names one.
fn data_url_mime(data: &str) -> Option<&str> {
    let end = data.find([';', ','])?;
    Some(&data[..end]).filter(|mime| !mime.is_empty())
}

/// The convention's modality of a MIME type: `image`, `audio` or `video`; any other type's
/// top-level name; `image` when unknown (the media parts of a request are images).
fn modality(mime: Option<&str>) -> &str {
    match mime.and_then(|m| m.split_once('/')) {
        Some((top, _)) if !top.is_empty() => top,
        _ => "image",
    }
}

/// The convention's finish reason: `tool_call` for the `tool_calls` every provider is mapped
/// to, the others as they are; `stop` when the provider gave none.
fn finish_reason(reason: Option<&str>) -> &str {
    match reason {
        Some("tool_calls") => "tool_call",
        Some(other) => other,
        None => "stop",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_variable_says_on_with_true_in_any_case() {
        assert!(!env_says_on(None));
        for on in ["true", "TRUE", " True ", "span_only", "SPAN_AND_EVENT"] {
            assert!(env_says_on(Some(on)), "{on}");
        }
        for off in ["", "false", "1", "yes", "no_content", "event_only"] {
            assert!(!env_says_on(Some(off)), "{off}");
        }
    }

    #[test]
    fn media_parts_name_modality_and_mime_type_but_carry_no_bytes() {
        let data = "iVBORw0KGgo=";
        let parts = [
            ContentPart::image_base64(data, MediaType::PNG),
            ContentPart::ImageUrl {
                url: format!("data:image/webp;base64,{data}"),
                media_type: None,
            },
            ContentPart::image_url("https://example.com/a.mp3", MediaType::MP3),
        ];
        let json =
            serde_json::to_string(&parts.iter().map(content_part).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            json,
            r#"[{"type":"blob","modality":"image","mime_type":"image/png"},{"type":"blob","modality":"image","mime_type":"image/webp"},{"type":"uri","modality":"audio","mime_type":"audio/mpeg","uri":"https://example.com/a.mp3"}]"#
        );
        assert!(!json.contains(data));
    }
}
