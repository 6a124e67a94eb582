//! [`EmbeddingModel`]: text embeddings, batched, in input order.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::error::{BlazenError, Result};
use crate::http;
use crate::openai_compat::{wire, OpenAiCompat, Profile};
use crate::types::{RequestTiming, TokenUsage};

/// Embeddings of a list of inputs, in input order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// One vector per input, in the order of the inputs.
    pub embeddings: Vec<Vec<f32>>,
    /// The model that answered.
    pub model: String,
    /// Token usage (summed over batches).
    pub usage: Option<TokenUsage>,
    /// Estimated cost in USD for known models.
    pub cost: Option<f64>,
    /// Timing of the call (all batches).
    pub timing: Option<RequestTiming>,
}

/// One way to compute embeddings; [`EmbeddingModel`] wraps it and does the batching.
///
/// `Debug` implementations must not print API keys.
#[async_trait]
pub trait EmbeddingProvider: Send + Sync + fmt::Debug {
    /// The provider's name.
    fn name(&self) -> &str;
    /// The embedding model used.
    fn model_id(&self) -> &str;
    /// The most inputs one request may carry.
    fn max_batch_size(&self) -> usize;
    /// Embeds one batch (at most [`max_batch_size`](Self::max_batch_size) inputs), in order.
    async fn embed_batch(&self, inputs: &[String]) -> Result<EmbeddingResponse>;
    /// The same provider with another model.
    fn with_model(&self, model: &str) -> Arc<dyn EmbeddingProvider>;
    /// The same provider asking for vectors of `dimensions` (models that support it).
    fn with_dimensions(&self, dimensions: u32) -> Arc<dyn EmbeddingProvider>;
    /// The same provider at another base URL.
    fn with_base_url(&self, base_url: &str) -> Arc<dyn EmbeddingProvider>;
}

/// An embedding model of any provider. Cheap to clone; `Debug` never shows the key.
///
/// ```
/// use blazen_providers::EmbeddingModel;
/// let model = EmbeddingModel::openai("key").with_model("text-embedding-3-large").with_dimensions(3072);
/// assert_eq!(model.model_id(), "text-embedding-3-large");
/// # async fn run(model: EmbeddingModel) -> blazen_providers::Result<()> {
/// let r = model.embed(&["a", "b"]).await?;
/// assert_eq!(r.embeddings.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EmbeddingModel {
    inner: Arc<dyn EmbeddingProvider>,
    concurrency: usize,
}

impl fmt::Debug for EmbeddingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl EmbeddingModel {
    /// Wraps any [`EmbeddingProvider`].
    pub fn from_provider(provider: impl EmbeddingProvider + 'static) -> Self {
        EmbeddingModel {
            inner: Arc::new(provider),
            concurrency: 4,
        }
    }

    fn compat(profile: Profile, api_key: impl Into<String>) -> Self {
        let model = profile.default_embedding_model.unwrap_or("default");
        Self::from_provider(CompatEmbeddings {
            client: OpenAiCompat::new(profile, api_key),
            model: model.to_owned(),
            dimensions: None,
        })
    }

    /// OpenAI embeddings (default `text-embedding-3-small`; `with_dimensions` shortens the
    /// vectors of the `text-embedding-3` models).
    pub fn openai(api_key: impl Into<String>) -> Self {
        Self::compat(crate::providers::OPENAI, api_key)
    }

    /// Together AI embeddings (default `BAAI/bge-large-en-v1.5`).
    pub fn together(api_key: impl Into<String>) -> Self {
        Self::compat(crate::providers::TOGETHER, api_key)
    }

    /// Fireworks AI embeddings (default `nomic-ai/nomic-embed-text-v1.5`).
    pub fn fireworks(api_key: impl Into<String>) -> Self {
        Self::compat(crate::providers::FIREWORKS, api_key)
    }

    /// Mistral embeddings (default `mistral-embed`).
    pub fn mistral(api_key: impl Into<String>) -> Self {
        Self::compat(crate::providers::MISTRAL, api_key)
    }

    /// OpenRouter embeddings (default `openai/text-embedding-3-small`).
    pub fn openrouter(api_key: impl Into<String>) -> Self {
        Self::compat(crate::providers::OPENROUTER, api_key)
    }

    /// Any OpenAI-compatible embeddings endpoint at `base_url` (before `/embeddings`).
    pub fn openai_compatible(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self::from_provider(CompatEmbeddings {
            client: OpenAiCompat::new(crate::providers::OPENAI_COMPATIBLE, api_key)
                .base_url_owned(base_url),
            model: "default".to_owned(),
            dimensions: None,
        })
    }

    /// The provider's name.
    pub fn provider_name(&self) -> &str {
        self.inner.name()
    }

    /// The embedding model used.
    pub fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    /// Uses another embedding model.
    pub fn with_model(self, model: impl Into<String>) -> Self {
        EmbeddingModel {
            inner: self.inner.with_model(&model.into()),
            ..self
        }
    }

    /// Asks for vectors of `dimensions` (models that support shortening).
    pub fn with_dimensions(self, dimensions: u32) -> Self {
        EmbeddingModel {
            inner: self.inner.with_dimensions(dimensions),
            ..self
        }
    }

    /// Sends requests to another base URL.
    pub fn with_base_url(self, base_url: impl Into<String>) -> Self {
        EmbeddingModel {
            inner: self.inner.with_base_url(&base_url.into()),
            ..self
        }
    }

    /// How many batches may be in flight at once (default 4, at least 1).
    pub fn with_concurrency(self, concurrency: usize) -> Self {
        EmbeddingModel {
            concurrency: concurrency.max(1),
            ..self
        }
    }

