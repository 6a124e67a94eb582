//! [`EmbeddingModel`]: text embeddings, batched, in input order.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// The vector length this provider was configured to ask for
    /// ([`with_dimensions`](Self::with_dimensions)), if any. The default, `None`, lets
    /// [`EmbeddingModel::dimensions`] fall back on its table of known models.
    fn dimensions(&self) -> Option<u32> {
        None
    }
}

/// The output dimensionality of well-known embedding models at their default size, as their
/// providers document it (the default models of this crate's constructors among them).
/// Matched on the model id, or the part after the last `/` (OpenRouter's `openai/...`).
///
/// | model | dimensions |
/// |---|---|
/// | `text-embedding-3-small`, `text-embedding-ada-002` (OpenAI) | 1536 |
/// | `text-embedding-3-large` (OpenAI) | 3072 |
/// | `embed-v4.0` (Cohere) | 1536 |
/// | `embed-english-v3.0`, `embed-multilingual-v3.0` (Cohere) | 1024 |
/// | `embed-english-light-v3.0`, `embed-multilingual-light-v3.0` (Cohere) | 384 |
/// | `mistral-embed` (Mistral) | 1024 |
/// | `bge-large-en-v1.5` (Together: `BAAI/bge-large-en-v1.5`) | 1024 |
/// | `bge-base-en-v1.5` (BAAI) | 768 |
/// | `nomic-embed-text-v1.5`, `nomic-embed-text-v1` (Fireworks: `nomic-ai/...`) | 768 |
const KNOWN_DIMENSIONS: &[(&str, u32)] = &[
    ("text-embedding-3-small", 1536),
    ("text-embedding-3-large", 3072),
    ("text-embedding-ada-002", 1536),
    ("embed-v4.0", 1536),
    ("embed-english-v3.0", 1024),
    ("embed-multilingual-v3.0", 1024),
    ("embed-english-light-v3.0", 384),
    ("embed-multilingual-light-v3.0", 384),
    ("mistral-embed", 1024),
    ("bge-large-en-v1.5", 1024),
    ("bge-base-en-v1.5", 768),
    ("nomic-embed-text-v1.5", 768),
    ("nomic-embed-text-v1", 768),
];

