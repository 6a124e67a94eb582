//! OpenTelemetry GenAI semantic conventions through `tracing`: the spans and events every
//! provider call, tool call and agent run emits.
//!
//! No OpenTelemetry crate is needed here: spans are plain `tracing` spans whose field names are
//! the convention's attribute names (`gen_ai.request.model`, …), with `otel.name` (the span
//! name, `chat {model}`), `otel.kind` and `otel.status_code`, which `tracing-opentelemetry`
//! reads. Fields are recorded only when the span is enabled, so with no subscriber a call pays
//! for one disabled-callsite check.
//!
//! Message content is not recorded unless opted in, with
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` or [`set_capture_content`]`(true)`;
//! the last column lists what is then added, each value a JSON string in the shapes of the
//! convention's JSON schemas (e.g. `[{"role":"user","parts":[{"type":"text","content":"…"}]}]`).
//! Media are never inlined: an image or audio part is `{"type":"uri","modality","mime_type","uri"}`
//! for a URL (recorded as given), and `{"type":"blob","modality","mime_type"}` without the
//! convention's `content` for inline base64 data or a `data:` URL. With content off, an enabled
//! span pays a relaxed atomic load where content would be recorded; a disabled span (no
//! subscriber) reads nothing and serializes nothing, whatever the switch says.
//!
//! | span | when | attributes | with content opted in |
//! |---|---|---|---|
//! | `chat {model}` | each call a provider answers (each retry attempt, each provider a fallback tries; a stream's span ends with its last chunk) | `gen_ai.operation.name` = `chat`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.request.temperature` / `top_p` / `max_tokens`, `gen_ai.output.type`, `gen_ai.response.model`, `gen_ai.response.id`, `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens` / `output_tokens`, `error.type` on failure | `gen_ai.system_instructions` (the system messages' parts, `[{"type":"text","content":"…"}]`), `gen_ai.input.messages` (the other messages: `text`, `tool_call` {`id`, `name`, `arguments`}, `tool_call_response` {`id`, `response`}, `uri` and `blob` parts), `gen_ai.output.messages` (one assistant message with its `finish_reason`; a stream's accumulated text and tool calls, recorded when it ends) |
//! | `chat {model}` with `blazen.cache.hit` = `true` | an answer from [`CompletionModel::with_cache`](crate::CompletionModel::with_cache) | as above, from the stored answer | as above |
//! | `execute_tool {name}` | each tool call of [`run_agent`](crate::run_agent) | `gen_ai.operation.name` = `execute_tool`, `gen_ai.tool.name`, `gen_ai.tool.call.id`, `gen_ai.tool.type` = `function`, `error.type` on failure | `gen_ai.tool.call.arguments`, `gen_ai.tool.call.result` (on success) |
//! | `invoke_agent` | each [`run_agent`](crate::run_agent) / `run_agent_stream` | `gen_ai.operation.name` = `invoke_agent`, provider, model, summed usage, `error.type` | — |
//!
//! Events: `retry` (fields `blazen.retry.attempt`, `blazen.retry.delay_ms`, `error.type`) before
//! each retry of [`CompletionModel::with_retry`](crate::CompletionModel::with_retry), and
//! `fallback` (`gen_ai.provider.name` of the model given up, `error.type`) in the caller's span.
//!
//! Every span and event uses the target `blazen_providers::gen_ai` at level `INFO`.

mod content;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::Stream;
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::error::{BlazenError, Kind, Result};
use crate::model::{ChunkStream, Provider};
use crate::types::{
    CompletionRequest, CompletionResponse, StreamAccumulator, StreamChunk, TokenUsage, ToolCall,
};

pub use content::{capture_content, set_capture_content, CAPTURE_CONTENT_ENV};

/// The target of every span and event of this module: filter on it to keep or drop them.
///
/// ```
/// // e.g. `RUST_LOG=blazen_providers::gen_ai=info` with tracing-subscriber's `EnvFilter`.
/// assert_eq!(blazen_providers::telemetry::TARGET, "blazen_providers::gen_ai");
/// ```
pub const TARGET: &str = "blazen_providers::gen_ai";

