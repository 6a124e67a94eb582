//! Google Gemini API: `models/{model}:generateContent` and
//! `models/{model}:streamGenerateContent?alt=sse`, with function calling (Gemini schema
//! dialect), thought signatures echoed back, `usageMetadata` and the native error envelope
//! (`{"error":{code,status,details}}`, whose `RetryInfo` delay the retry middleware honours).
//!
//! Authentication is the `x-goog-api-key` header, so the key never appears in a URL.

mod convert;
mod wire;

use std::time::Instant;

use async_trait::async_trait;

use crate::error::{BlazenError, Result};
use crate::http::{self, ApiKey, Auth};
use crate::model::{ChunkStream, CompletionModel, Provider};
use crate::native::{fold_events, EventFold};
use crate::sse::SseEvent;
use crate::types::{CompletionRequest, CompletionResponse, StreamChunk};

pub(crate) const PROVIDER: &str = "gemini";
const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";
const DEFAULT_MODEL: &str = "gemini-2.5-flash";
const ENV_KEYS: [&str; 2] = ["GEMINI_API_KEY", "GOOGLE_API_KEY"];

/// The Gemini provider behind [`CompletionModel::gemini`].
#[derive(Debug, Clone)]
pub(crate) struct GeminiProvider {
    client: http::HttpClient,
    auth: Auth,
    base_url: String,
    model: String,
}

impl GeminiProvider {
    pub(crate) fn new(key: impl Into<String>) -> Self {
        Self {
            client: http::shared_client(),
            auth: Auth::Header("x-goog-api-key", ApiKey::new(key.into())),
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
        }
    }

    fn url(&self, model: &str, stream: bool) -> String {
        let model = model.strip_prefix("models/").unwrap_or(model);
        let base = self.base_url.trim_end_matches('/');
        if stream {
            format!("{base}/models/{model}:streamGenerateContent?alt=sse")
        } else {
            format!("{base}/models/{model}:generateContent")
        }
    }

    async fn send(
        &self,
        req: &CompletionRequest,
        stream: bool,
    ) -> Result<(reqwest::Response, String)> {
        let model = req.model.clone().unwrap_or_else(|| self.model.clone());
        let body = convert::to_wire(req)?;
        let body = serde_json::to_vec(&body)
            .map_err(|e| BlazenError::validation(format!("cannot encode the request: {e}")))?;
        let response = http::post_json(
            &self.client,
            PROVIDER,
            &self.url(&model, stream),
            &self.auth,
            &[],
            body,
            stream,
        )
        .await?;
        Ok((response, model))
    }
}

struct GeminiFold(convert::StreamState);

impl EventFold<SseEvent> for GeminiFold {
    fn on_event(&mut self, event: SseEvent) -> Result<Option<StreamChunk>> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(None);
        }
        self.0.on_data(data)
    }

    fn on_eof(&mut self) -> Result<Option<StreamChunk>> {
        self.0.on_eof()
    }

    fn is_done(&self) -> bool {
        self.0.is_done()
    }
}

#[async_trait]
impl Provider for GeminiProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn model_id(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        let started = Instant::now();
        let (response, model) = self.send(&request, false).await?;
        let request_id = http::request_id(response.headers());
        let body = http::read_body(PROVIDER, response).await?;
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            BlazenError::invalid_response(PROVIDER, format!("unexpected response: {e}"), &body)
        })?;
        if let Some(err) = BlazenError::from_stream_frame(PROVIDER, &value) {
            return Err(err);
        }
        let wire: wire::GenerateContentResponse = serde_json::from_value(value).map_err(|e| {
            BlazenError::invalid_response(PROVIDER, format!("unexpected response: {e}"), &body)
        })?;
        let mut out = convert::from_wire(wire, &model);
        out.request_id = request_id;
        Ok(http::finish_response(out, started))
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let (response, _model) = self.send(&request, true).await?;
        let request_id = http::request_id(response.headers());
        let events = http::sse_events(PROVIDER, response);
        Ok(fold_events(
            events,
            GeminiFold(convert::StreamState::default()),
            request_id,
        ))
    }

    crate::native::model_and_base_url_overrides!();
}

impl CompletionModel {
    /// Google Gemini (default model `gemini-2.5-flash`), authenticated with `x-goog-api-key`.
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::gemini("AIza-secret").with_model("gemini-2.5-pro");
    /// assert_eq!(model.model_id(), "gemini-2.5-pro");
    /// assert!(!format!("{model:?}").contains("AIza-secret"));
    /// ```
    pub fn gemini(api_key: impl Into<String>) -> Self {
        Self::from_provider(GeminiProvider::new(api_key))
    }

    /// [`CompletionModel::gemini`] with the key from `GEMINI_API_KEY` (or `GOOGLE_API_KEY`).
    ///
    /// # Errors
    /// [`BlazenError`] Validation when neither variable is set.
    pub fn gemini_from_env() -> Result<Self> {
        crate::native::env_key(ENV_KEYS[0])
            .or_else(|_| crate::native::env_key(ENV_KEYS[1]))
            .map(Self::gemini)
    }
}