/// The default dimensionality of a known embedding model (see [`KNOWN_DIMENSIONS`]).
fn known_dimensions(model: &str) -> Option<u32> {
    let short = model.rsplit('/').next().unwrap_or(model);
    KNOWN_DIMENSIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(model) || name.eq_ignore_ascii_case(short))
        .map(|&(_, dims)| dims)
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
    /// The vector length asked for with [`EmbeddingModel::with_dimensions`].
    dimensions: Option<u32>,
    /// The deadline of one [`EmbeddingModel::embed`] call.
    timeout: Option<Duration>,
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
            dimensions: None,
            timeout: None,
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
            dimensions: Some(dimensions),
            ..self
        }
    }

    /// The length of the vectors this model returns (the seed's `.dimensions`): the value given
    /// to [`with_dimensions`](Self::with_dimensions), else the one the provider reports
    /// ([`EmbeddingProvider::dimensions`]), else the documented default of a well-known model:
    ///
    /// | model | dimensions |
    /// |---|---|
    /// | `text-embedding-3-small`, `text-embedding-ada-002` | 1536 |
    /// | `text-embedding-3-large` | 3072 |
    /// | `embed-v4.0` (Cohere) | 1536 |
    /// | `embed-english-v3.0`, `embed-multilingual-v3.0` | 1024 |
    /// | `embed-english-light-v3.0`, `embed-multilingual-light-v3.0` | 384 |
    /// | `mistral-embed` | 1024 |
    /// | `BAAI/bge-large-en-v1.5` | 1024 |
    /// | `BAAI/bge-base-en-v1.5` | 768 |
    /// | `nomic-ai/nomic-embed-text-v1.5`, `nomic-ai/nomic-embed-text-v1` | 768 |
    ///
    /// (a `vendor/` prefix such as OpenRouter's `openai/` is ignored). `None` for any other
    /// model: the length is then known only from an answer (`embeddings[0].len()`).
    ///
    /// ```
    /// use blazen_providers::EmbeddingModel;
    /// assert_eq!(EmbeddingModel::openai("key").dimensions(), Some(1536));
    /// let large = EmbeddingModel::openai("key").with_model("text-embedding-3-large");
    /// assert_eq!(large.dimensions(), Some(3072));
    /// assert_eq!(large.with_dimensions(256).dimensions(), Some(256));
    /// assert_eq!(EmbeddingModel::openai_compatible("http://localhost:8080/v1", "").dimensions(), None);
    /// ```
    pub fn dimensions(&self) -> Option<u32> {
        self.dimensions
            .or_else(|| self.inner.dimensions())
            .or_else(|| known_dimensions(self.inner.model_id()))
    }

    /// Puts a deadline of `limit` on each [`embed`](Self::embed) call: all its batches
    /// together, from the first request sent to the last answer read. When it passes, the
    /// requests in flight are dropped and the error is a retryable
    /// [`BlazenError::Timeout`] with the provider's name and the limit as the time waited
    /// (`"timed out after 30000ms"`).
    ///
    /// ```
    /// use blazen_providers::EmbeddingModel;
    /// use std::time::Duration;
    /// let model = EmbeddingModel::openai("key").with_timeout(Duration::from_secs(30));
    /// # let _ = model;
    /// ```
    pub fn with_timeout(self, limit: Duration) -> Self {
        EmbeddingModel {
            timeout: Some(limit),
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
    /// in input order with usage summed. Bounded by [`with_timeout`](Self::with_timeout) when
    /// set.
    pub async fn embed<S: AsRef<str>>(&self, inputs: &[S]) -> Result<EmbeddingResponse> {
        let inputs: Vec<String> = inputs.iter().map(|s| s.as_ref().to_owned()).collect();
        match self.timeout {
            None => self.embed_all(inputs).await,
            Some(limit) => tokio::time::timeout(limit, self.embed_all(inputs))
                .await
                .map_err(|_| BlazenError::timeout(limit).with_provider(self.provider_name()))?,
        }
    }

    async fn embed_all(&self, inputs: Vec<String>) -> Result<EmbeddingResponse> {
        let started = Instant::now();
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
                usage = Some(usage.unwrap_or_default().saturating_add(u));
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
        let batch = async {
            let provider = self.client.name_arc().clone();
            let body = http::json_body(&wire::EmbeddingRequest {
                model: &self.model,
                input: inputs,
                dimensions: self.dimensions,
                encoding_format: "float",
            })?;
            let response = http::post_json(
                self.client.client(),
                &provider,
                &self.client.endpoint("embeddings"),
                &self.client.auth(),
                self.client.extra_headers(),
                body,
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
            if let Some(err) = crate::openai_compat::error_member(&provider, parsed.error.as_ref())
            {
                return Err(err);
            }
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
        };
        self.client.auth().scrub_result(batch.await)
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

    fn dimensions(&self) -> Option<u32> {
        self.dimensions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dimensions_match_ids_with_and_without_vendor_prefix() {
        assert_eq!(known_dimensions("text-embedding-3-small"), Some(1536));
        assert_eq!(
            known_dimensions("openai/text-embedding-3-large"),
            Some(3072)
        );
        assert_eq!(known_dimensions("BAAI/bge-large-en-v1.5"), Some(1024));
        assert_eq!(
            known_dimensions("nomic-ai/nomic-embed-text-v1.5"),
            Some(768)
        );
        assert_eq!(known_dimensions("my-local-embedder"), None);
        assert_eq!(known_dimensions(""), None);
    }

    #[test]
    fn every_default_embedding_model_has_known_dimensions() {
        for model in [
            EmbeddingModel::openai("k"),
            EmbeddingModel::together("k"),
            EmbeddingModel::fireworks("k"),
            EmbeddingModel::mistral("k"),
            EmbeddingModel::openrouter("k"),
            EmbeddingModel::cohere("k"),
        ] {
            assert!(model.dimensions().is_some(), "{}", model.model_id());
        }
        assert_eq!(EmbeddingModel::mistral("k").dimensions(), Some(1024));
        assert_eq!(EmbeddingModel::cohere("k").dimensions(), Some(1536));
    }

    #[test]
    fn configured_dimensions_win_and_survive_with_model() {
        let m = EmbeddingModel::openai("k").with_dimensions(512);
        assert_eq!(m.dimensions(), Some(512));
        assert_eq!(
            m.with_model("text-embedding-3-large").dimensions(),
            Some(512)
        );
        let cohere = EmbeddingModel::cohere("k").with_dimensions(256);
        assert_eq!(cohere.dimensions(), Some(256));
    }
}