/// The convention's `gen_ai.provider.name` of a provider (its well-known values where one
/// exists: `gcp.gemini`, `aws.bedrock`, `mistral_ai`, `x_ai`, `azure.ai.openai`).
pub(crate) fn provider_name(name: &str) -> &str {
    match name {
        "gemini" => "gcp.gemini",
        "bedrock" => "aws.bedrock",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        "azure" => "azure.ai.openai",
        other => other,
    }
}

/// The convention's `error.type` of an error: its category in snake case.
pub(crate) fn error_type(err: &BlazenError) -> &'static str {
    match err.kind() {
        Kind::Auth => "auth",
        Kind::RateLimit => "rate_limit",
        Kind::Timeout => "timeout",
        Kind::Provider => "provider",
        Kind::Validation => "validation",
        Kind::ContentPolicy => "content_policy",
        Kind::Unsupported => "unsupported",
        Kind::NoContent => "no_content",
        Kind::ModelNotFound => "model_not_found",
        Kind::InvalidResponse => "invalid_response",
        Kind::StructuredOutput => "structured_output",
        Kind::Stream => "stream",
        Kind::JobFailed => "job_failed",
        Kind::Cancelled => "cancelled",
        Kind::QuotaExceeded => "quota_exceeded",
        Kind::InvalidMedia => "invalid_media",
        Kind::TooLarge => "too_large",
        Kind::Connection => "connection",
    }
}

/// The `chat {model}` span of one call, its request attributes recorded when it is enabled.
pub(crate) fn chat_span(provider: &str, default_model: &str, request: &CompletionRequest) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "chat",
        otel.name = Empty,
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = Empty,
        gen_ai.request.model = Empty,
        gen_ai.request.temperature = Empty,
        gen_ai.request.top_p = Empty,
        gen_ai.request.max_tokens = Empty,
        gen_ai.output.type = Empty,
        gen_ai.response.model = Empty,
        gen_ai.response.id = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        blazen.cache.hit = Empty,
        error.type = Empty,
        gen_ai.system_instructions = Empty,
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let model = request.model.as_deref().unwrap_or(default_model);
    span.record("otel.name", format!("chat {model}"));
    span.record("gen_ai.provider.name", provider_name(provider));
    span.record("gen_ai.request.model", model);
    if let Some(t) = request.temperature {
        span.record("gen_ai.request.temperature", f64::from(t));
    }
    if let Some(p) = request.top_p {
        span.record("gen_ai.request.top_p", f64::from(p));
    }
    if let Some(n) = request.max_tokens {
        span.record("gen_ai.request.max_tokens", i64::from(n));
    }
    let output = match &request.response_format {
        Some(f) if f.is_json() => "json",
        _ => "text",
    };
    span.record("gen_ai.output.type", output);
    if capture_content() {
        content::record_input(&span, request);
    }
    span
}

/// Records a whole response on its span.
pub(crate) fn record_response(span: &Span, response: &CompletionResponse) {
    if span.is_disabled() {
        return;
    }
    if !response.model.is_empty() {
        span.record("gen_ai.response.model", response.model.as_str());
    }
    if let Some(id) = &response.request_id {
        span.record("gen_ai.response.id", id.as_str());
    }
    if let Some(reason) = &response.finish_reason {
        span.record("gen_ai.response.finish_reasons", reason.as_str());
    }
    record_usage(span, response.usage);
    if capture_content() {
        content::record_output(span, response);
    }
}

