//! A deadline on each call: the whole of `complete`, and the start of a stream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use crate::error::{BlazenError, Result};
use crate::model::{layer, ChunkStream, CompletionModel, Provider};
use crate::types::{CompletionRequest, CompletionResponse};

/// The timeout middleware.
#[derive(Debug)]
pub(crate) struct Timeout {
    inner: Arc<dyn Provider>,
    limit: Duration,
}

impl Timeout {
    /// The error for a call that hit the deadline: [`BlazenError::Timeout`], retryable, with
    /// the provider's name and the limit as the time waited ("timed out after 30000ms").
    fn expired(&self) -> BlazenError {
        BlazenError::timeout(self.limit).with_provider(self.inner.name())
    }
}

#[async_trait]
impl Provider for Timeout {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        tokio::time::timeout(self.limit, self.inner.complete(request))
            .await
            .map_err(|_| self.expired())?
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let inner = self.inner.clone();
        // The deadline covers opening the stream and waiting for its first item; after that
        // the stream is the caller's, at the pace the model generates.
        let started = tokio::time::timeout(self.limit, async move {
            let mut s = inner.stream(request).await?;
            let first = s.next().await;
            Ok::<_, BlazenError>((first, s))
        })
        .await
        .map_err(|_| self.expired())?;
        let (first, rest) = started?;
        Ok(match first {
            Some(first) => Box::pin(futures::stream::once(async move { first }).chain(rest)),
            None => rest,
        })
    }

    fn with_model(&self, model: &str) -> Arc<dyn Provider> {
        Arc::new(Timeout {
            inner: self.inner.with_model(model),
            limit: self.limit,
        })
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn Provider> {
        Arc::new(Timeout {
            inner: self.inner.with_base_url(base_url),
            limit: self.limit,
        })
    }

    fn layer_inside(
        &self,
        wrap: &dyn Fn(Arc<dyn Provider>) -> Arc<dyn Provider>,
    ) -> Option<Arc<dyn Provider>> {
        Some(Arc::new(Timeout {
            inner: layer(&self.inner, wrap),
            limit: self.limit,
        }))
    }
}

impl CompletionModel {
    /// Puts a deadline of `limit` on each call.
    ///
    /// What it bounds:
    /// - [`complete`](Self::complete) / [`complete_with`](Self::complete_with): the whole call,
    ///   from sending the request to the parsed answer (a server that stalls after its headers
    ///   or trickles its body counts against the limit).
    /// - [`stream`](Self::stream) and the other stream methods: the time until the stream
    ///   *starts*, i.e. until its first item (a chunk, or an error) arrives. Once the first
    ///   item is there the rest of the stream is not bounded by this limit: a long answer may
    ///   take minutes to generate (a stalled stream is still ended by the transport's idle-read
    ///   guard).
    ///
    /// When the limit passes, the call is dropped (the request is abandoned) and the error is a
    /// [`BlazenError::Timeout`] with the provider's name and the limit as the time waited
    /// (`"timed out after 30000ms"`). It is retryable, so a
    /// [`with_retry`](Self::with_retry) layer around it retries it.
    ///
    /// Middleware added first is outermost: `m.with_retry(r).with_timeout(d)` bounds each
    /// attempt, while `m.with_timeout(d).with_retry(r)` bounds all attempts together (backoff
    /// waits included).
    ///
    /// ```
    /// use blazen_providers::{CompletionModel, RetryConfig};
    /// use std::time::Duration;
    /// // Each attempt gets 30 s; a timed-out attempt is retried.
    /// let model = CompletionModel::openai("key")
    ///     .with_retry(RetryConfig::default())
    ///     .with_timeout(Duration::from_secs(30));
    /// assert_eq!(model.provider_name(), "openai");
    /// ```
    pub fn with_timeout(self, limit: Duration) -> Self {
        let wrap = move |inner: Arc<dyn Provider>| -> Arc<dyn Provider> {
            Arc::new(Timeout { inner, limit })
        };
        CompletionModel::from_arc(layer(self.provider(), &wrap))
    }
}
