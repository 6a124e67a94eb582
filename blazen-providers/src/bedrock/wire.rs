//! Serde types of the Bedrock Runtime Converse API (`POST /model/{modelId}/converse` and
//! `/converse-stream`). Field names are camelCase on the wire.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Request body of Converse / ConverseStream.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseRequest {
    pub(crate) messages: Vec<Message>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) system: Vec<SystemBlock>,
    pub(crate) inference_config: InferenceConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_config: Option<ToolConfig>,
}

/// A system prompt block.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SystemBlock {
    pub(crate) text: String,
}

/// One turn (`user` or `assistant`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Message {
    pub(crate) role: String,
    #[serde(default)]
    pub(crate) content: Vec<ContentBlock>,
}

/// A content block: one field set. Unknown kinds (reasoning, citations…) are kept as `Other`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ContentBlock {
    Text(String),
    Image(ImageBlock),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    #[serde(untagged)]
    Other(Value),
}

/// An image, as raw bytes (base64 in JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImageBlock {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub(crate) format: String,
    pub(crate) source: ImageSource,
}

/// The bytes of an image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImageSource {
    pub(crate) bytes: String,
}

/// A tool call by the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseBlock {
    pub(crate) tool_use_id: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) input: Value,
}

/// The result of a tool call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolResultBlock {
    pub(crate) tool_use_id: String,
    pub(crate) content: Vec<ToolResultContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<String>,
}

/// Content of a tool result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolResultContent {
    Json(Value),
    Text(String),
}

/// `inferenceConfig`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InferenceConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) stop_sequences: Vec<String>,
}

/// `toolConfig`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfig {
    pub(crate) tools: Vec<Tool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<Value>,
}

/// `{"toolSpec": {...}}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tool {
    pub(crate) tool_spec: ToolSpec,
}

/// A tool's name, description and JSON Schema.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolSpec {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) input_schema: InputSchema,
}

/// `{"json": schema}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InputSchema {
    pub(crate) json: Value,
}

/// Response body of Converse.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseResponse {
    #[serde(default)]
    pub(crate) output: Option<Output>,
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
    #[serde(default)]
    pub(crate) metrics: Option<Metrics>,
}

/// `output`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Output {
    #[serde(default)]
    pub(crate) message: Option<Message>,
}

/// Token counts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Usage {
    #[serde(default)]
    pub(crate) input_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) output_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) total_tokens: Option<u64>,
}

/// Server-side latency.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metrics {
    #[serde(default)]
    pub(crate) latency_ms: Option<u64>,
}

/// Payload of `contentBlockStart`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContentBlockStart {
    pub(crate) content_block_index: usize,
    #[serde(default)]
    pub(crate) start: Option<BlockStart>,
}

/// `start` of a block: a tool use starting.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockStart {
    #[serde(default)]
    pub(crate) tool_use: Option<ToolUseStart>,
}

/// Id and name of a streamed tool call.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseStart {
    pub(crate) tool_use_id: String,
    pub(crate) name: String,
}

/// Payload of `contentBlockDelta`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContentBlockDelta {
    pub(crate) content_block_index: usize,
    #[serde(default)]
    pub(crate) delta: Option<BlockDelta>,
}

/// The delta: text or a fragment of tool input JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockDelta {
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) tool_use: Option<ToolUseDelta>,
}

/// A fragment of tool input.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ToolUseDelta {
    #[serde(default)]
    pub(crate) input: String,
}

/// Payload of `contentBlockStop`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContentBlockStop {
    pub(crate) content_block_index: usize,
}

/// Payload of `messageStop`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageStop {
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
}

/// Payload of `metadata`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StreamMetadata {
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
}