fn record_usage(span: &Span, usage: Option<TokenUsage>) {
    if let Some(u) = usage {
        // As signed integers: exporters turn a `u64` into a string.
        span.record("gen_ai.usage.input_tokens", int(u.prompt_tokens));
        span.record("gen_ai.usage.output_tokens", int(u.completion_tokens));
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Records a failure on a span: `error.type` and the error status.
pub(crate) fn record_error(span: &Span, err: &BlazenError) {
    if span.is_disabled() {
        return;
    }
    span.record("error.type", error_type(err));
    span.record("otel.status_code", "ERROR");
}

/// The `retry` event, in the caller's span, before retry number `attempt` (1 for the first).
pub(crate) fn retry_event(provider: &str, attempt: u32, delay_ms: u64, err: &BlazenError) {
    tracing::event!(
        target: TARGET,
        tracing::Level::INFO,
        gen_ai.provider.name = provider_name(provider),
        blazen.retry.attempt = i64::from(attempt),
        blazen.retry.delay_ms = int(delay_ms),
        error.type = error_type(err),
        "retry"
    );
}

/// The `fallback` event, in the caller's span, when `provider` is given up for the next one.
pub(crate) fn fallback_event(provider: &str, err: &BlazenError) {
    tracing::event!(
        target: TARGET,
        tracing::Level::INFO,
        gen_ai.provider.name = provider_name(provider),
        error.type = error_type(err),
        "fallback"
    );
}

/// The span of a cache hit: a `chat {model}` span with `blazen.cache.hit = true` and the
/// stored answer's attributes.
pub(crate) fn cache_hit(
    provider: &str,
    default_model: &str,
    request: &CompletionRequest,
    response: &CompletionResponse,
) {
    let span = chat_span(provider, default_model, request);
    if !span.is_disabled() {
        span.record("blazen.cache.hit", true);
        record_response(&span, response);
    }
}

/// The `invoke_agent` span of one agent run.
pub(crate) fn agent_span(model: &crate::CompletionModel) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "invoke_agent",
        otel.kind = "internal",
        otel.status_code = Empty,
        gen_ai.operation.name = "invoke_agent",
        gen_ai.provider.name = Empty,
        gen_ai.request.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
    );
    if !span.is_disabled() {
        span.record("gen_ai.provider.name", provider_name(model.provider_name()));
        span.record("gen_ai.request.model", model.model_id());
    }
    span
}

/// Records an agent run's summed usage, or its failure.
pub(crate) fn record_agent(span: &Span, result: &Result<crate::AgentResult>) {
    match result {
        Ok(r) if !span.is_disabled() => record_usage(span, Some(r.total_usage)),
        Ok(_) => {}
        Err(err) => record_error(span, err),
    }
}

/// The `execute_tool {name}` span of one tool call.
pub(crate) fn tool_span(call: &ToolCall) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "execute_tool",
        otel.name = Empty,
        otel.kind = "internal",
        otel.status_code = Empty,
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = Empty,
        gen_ai.tool.call.id = Empty,
        gen_ai.tool.type = "function",
        error.type = Empty,
        gen_ai.tool.call.arguments = Empty,
        gen_ai.tool.call.result = Empty,
    );
    if !span.is_disabled() {
        span.record("otel.name", format!("execute_tool {}", call.name));
        span.record("gen_ai.tool.name", call.name.as_str());
        span.record("gen_ai.tool.call.id", call.id.as_str());
        if capture_content() {
            content::record_tool_arguments(&span, call);
        }
    }
    span
}

/// Records a tool call's result (when content is captured) or its failure on its span.
pub(crate) fn record_tool(
    span: &Span,
    output: &std::result::Result<serde_json::Value, crate::ToolCallError>,
) {
    use crate::ToolCallError;
    if span.is_disabled() {
        return;
    }
    let err = match output {
        Ok(value) => {
            if capture_content() {
                content::record_tool_result(span, value);
            }
            return;
        }
        Err(err) => err,
    };
    let kind = match err {
        ToolCallError::UnknownTool { .. } => "unknown_tool",
        ToolCallError::InvalidJson { .. } => "invalid_json",
        ToolCallError::Tool(e) if e.is_invalid_arguments() => "invalid_arguments",
        ToolCallError::Tool(_) => "tool_error",
        ToolCallError::TimedOut { .. } => "timeout",
        ToolCallError::Cancelled { .. } => "cancelled",
        _ => "other",
    };
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

/// Puts a `chat {model}` span around every call of a provider: the innermost layer of each
/// [`CompletionModel`](crate::CompletionModel), so that each retry attempt and each fallback
/// provider gets a span of its own.
#[derive(Clone)]
pub(crate) struct Traced {
    inner: Arc<dyn Provider>,
}

impl Traced {
    pub(crate) fn new(inner: Arc<dyn Provider>) -> Self {
        Traced { inner }
    }
}

impl std::fmt::Debug for Traced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.inner, f)
    }
}

