//! An in-memory response cache with a TTL, single-flight on concurrent identical misses.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::future::Cache as MokaCache;

use crate::error::{BlazenError, Result};
use crate::model::{layer, ChunkStream, CompletionModel, Provider};
use crate::types::{CompletionRequest, CompletionResponse, RequestTiming};

/// How [`CompletionModel::with_cache`] caches.
///
/// ```
/// use blazen_providers::CacheConfig;
/// use std::time::Duration;
/// let c = CacheConfig::default();
/// assert_eq!((c.ttl, c.max_entries), (Duration::from_secs(300), 1000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long an answer stays valid.
    pub ttl: Duration,
    /// How many answers are kept at most (least recently used go first).
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(300),
            max_entries: 1000,
        }
    }
}

/// What a cache hit reports: no new call was made, so it cost nothing (`cost == Some(0.0)`),
/// took only the lookup (`timing.total_ms` is the hit's own time, with no queue or execution
/// time) and has no provider request id. Content, tool calls, usage (the tokens of the stored
/// answer) and the rest are the stored answer's.
fn mark_hit(response: &mut CompletionResponse, started: Instant) {
    response.cost = Some(0.0);
    response.timing = Some(RequestTiming {
        total_ms: Some(crate::http::elapsed_ms(started)),
        ..RequestTiming::default()
    });
    response.request_id = None;
}

/// The cache middleware. Clones share the same store.
#[derive(Clone)]
pub(crate) struct Cache {
    inner: Arc<dyn Provider>,
    store: MokaCache<String, Arc<CompletionResponse>>,
    config: CacheConfig,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.config)
            .field("entries", &self.store.entry_count())
            .field("inner", &self.inner)
            .finish()
    }
}

impl Cache {
    fn new(inner: Arc<dyn Provider>, config: CacheConfig) -> Self {
        let store = MokaCache::builder()
            .max_capacity(config.max_entries)
            .time_to_live(config.ttl)
            .build();
        Cache {
            inner,
            store,
            config,
        }
    }

    /// The key: the provider, its model and everything in the request that changes the answer
    /// (messages, tools, tool choice, sampling, token limit, stop sequences, response format),
    /// as canonical JSON.
    fn key(&self, request: &CompletionRequest) -> Result<String> {
        let model = request.model.as_deref().unwrap_or(self.inner.model_id());
        let body = serde_json::to_string(request).map_err(|e| {
            BlazenError::validation(format!("the request cannot be serialized: {e}"))
        })?;
        Ok(format!(
            "{}\u{1f}{}\u{1f}{}",
            self.inner.name(),
            model,
            body
        ))
    }
}

#[async_trait]
impl Provider for Cache {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    async fn complete(&self, mut request: CompletionRequest) -> Result<CompletionResponse> {
        let started = Instant::now();
        let key = self.key(&request)?;
        let inner = self.inner.clone();
        // `or_try_insert_with` runs one upstream call for concurrent callers of the same key;
        // its error is shared with them and not cached. Only the caller whose call filled the
        // entry gets a fresh entry: for everyone else (later callers and concurrent waiters)
        // it is a hit. The upstream call takes the request out of `request` only when it runs,
        // so a hit still has it for its span, uncloned.
        let upstream = &mut request;
        let entry = self
            .store
            .entry(key)
            .or_try_insert_with(async move {
                inner.complete(std::mem::take(upstream)).await.map(Arc::new)
            })
            .await
            .map_err(|e: Arc<BlazenError>| (*e).clone())?;
        let fresh = entry.is_fresh();
        let mut response = (*entry.into_value()).clone();
        if !fresh {
            mark_hit(&mut response, started);
            crate::telemetry::cache_hit(
                self.inner.name(),
                self.inner.model_id(),
                &request,
                &response,
            );
        }
        Ok(response)
    }

    /// Streams are not cached.
    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        self.inner.stream(request).await
    }

    fn with_model(&self, model: &str) -> Arc<dyn Provider> {
        // The key includes the model, so the store can be shared.
        Arc::new(Cache {
            inner: self.inner.with_model(model),
            ..self.clone()
        })
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn Provider> {
        // Another server may answer differently: a fresh store.
        Arc::new(Cache::new(self.inner.with_base_url(base_url), self.config))
    }

    fn layer_inside(
        &self,
        wrap: &dyn Fn(Arc<dyn Provider>) -> Arc<dyn Provider>,
    ) -> Option<Arc<dyn Provider>> {
        Some(Arc::new(Cache {
            inner: layer(&self.inner, wrap),
            ..self.clone()
        }))
    }
}

impl CompletionModel {
    /// Caches answers to identical requests in memory for `ttl`, at most `max_entries` of them.
    ///
    /// The key covers everything that changes the answer: provider, model, messages, tools,
    /// tool choice, sampling, token limit, stop sequences and response format. Concurrent
    /// identical misses make one upstream call. Errors are not cached; streams are not cached.
    ///
    /// A hit is not a new call and does not report the stored call's spend as its own: its
    /// `cost` is `Some(0.0)`, its `timing` holds only the hit's own `total_ms` (the lookup, or
    /// the wait for a concurrent identical call) and its `request_id` is `None`. Everything
    /// else (content, tool calls, usage, model, finish reason) is the stored answer. The call
    /// that made the upstream request reports its real cost, timing and request id.
    ///
    /// ```
    /// use blazen_providers::{CacheConfig, CompletionModel};
    /// let model = CompletionModel::openai("key").with_cache(CacheConfig::default());
    /// # let _ = model;
    /// ```
    pub fn with_cache(self, config: CacheConfig) -> Self {
        let wrap = move |inner: Arc<dyn Provider>| -> Arc<dyn Provider> {
            Arc::new(Cache::new(inner, config))
        };
        CompletionModel::from_arc(layer(self.provider(), &wrap))
    }
}
