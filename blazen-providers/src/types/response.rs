//! What a completion call returns: [`CompletionResponse`] (with [`TokenUsage`],
//! [`RequestTiming`] and [`MediaOutput`]s), or the [`StreamChunk`]s of a stream and the
//! accumulator that folds them back into a response.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ChatMessage, Citation, MediaType, Role, ServerToolCall, ServerToolResult, ToolCall};

/// Token usage of one completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens in the completion.
    pub completion_tokens: u64,
    /// Total tokens used.
    pub total_tokens: u64,
}

impl TokenUsage {
    /// Usage from prompt and completion counts (the total is their sum).
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        TokenUsage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
        }
    }

    /// The sum of two usages, each count saturating at `u64::MAX` (the counts are a
    /// provider's: a huge one must not panic a debug build or wrap in release).
    ///
    /// ```
    /// use blazen_providers::TokenUsage;
    /// let a = TokenUsage::new(u64::MAX, 1);
    /// let sum = a.saturating_add(TokenUsage::new(5, 2));
    /// assert_eq!(sum.prompt_tokens, u64::MAX);
    /// assert_eq!(sum.completion_tokens, 3);
    /// assert_eq!(sum.total_tokens, u64::MAX);
    /// ```
    #[must_use]
    pub fn saturating_add(self, other: TokenUsage) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            completion_tokens: self
                .completion_tokens
                .saturating_add(other.completion_tokens),
            total_tokens: self.total_tokens.saturating_add(other.total_tokens),
        }
    }
}

/// Timing of one request. `total_ms` is always measured by the client; `queue_ms` and
/// `execution_ms` are filled in when the provider reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestTiming {
    /// Time spent waiting in the provider's queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms: Option<u64>,
    /// Time spent executing the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_ms: Option<u64>,
    /// Total round-trip time, measured by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_ms: Option<u64>,
}

/// Seconds a provider reported (queue or execution time) as whole milliseconds, rounded;
/// `None` for a negative or non-finite value.
pub(crate) fn secs_to_ms(s: f64) -> Option<u64> {
    // Finite and not negative: the cast rounds to the nearest millisecond (and saturates).
    (s.is_finite() && s >= 0.0).then(|| (s * 1000.0).round() as u64)
}

/// A media output of a completion (image, audio or video), provider-dependent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MediaOutput {
    /// Where to download it, when hosted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The content, base64-encoded, when inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// Its MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// Anything else the provider said about it.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub metadata: Value,
}

/// The answer to a completion request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CompletionResponse {
    /// The generated text.
    pub content: Option<String>,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// Why generation stopped (`"stop"`, `"length"`, `"tool_calls"`, `"content_filter"`, ...).
    pub finish_reason: Option<String>,
    /// Tool calls requested by the model.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Token usage.
    pub usage: Option<TokenUsage>,
    /// Estimated cost in USD (reported by the provider, or from the pricing table for known
    /// models; `None` otherwise).
    pub cost: Option<f64>,
    /// Timing of the request.
    pub timing: Option<RequestTiming>,
    /// Image outputs.
    #[serde(default)]
    pub images: Vec<MediaOutput>,
    /// Audio outputs.
    #[serde(default)]
    pub audio: Vec<MediaOutput>,
    /// Video outputs.
    #[serde(default)]
    pub videos: Vec<MediaOutput>,
    /// Reasoning text some models return beside the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The provider's request id, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Tools the provider ran itself (Anthropic's web search, web fetch, code execution, MCP
    /// connector): not calls for the client to answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_tool_calls: Vec<ServerToolCall>,
    /// The results of [`server_tool_calls`](Self::server_tool_calls).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_tool_results: Vec<ServerToolResult>,
    /// The sources the text cites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    /// Content blocks of a type this crate does not know, skipped and kept as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_blocks: Vec<Value>,
    /// The answer's content blocks as the provider sent them, in order, when some hold what
    /// the fields above cannot carry back to it (Anthropic: thinking blocks and their
    /// signatures, server tool calls and results, unknown blocks). [`to_message`](Self::to_message)
    /// keeps them, so the next request of a conversation (a tool round after extended
    /// thinking, a `pause_turn` continuation) gives them back verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_content: Option<Value>,
}

impl CompletionResponse {
    /// The assistant message to append to the history (content, tool calls and the
    /// provider's [`native_content`](Self::native_content)).
    pub fn to_message(&self) -> ChatMessage {
        ChatMessage {
            role: Role::Assistant,
            content: self.content.clone(),
            tool_calls: self.tool_calls.clone(),
            native_content: self.native_content.clone(),
            ..ChatMessage::default()
        }
    }
}

/// One piece of a streamed completion.
///
/// Text arrives in `delta`. A tool call appears once, complete (all its argument fragments
/// joined), in the chunk where it finished. The last chunk carries `finish_reason` and, when the
/// provider reports them, `usage` and `cost`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamChunk {
    /// New text.
    pub delta: Option<String>,
    /// Set on the final chunk.
    pub finish_reason: Option<String>,
    /// Tool calls completed in this chunk.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Token usage, on the final chunk when the provider reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// New reasoning text, for models that stream it apart from the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The cost in USD the provider reported for the request (OpenRouter's `usage.cost`), on
    /// the final chunk; `stream_with` falls back to the pricing table without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Tools the provider ran itself (Anthropic's web search, web fetch, code execution, MCP
    /// connector): not calls for the client to answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_tool_calls: Vec<ServerToolCall>,
    /// The results of server tool calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_tool_results: Vec<ServerToolResult>,
    /// The sources the text cites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    /// Content blocks of a type this crate does not know, skipped and kept as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_blocks: Vec<Value>,
    /// On the final chunk: the answer's content blocks as the provider sent them, when some
    /// must go back to it verbatim (see [`CompletionResponse::native_content`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_content: Option<Value>,
}

impl StreamChunk {
    /// A chunk of text.
    pub fn text(delta: impl Into<String>) -> Self {
        StreamChunk {
            delta: Some(delta.into()),
            ..StreamChunk::default()
        }
    }
}

/// Folds stream chunks into the [`CompletionResponse`] they add up to.
#[derive(Debug, Default)]
pub(crate) struct StreamAccumulator {
    pub(crate) response: CompletionResponse,
}

impl StreamAccumulator {
    pub(crate) fn push(&mut self, chunk: &StreamChunk) {
        let r = &mut self.response;
        if let Some(d) = &chunk.delta {
            r.content.get_or_insert_with(String::new).push_str(d);
        }
        if let Some(d) = &chunk.reasoning {
            r.reasoning.get_or_insert_with(String::new).push_str(d);
        }
        r.tool_calls.extend(chunk.tool_calls.iter().cloned());
        if chunk.finish_reason.is_some() {
            r.finish_reason.clone_from(&chunk.finish_reason);
        }
        if chunk.usage.is_some() {
            r.usage = chunk.usage;
        }
        if chunk.cost.is_some() {
            r.cost = chunk.cost;
        }
        r.server_tool_calls
            .extend(chunk.server_tool_calls.iter().cloned());
        r.server_tool_results
            .extend(chunk.server_tool_results.iter().cloned());
        r.citations.extend(chunk.citations.iter().cloned());
        r.skipped_blocks
            .extend(chunk.skipped_blocks.iter().cloned());
        if chunk.native_content.is_some() {
            r.native_content.clone_from(&chunk.native_content);
        }
    }
}
