//! Anthropic Messages API (`POST /v1/messages`): complete and stream, tools, images, the native
//! error envelope and mid-stream `event: error` frames.
//!
//! Authentication is the `x-api-key` header; every request carries `anthropic-version`.

mod convert;
mod wire;

use std::time::Instant;

use async_trait::async_trait;

use crate::error::{BlazenError, Result};
use crate::http::{self, ApiKey, Auth};
use crate::model::{ChunkStream, CompletionModel, Provider};
use crate::native::{finish, fold_end_from_state, post_cached, read_json, sse_stream, EventFold};
use crate::sse::SseEvent;
use crate::types::{CompletionRequest, CompletionResponse, ResponseFormat, StreamChunk};

pub(crate) const PROVIDER: &str = "anthropic";
const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";
const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
const API_VERSION: &str = "2023-06-01";
const ENV_KEY: &str = "ANTHROPIC_API_KEY";
/// `max_tokens` is required by the Messages API; this is sent when the request sets none.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Anthropic provider behind [`CompletionModel::anthropic`].
#[derive(Debug, Clone)]
pub(crate) struct AnthropicProvider {
    client: http::HttpClient,
    auth: Auth,
    base_url: String,
    model: String,
    /// `{base_url}/messages`, prepared on first use (a clone prepares its own).
    messages: http::EndpointCache,
}

impl AnthropicProvider {
    pub(crate) fn new(key: impl Into<String>) -> Self {
        Self {
            client: http::HttpClient::new(),
            auth: Auth::Header("x-api-key", ApiKey::new(key.into())),
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            messages: http::EndpointCache::default(),
        }
    }

    async fn send(
        &self,
        req: &CompletionRequest,
        stream: bool,
    ) -> Result<(reqwest::Response, String, bool)> {
        let model = req.model.clone().unwrap_or_else(|| self.model.clone());
        let structured = req
            .response_format
            .as_ref()
            .is_some_and(ResponseFormat::is_json);
        let body = convert::to_wire(req, &model, DEFAULT_MAX_TOKENS, stream)?;
        let body = crate::http::json_body(&body)?;
        let prepare = || {
            http::Endpoint::new(
                PROVIDER,
                &format!("{}/messages", self.base_url.trim_end_matches('/')),
                &self.auth,
                &[("anthropic-version", API_VERSION.to_owned())],
            )
        };
        let cache = Some(&self.messages);
        let answer = http::Answer::sse_if(stream);
        let response = post_cached(&self.client, PROVIDER, cache, prepare, body, answer).await?;
        Ok((response, model, structured))
    }
}

/// Turns the `data:` of an `event: error` frame into a typed error (e.g. `overloaded_error`:
/// retryable provider error).
pub(crate) fn error_from_stream_event(data: &str) -> BlazenError {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|v| BlazenError::from_stream_frame(PROVIDER, &v))
        .unwrap_or_else(|| BlazenError::stream(PROVIDER, format!("error event in stream: {data}")))
}

struct AnthropicFold(convert::StreamState);

impl EventFold<SseEvent> for AnthropicFold {
    fn on_event(&mut self, event: SseEvent) -> Result<Option<StreamChunk>> {
        if event.event.as_deref() == Some("error") {
            return Err(error_from_stream_event(&event.data));
        }
        if event.data.is_empty() {
            return Ok(None);
        }
        self.0.on_event(&event.data)
    }

    fold_end_from_state!();
}

#[async_trait]
impl Provider for AnthropicProvider {
    crate::native::provider_basics!(PROVIDER);

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        let answer = async {
            let started = Instant::now();
            let (response, model, structured) = self.send(&request, false).await?;
            let (wire, request_id) =
                read_json::<wire::MessagesResponse>(PROVIDER, response).await?;
            let out = convert::from_wire(wire, &model, structured);
            Ok(finish(out, request_id, started))
        };
        self.auth.scrub_result(answer.await)
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let chunks = async {
            let (response, _model, structured) = self.send(&request, true).await?;
            let state = AnthropicFold(convert::StreamState::new(structured));
            Ok(sse_stream(PROVIDER, response, state))
        };
        self.auth.scrub_stream(chunks.await)
    }
}

impl CompletionModel {
    /// Anthropic's Messages API (default model `claude-sonnet-4-5`), authenticated with
    /// `x-api-key`.
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::anthropic("sk-ant-secret").with_model("claude-haiku-4-5");
    /// assert_eq!(model.model_id(), "claude-haiku-4-5");
    /// assert!(!format!("{model:?}").contains("sk-ant-secret"));
    /// ```
    pub fn anthropic(api_key: impl Into<String>) -> Self {
        Self::from_provider(AnthropicProvider::new(api_key))
    }

    /// [`CompletionModel::anthropic`] with the key from `ANTHROPIC_API_KEY`.
    ///
    /// # Errors
    /// [`BlazenError`] Auth when the variable is unset or empty.
    pub fn anthropic_from_env() -> Result<Self> {
        crate::native::env_var(ENV_KEY).map(Self::anthropic)
    }
}
