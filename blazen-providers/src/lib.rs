//! One `CompletionModel` over many LLM providers, with one typed error model.

pub mod agent;
mod anthropic;
mod bedrock;
mod cohere;
pub mod compute;
pub mod embedding;
pub mod error;
mod eventstream;
mod fal;
mod gemini;
pub(crate) mod http;
pub mod middleware;
pub mod model;
mod native;
pub(crate) mod openai_compat;
pub mod pricing;
mod providers;
mod sse;
pub mod tokens;
pub mod types;

pub use agent::{
    run_agent, run_agent_stream, stream_to_workflow, AgentEvent, AgentOptions, AgentResult,
    AgentStream, LlmDelta, StopReason, ToolCallError, ToolRun, FINISH_TOOL_NAME,
};
pub use compute::{
    AudioOutput, ComputeJob, ComputeModel, ComputeOutput, ComputeRequest, GeneratedMedia,
    ImageOutput, ImageRequest, JobInfo, JobProgress, JobStatus, MusicRequest, PollConfig,
    SpeechRequest, ThreeDOutput, ThreeDRequest, TranscriptSegment, TranscriptionOutput,
    TranscriptionRequest, UpscaleRequest, VideoOutput, VideoRequest,
};
pub use embedding::{EmbeddingModel, EmbeddingProvider, EmbeddingResponse};
pub use error::{BlazenError, Result};
pub use middleware::{CacheConfig, RetryConfig};
pub use model::{ChunkStream, CompletionModel, Provider};
pub use tokens::{
    context_window, count_message_tokens, count_tool_tokens, estimate_tokens, fits_context,
    preflight_check, DEFAULT_CONTEXT_SIZE,
};
pub use types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, MediaOutput, MediaType,
    RequestTiming, ResponseFormat, Role, StreamChunk, TokenUsage, ToolCall, ToolChoice,
    ToolDialect, ToolSpec,
};
