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
use crate::native::{finish, post_cached, read_json, sse_stream, ByData};
use crate::types::{CompletionRequest, CompletionResponse};

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
    /// The default model's `generateContent` and `streamGenerateContent` endpoints, prepared
    /// on first use (a clone prepares its own); a request naming another model prepares its
    /// endpoint each time.
    endpoints: [http::EndpointCache; 2],
}

impl GeminiProvider {
    pub(crate) fn new(key: impl Into<String>) -> Self {
        Self {
            client: http::HttpClient::new(),
            auth: Auth::Header("x-goog-api-key", ApiKey::new(key.into())),
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            endpoints: Default::default(),
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
        let body = crate::http::json_body(&body)?;
        // The default model's endpoint is kept; another model's is prepared for this request.
        let cache = (model == self.model).then(|| &self.endpoints[usize::from(stream)]);
        let prepare = || http::Endpoint::new(PROVIDER, &self.url(&model, stream), &self.auth, &[]);
        let answer = http::Answer::sse_if(stream);
        let response = post_cached(&self.client, PROVIDER, cache, prepare, body, answer).await?;
        Ok((response, model))
    }
}

#[async_trait]
impl Provider for GeminiProvider {
    crate::native::provider_basics!(PROVIDER);

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        let answer = async {
            let started = Instant::now();
            let (response, model) = self.send(&request, false).await?;
            let (value, request_id) = read_json::<serde_json::Value>(PROVIDER, response).await?;
            if let Some(err) = BlazenError::from_stream_frame(PROVIDER, &value) {
                return Err(err);
            }
            // Read from the `Value` in place: its text is needed again only for an error.
            let wire = <wire::GenerateContentResponse as serde::Deserialize>::deserialize(&value)
                .map_err(|e| {
                BlazenError::invalid_response(
                    PROVIDER,
                    format!("unexpected response: {e}"),
                    value.to_string(),
                )
            })?;
            let out = convert::from_wire(wire, &model);
            Ok(finish(out, request_id, started))
        };
        self.auth.scrub_result(answer.await)
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let chunks = async {
            let (response, _model) = self.send(&request, true).await?;
            let state = convert::StreamState::default();
            Ok(sse_stream(PROVIDER, response, ByData(state)))
        };
        self.auth.scrub_stream(chunks.await)
    }
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
        crate::native::env_var(ENV_KEYS[0])
            .or_else(|_| crate::native::env_var(ENV_KEYS[1]))
            .map(Self::gemini)
    }
}
