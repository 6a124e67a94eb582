//! Serde types of the Cohere v2 API: `POST /v2/chat` (and its stream events) and
//! `POST /v2/embed`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Request body of `POST /v2/chat`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChatRequest {
    pub(crate) model: String,
    pub(crate) messages: Vec<Message>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<Tool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_format: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) stream: bool,
}

/// One chat message (`system`, `user`, `assistant` or `tool`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Message {
    pub(crate) role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<MessageContent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tool_calls: Vec<ToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_plan: Option<String>,
}

/// A message's content: a string or parts.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A content part.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentPart {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
}

/// An image reference (URL or data URL).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ImageUrl {
    pub(crate) url: String,
}

/// A tool call (request and response share the shape; `arguments` is a JSON string).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ToolCall {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(rename = "type", default = "function_type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) function: Option<FunctionCall>,
}

fn function_type() -> String {
    "function".to_owned()
}

/// Name and JSON-string arguments of a call.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) arguments: Option<String>,
}

/// A tool offered to the model.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Tool {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) function: FunctionDef,
}

/// A function definition.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FunctionDef {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) parameters: Value,
}

/// Response body of `POST /v2/chat`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChatResponse {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<ResponseMessage>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
}

/// The assistant message of a response.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ResponseMessage {
    #[serde(default)]
    pub(crate) content: Vec<ResponseContent>,
    #[serde(default)]
    pub(crate) tool_plan: Option<String>,
    #[serde(default)]
    pub(crate) tool_calls: Vec<ToolCall>,
}

/// A content item of a response.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ResponseContent {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    #[serde(other)]
    Other,
}

/// `usage`: `tokens` (what the model saw) and `billed_units`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub(crate) tokens: Option<TokenCounts>,
    #[serde(default)]
    pub(crate) billed_units: Option<TokenCounts>,
}

/// Input and output counts.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct TokenCounts {
    #[serde(default)]
    pub(crate) input_tokens: Option<f64>,
    #[serde(default)]
    pub(crate) output_tokens: Option<f64>,
}

/// One stream event (`data:` JSON, tagged by `type`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(crate) enum StreamEvent {
    MessageStart {},
    ContentDelta {
        #[serde(default)]
        delta: Option<DeltaEnvelope>,
    },
    ToolPlanDelta {
        #[serde(default)]
        delta: Option<PlanEnvelope>,
    },
    ToolCallStart {
        #[serde(default)]
        index: Option<usize>,
        #[serde(default)]
        delta: Option<DeltaEnvelope>,
    },
    ToolCallDelta {
        #[serde(default)]
        index: Option<usize>,
        #[serde(default)]
        delta: Option<DeltaEnvelope>,
    },
    ToolCallEnd {
        #[serde(default)]
        index: Option<usize>,
    },
    MessageEnd {
        #[serde(default)]
        delta: Option<MessageEndDelta>,
    },
    #[serde(other)]
    Other,
}

/// `delta` of content and tool-call events: `{"message": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct DeltaEnvelope {
    #[serde(default)]
    pub(crate) message: Option<DeltaMessage>,
}

/// `delta` of `tool-plan-delta`: `{"message": {"tool_plan": "..."}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PlanEnvelope {
    #[serde(default)]
    pub(crate) message: Option<PlanMessage>,
}

/// The plan fragment.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PlanMessage {
    #[serde(default)]
    pub(crate) tool_plan: Option<String>,
}

/// The message fragment of a delta.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct DeltaMessage {
    #[serde(default)]
    pub(crate) content: Option<DeltaContent>,
    #[serde(default)]
    pub(crate) tool_calls: Option<ToolCall>,
}

/// Text fragment of a `content-delta`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct DeltaContent {
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) thinking: Option<String>,
}

/// `delta` of `message-end`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MessageEndDelta {
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

/// Request body of `POST /v2/embed`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EmbedRequest<'a> {
    pub(crate) model: &'a str,
    pub(crate) texts: &'a [String],
    pub(crate) input_type: &'a str,
    pub(crate) embedding_types: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output_dimension: Option<u32>,
}

/// Response of `POST /v2/embed` (`embeddings.float`) or of v1 (`embeddings` as a bare list).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EmbedResponse {
    pub(crate) embeddings: Embeddings,
    #[serde(default)]
    pub(crate) meta: Option<EmbedMeta>,
}

/// Both shapes of `embeddings`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Embeddings {
    Typed { float: Vec<Vec<f32>> },
    Bare(Vec<Vec<f32>>),
}

/// `meta` of an embed response.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct EmbedMeta {
    #[serde(default)]
    pub(crate) billed_units: Option<TokenCounts>,
}