#[async_trait]
impl Provider for Traced {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    // Written out rather than left to `async_trait`: with the span disabled (no subscriber)
    // the inner provider's future is returned as it is, with no second boxed future per call
    // (`benches/providers.rs`, S3).
    fn complete<'life0, 'async_trait>(
        &'life0 self,
        request: CompletionRequest,
    ) -> Pin<Box<dyn Future<Output = Result<CompletionResponse>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let span = chat_span(self.name(), self.model_id(), &request);
        if span.is_disabled() {
            return self.inner.complete(request);
        }
        let call = self.inner.complete(request);
        Box::pin(async move {
            let result = call.instrument(span.clone()).await;
            match &result {
                Ok(response) => record_response(&span, response),
                Err(err) => record_error(&span, err),
            }
            result
        })
    }

    fn stream<'life0, 'async_trait>(
        &'life0 self,
        request: CompletionRequest,
    ) -> Pin<Box<dyn Future<Output = Result<ChunkStream>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let span = chat_span(self.name(), self.model_id(), &request);
        if span.is_disabled() {
            return self.inner.stream(request);
        }
        let call = self.inner.stream(request);
        Box::pin(async move {
            match call.instrument(span.clone()).await {
                Ok(stream) => Ok(Box::pin(TracedStream {
                    inner: stream,
                    span: Some(span),
                    output: capture_content().then(Box::default),
                }) as ChunkStream),
                Err(err) => {
                    record_error(&span, &err);
                    Err(err)
                }
            }
        })
    }

    fn with_model(&self, model: &str) -> Arc<dyn Provider> {
        Arc::new(Traced::new(self.inner.with_model(model)))
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn Provider> {
        Arc::new(Traced::new(self.inner.with_base_url(base_url)))
    }

    /// A provider of one's own that is a middleware puts `wrap` inside itself (the models it
    /// wraps have spans of their own); a plain provider keeps this span innermost.
    fn layer_inside(
        &self,
        wrap: &dyn Fn(Arc<dyn Provider>) -> Arc<dyn Provider>,
    ) -> Option<Arc<dyn Provider>> {
        self.inner.layer_inside(wrap)
    }
}

/// A stream that records each chunk's finish reason and usage on its span and closes the span
/// after the last chunk (or the error that ends it); with content captured, the output the
/// chunks add up to is recorded after the last one.
struct TracedStream {
    inner: ChunkStream,
    span: Option<Span>,
    /// The chunks so far, when content is captured.
    output: Option<Box<StreamAccumulator>>,
}

impl Stream for TracedStream {
    type Item = Result<StreamChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = match &this.span {
            Some(span) => span.in_scope(|| this.inner.as_mut().poll_next(cx)),
            None => this.inner.as_mut().poll_next(cx),
        };
        if let (Poll::Ready(item), Some(span)) = (&polled, &this.span) {
            match item {
                Some(Ok(chunk)) => {
                    if let Some(reason) = &chunk.finish_reason {
                        span.record("gen_ai.response.finish_reasons", reason.as_str());
                    }
                    record_usage(span, chunk.usage);
                    if let Some(output) = &mut this.output {
                        output.push(chunk);
                    }
                }
                Some(Err(err)) => {
                    record_error(span, err);
                    this.span = None;
                }
                None => {
                    if let Some(output) = this.output.take() {
                        content::record_output(span, &output.response);
                    }
                    this.span = None;
                }
            }
        }
        polled
    }
}
