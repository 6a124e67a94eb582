//! Cohere embeddings (`POST /v2/embed`, float vectors) behind [`EmbeddingModel::cohere`].

use std::sync::Arc;

use async_trait::async_trait;

use super::convert::count;
use super::wire::{EmbedRequest, EmbedResponse, Embeddings};
use super::{DEFAULT_BASE_URL, PROVIDER};
use crate::embedding::{EmbeddingModel, EmbeddingProvider, EmbeddingResponse};
use crate::error::{BlazenError, Result};
use crate::http::{self, ApiKey, Auth};
use crate::types::{RequestTiming, TokenUsage};

const DEFAULT_MODEL: &str = "embed-v4.0";
/// Cohere accepts at most 96 texts per call.
const MAX_BATCH: usize = 96;

#[derive(Debug, Clone)]
pub(crate) struct CohereEmbeddings {
    client: http::HttpClient,
    auth: Auth,
    base_url: String,
    model: String,
    dimensions: Option<u32>,
    input_type: &'static str,
}

impl CohereEmbeddings {
    pub(crate) fn new(key: impl Into<String>) -> Self {
        Self {
            client: http::HttpClient::new(),
            auth: Auth::Bearer(ApiKey::new(key.into())),
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            dimensions: None,
            input_type: "search_document",
        }
    }
}

#[async_trait]
impl EmbeddingProvider for CohereEmbeddings {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn model_id(&self) -> &str {
        &self.model
    }

    fn max_batch_size(&self) -> usize {
        MAX_BATCH
    }

    async fn embed_batch(&self, inputs: &[String]) -> Result<EmbeddingResponse> {
        let batch = async {
            let started = std::time::Instant::now();
            let body = EmbedRequest {
                model: &self.model,
                texts: inputs,
                input_type: self.input_type,
                embedding_types: ["float"],
                output_dimension: self.dimensions,
            };
            let body = crate::http::json_body(&body)?;
            let url = format!("{}/embed", self.base_url.trim_end_matches('/'));
            let response =
                http::post_json(&self.client, PROVIDER, &url, &self.auth, &[], body).await?;
            let body = http::read_body(PROVIDER, response).await?;
            let wire: EmbedResponse = serde_json::from_slice(&body).map_err(|e| {
                BlazenError::invalid_response(PROVIDER, format!("unexpected response: {e}"), &body)
            })?;
            let embeddings = match wire.embeddings {
                Embeddings::Typed { float } => float,
                Embeddings::Bare(v) => v,
            };
            let usage = wire
                .meta
                .and_then(|m| m.billed_units)
                .map(|b| TokenUsage::new(count(b.input_tokens), 0));
            Ok(EmbeddingResponse {
                embeddings,
                model: self.model.clone(),
                usage,
                cost: None,
                timing: Some(RequestTiming {
                    total_ms: Some(http::elapsed_ms(started)),
                    ..RequestTiming::default()
                }),
            })
        };
        self.auth.scrub_result(batch.await)
    }

    fn with_model(&self, model: &str) -> Arc<dyn EmbeddingProvider> {
        Arc::new(Self {
            model: model.to_owned(),
            ..self.clone()
        })
    }

    fn with_dimensions(&self, dimensions: u32) -> Arc<dyn EmbeddingProvider> {
        Arc::new(Self {
            dimensions: Some(dimensions),
            ..self.clone()
        })
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn EmbeddingProvider> {
        Arc::new(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ..self.clone()
        })
    }
}

impl EmbeddingModel {
    /// Cohere embeddings (default `embed-v4.0`, `input_type` `search_document`;
    /// `with_dimensions` sets `output_dimension`). At most 96 texts per request.
    ///
    /// ```
    /// use blazen_providers::EmbeddingModel;
    /// let model = EmbeddingModel::cohere("co-secret").with_model("embed-multilingual-v3.0");
    /// assert_eq!(model.model_id(), "embed-multilingual-v3.0");
    /// assert!(!format!("{model:?}").contains("co-secret"));
    /// ```
    pub fn cohere(api_key: impl Into<String>) -> Self {
        Self::from_provider(CohereEmbeddings::new(api_key))
    }
}