    /// Embeds `inputs`: split into batches the provider accepts, sent concurrently, returned
    /// in input order with usage summed.
    pub async fn embed<S: AsRef<str>>(&self, inputs: &[S]) -> Result<EmbeddingResponse> {
        let started = Instant::now();
        let inputs: Vec<String> = inputs.iter().map(|s| s.as_ref().to_owned()).collect();
        let mut out = EmbeddingResponse {
            model: self.model_id().to_owned(),
            ..EmbeddingResponse::default()
        };
        if inputs.is_empty() {
            return Ok(out);
        }
        let batch = self.inner.max_batch_size().max(1);
        // Owned batches and a cloned handle keep the future `Send` (no borrowed closure
        // arguments with higher-ranked lifetimes).
        let batches: Vec<Vec<String>> = inputs.chunks(batch).map(<[String]>::to_vec).collect();
        let inner = self.inner.clone();
        let results: Vec<EmbeddingResponse> = futures::stream::iter(batches)
            .map(move |chunk: Vec<String>| {
                let inner = inner.clone();
                async move {
                    let r = inner.embed_batch(&chunk).await?;
                    if r.embeddings.len() != chunk.len() {
                        return Err(BlazenError::invalid_response(
                            inner.name(),
                            format!(
                                "asked for {} embeddings, got {}",
                                chunk.len(),
                                r.embeddings.len()
                            ),
                            "",
                        ));
                    }
                    Ok(r)
                }
            })
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        let mut usage: Option<TokenUsage> = None;
        let mut cost: Option<f64> = None;
        for r in results {
            out.embeddings.extend(r.embeddings);
            if !r.model.is_empty() {
                out.model = r.model;
            }
            if let Some(u) = r.usage {
                let acc = usage.get_or_insert_with(TokenUsage::default);
                acc.prompt_tokens += u.prompt_tokens;
                acc.completion_tokens += u.completion_tokens;
                acc.total_tokens += u.total_tokens;
            }
            if let Some(c) = r.cost {
                *cost.get_or_insert(0.0) += c;
            }
        }
        out.usage = usage;
        out.cost = cost;
        out.timing = Some(RequestTiming {
            total_ms: Some(http::elapsed_ms(started)),
            ..RequestTiming::default()
        });
        Ok(out)
    }
}

/// Embeddings over the OpenAI `/embeddings` endpoint of a compatible provider.
#[derive(Clone)]
struct CompatEmbeddings {
    client: OpenAiCompat,
    model: String,
    dimensions: Option<u32>,
}

impl fmt::Debug for CompatEmbeddings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddingModel")
            .field("provider", &self.client.profile.name)
            .field("model", &self.model)
            .field("dimensions", &self.dimensions)
            .field("base_url", &self.client.base_url())
            .field("api_key", self.client.key())
            .finish()
    }
}

#[async_trait]
impl EmbeddingProvider for CompatEmbeddings {
    fn name(&self) -> &str {
        self.client.profile.name
    }

    fn model_id(&self) -> &str {
        &self.model
    }

    fn max_batch_size(&self) -> usize {
        // OpenAI accepts 2048 inputs per request; Mistral rejects large batches (recorded),
        // others document smaller caps.
        match self.client.profile.name {
            "openai" | "azure" => 2048,
            _ => 128,
        }
    }

    async fn embed_batch(&self, inputs: &[String]) -> Result<EmbeddingResponse> {
        let provider = self.client.name_arc().clone();
        let body = serde_json::to_vec(&wire::EmbeddingRequest {
            model: &self.model,
            input: inputs,
            dimensions: self.dimensions,
            encoding_format: "float",
        })
        .map_err(|e| BlazenError::validation(format!("cannot serialize the request: {e}")))?;
        let response = http::post_json(
            self.client.client(),
            &provider,
            &self.client.endpoint("embeddings"),
            &self.client.auth(),
            self.client.extra_headers(),
            body,
            false,
        )
        .await?;
        let bytes = http::read_body(&provider, response).await?;
        let parsed: wire::EmbeddingResponse = serde_json::from_slice(&bytes).map_err(|e| {
            BlazenError::invalid_response(
                &provider,
                format!("the response is not an embedding list: {e}"),
                &bytes,
            )
        })?;
        let mut data = parsed.data;
        // Providers may answer out of order; `index` says where each vector belongs.
        if data.iter().all(|d| d.index.is_some()) {
            data.sort_by_key(|d| d.index);
        }
        let usage = parsed.usage.as_ref().map(wire::WireUsage::to_usage);
        let model = parsed.model.unwrap_or_else(|| self.model.clone());
        let cost = usage.and_then(|u| crate::pricing::cost(&model, &u));
        Ok(EmbeddingResponse {
            embeddings: data.into_iter().map(|d| d.embedding).collect(),
            model,
            usage,
            cost,
            timing: None,
        })
    }

    fn with_model(&self, model: &str) -> Arc<dyn EmbeddingProvider> {
        Arc::new(CompatEmbeddings {
            model: model.to_owned(),
            ..self.clone()
        })
    }

    fn with_dimensions(&self, dimensions: u32) -> Arc<dyn EmbeddingProvider> {
        Arc::new(CompatEmbeddings {
            dimensions: Some(dimensions),
            ..self.clone()
        })
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn EmbeddingProvider> {
        Arc::new(CompatEmbeddings {
            client: self.client.clone().base_url_owned(base_url),
            ..self.clone()
        })
    }
}
