//! Cohere v2: chat (`POST /v2/chat`, with its stream events) and embeddings
//! (`POST /v2/embed`). Authentication is `Authorization: Bearer <key>`.

mod convert;
mod embed;
mod wire;

use std::time::Instant;

use async_trait::async_trait;

use crate::error::Result;
use crate::http::{self, ApiKey, Auth};
use crate::model::{ChunkStream, CompletionModel, Provider};
use crate::native::{finish, post_cached, read_json, sse_stream, ByData};
use crate::types::{CompletionRequest, CompletionResponse};

pub(crate) const PROVIDER: &str = "cohere";
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.cohere.com/v2";
const DEFAULT_MODEL: &str = "command-a-03-2025";
pub(crate) const ENV_KEYS: [&str; 2] = ["COHERE_API_KEY", "CO_API_KEY"];

/// The Cohere chat provider behind [`CompletionModel::cohere`].
#[derive(Debug, Clone)]
pub(crate) struct CohereProvider {
    client: http::HttpClient,
    auth: Auth,
    base_url: String,
    model: String,
    /// `{base_url}/chat`, prepared on first use (a clone prepares its own).
    chat: http::EndpointCache,
}

impl CohereProvider {
    pub(crate) fn new(key: impl Into<String>) -> Self {
        Self {
            client: http::HttpClient::new(),
            auth: Auth::Bearer(ApiKey::new(key.into())),
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            chat: http::EndpointCache::default(),
        }
    }

    async fn send(
        &self,
        req: &CompletionRequest,
        stream: bool,
    ) -> Result<(reqwest::Response, String)> {
        let model = req.model.clone().unwrap_or_else(|| self.model.clone());
        let body = convert::to_wire(req, &model, stream)?;
        let body = crate::http::json_body(&body)?;
        let prepare = || {
            let url = format!("{}/chat", self.base_url.trim_end_matches('/'));
            http::Endpoint::new(PROVIDER, &url, &self.auth, &[])
        };
        let cache = Some(&self.chat);
        let answer = http::Answer::sse_if(stream);
        let response = post_cached(&self.client, PROVIDER, cache, prepare, body, answer).await?;
        Ok((response, model))
    }
}

#[async_trait]
impl Provider for CohereProvider {
    crate::native::provider_basics!(PROVIDER);

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        let answer = async {
            let started = Instant::now();
            let (response, model) = self.send(&request, false).await?;
            let (wire, request_id) = read_json::<wire::ChatResponse>(PROVIDER, response).await?;
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
    /// Cohere's v2 chat API (default model `command-a-03-2025`).
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::cohere("co-secret").with_model("command-r-plus");
    /// assert_eq!(model.model_id(), "command-r-plus");
    /// assert!(!format!("{model:?}").contains("co-secret"));
    /// ```
    pub fn cohere(api_key: impl Into<String>) -> Self {
        Self::from_provider(CohereProvider::new(api_key))
    }

    /// [`CompletionModel::cohere`] with the key from `COHERE_API_KEY` (or `CO_API_KEY`).
    ///
    /// # Errors
    /// [`BlazenError`](crate::BlazenError) Validation when neither variable is set.
    pub fn cohere_from_env() -> Result<Self> {
        crate::native::env_var(ENV_KEYS[0])
            .or_else(|_| crate::native::env_var(ENV_KEYS[1]))
            .map(Self::cohere)
    }
}
