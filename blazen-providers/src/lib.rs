//! One `CompletionModel` over many LLM providers, with one typed error model.
//!
//! ```no_run
//! use blazen_providers::{
//!     CacheConfig, ChatMessage, CompletionModel, CompletionRequest, RetryConfig,
//! };
//! use futures::StreamExt;
//!
//! # async fn run() -> blazen_providers::Result<()> {
//! let model = CompletionModel::openai(std::env::var("OPENAI_API_KEY").unwrap_or_default())
//!     .with_model("gpt-4.1-mini")
//!     .with_cache(CacheConfig::default())   // first added: outermost
//!     .with_retry(RetryConfig::default());
//!
//! let messages = vec![ChatMessage::system("Be brief."), ChatMessage::user("Hello!")];
//! let r = model.complete(&messages).await?;
//! println!("{:?} ({:?} tokens, ${:?})", r.content, r.usage, r.cost);
//!
//! let r = model
//!     .complete_with(CompletionRequest::new(messages.clone()).temperature(0.2).max_tokens(64))
//!     .await?;
//! # let _ = r;
//!
//! let mut stream = model.stream(&messages).await?;
//! while let Some(chunk) = stream.next().await {
//!     print!("{}", chunk?.delta.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! - **Providers.** The OpenAI-compatible family (`openai`, `azure`, `openrouter`, `groq`,
//!   `together`, `mistral`, `deepseek`, `fireworks`, `perplexity`, `xai`, `openai_compatible`)
//!   shares one wire implementation configured by a small profile per provider; Anthropic,
//!   Gemini, Cohere, Bedrock and fal have native wire formats. All are [`CompletionModel`]s;
//!   bring your own with the [`Provider`] trait.
//! - **Streaming.** [`CompletionModel::stream`] yields [`StreamChunk`]s: text deltas as they
//!   arrive, each tool call once and complete (its argument fragments joined), usage on the
//!   final chunk. A stream cut short or an error frame mid-stream is an error, never a silent
//!   end.
//! - **Connections.** Each model pools keep-alive connections (shared by its clones, rustls,
//!   HTTP/2 when offered). A server that stays silent for 600 s — no response headers, no body
//!   bytes, no stream event — ends the call with a retryable [`BlazenError::Timeout`]; a slow
//!   server that keeps sending is never cut off. [`CompletionModel::with_timeout`] bounds a
//!   whole call more tightly.
//! - **Errors.** One [`BlazenError`] taxonomy with the provider's status, code, type, request id,
//!   retry delay and raw body; [`BlazenError::is_retryable`]. Keys never appear in `Debug`,
//!   `Display` or errors. A provider of your own builds the same errors
//!   ([`BlazenError::rate_limit`], [`BlazenError::auth`], … and `with_status`, `with_retry_after`,
//!   …) or has an HTTP response classified with [`BlazenError::from_http`].
//! - **Middleware.** [`CompletionModel::with_retry`], [`CompletionModel::with_cache`],
//!   [`CompletionModel::with_fallback`], [`CompletionModel::with_timeout`]; they compose in any
//!   order and return a `CompletionModel` again. Requests are checked before sending
//!   ([`CompletionRequest::validate`]).
//! - **Embeddings** ([`EmbeddingModel`]), **agents** ([`run_agent`]), **media compute**
//!   ([`ComputeModel`]), token estimation and a [`pricing`] table for costs.
//!
//! ## Where things live
//!
//! - `model.rs`: [`CompletionModel`] and the [`Provider`] trait; `types/`: messages, requests,
//!   responses and stream chunks; `error/`: the taxonomy, its classification (code table,
//!   envelopes, headers) and secret redaction.
//! - `openai_compat/`: the one OpenAI wire implementation (its measured in-place chunk parser
//!   fenced in `chunk.rs`), configured by one profile per provider in `providers/`.
//! - `anthropic/`, `gemini/`, `cohere/`, `bedrock/`: native wire formats (`wire.rs` serde
//!   types, `convert.rs` conversion), sharing `native.rs`; `fal/`: fal's LLM router (through
//!   `openai_compat`) and media queue.
//! - `http/` (client, endpoints, bodies, SSE with the idle limit), `sse.rs` and `eventstream.rs`
//!   (decoders); `middleware/`, `agent/`, `embedding.rs`, `compute/`, `tokens.rs`, `pricing.rs`;
//!   `extract.rs` (typed structured output), `telemetry/` (OpenTelemetry GenAI spans; opt-in
//!   message content in `telemetry/content.rs`).

pub mod agent;
mod anthropic;
mod bedrock;
mod cohere;
pub mod compute;
pub mod embedding;
pub mod error;
mod eventstream;
pub mod extract;
mod fal;
#[doc(hidden)]
pub mod fuzzing;
mod gemini;
pub(crate) mod http;
pub mod middleware;
pub mod model;
mod native;
pub(crate) mod openai_compat;
pub mod pricing;
mod providers;
mod sampling;
mod sse;
pub mod telemetry;
pub mod tokens;
pub mod types;

pub use agent::{
    run_agent, run_agent_stream, run_agent_typed, stream_to_workflow, AgentEvent, AgentOptions,
    AgentResult, AgentStream, LlmDelta, StopReason, ToolCallError, ToolRun, TypedAgentResult,
    FINISH_TOOL_NAME, MAX_CONTINUATIONS,
};
pub use compute::{
    AudioOutput, ComputeJob, ComputeModel, ComputeOutput, ComputeRequest, GeneratedMedia,
    ImageOutput, ImageRequest, JobInfo, JobProgress, JobStatus, MusicRequest, PollConfig,
    SpeechRequest, ThreeDOutput, ThreeDRequest, TranscriptSegment, TranscriptionOutput,
    TranscriptionRequest, UpscaleRequest, VideoOutput, VideoRequest,
};
pub use embedding::{EmbeddingModel, EmbeddingProvider, EmbeddingResponse};
pub use error::{BlazenError, Result};
pub use extract::{ExtractOptions, Extracted};
pub use middleware::{CacheConfig, RetryConfig};
pub use model::{ChunkStream, CompletionModel, Provider};
pub use tokens::{
    context_window, count_message_tokens, count_tool_tokens, estimate_tokens, fits_context,
    preflight_check, DEFAULT_CONTEXT_SIZE,
};
pub use types::{
    ChatMessage, Citation, CompletionRequest, CompletionResponse, ContentPart, MediaOutput,
    MediaType, RequestTiming, ResponseFormat, Role, ServerToolCall, ServerToolResult, StreamChunk,
    TokenUsage, ToolCall, ToolChoice, ToolDialect, ToolSpec,
};
