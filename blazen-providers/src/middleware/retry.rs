//! Retries with exponential backoff and jitter, honouring the server's retry delay.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use crate::error::{BlazenError, Result};
use crate::model::{layer, ChunkStream, CompletionModel, Provider};
use crate::types::{CompletionRequest, CompletionResponse};

/// How [`CompletionModel::with_retry`] retries.
///
/// ```
/// use blazen_providers::RetryConfig;
/// use std::time::Duration;
/// let c = RetryConfig::default();
/// assert_eq!((c.max_retries, c.initial_delay, c.max_delay),
///            (3, Duration::from_secs(1), Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt (3 means at most 4 attempts).
    pub max_retries: u32,
    /// The backoff before the first retry; it doubles with each retry.
    pub initial_delay: Duration,
    /// The longest wait between attempts. A server asking for a longer wait (`Retry-After`)
    /// ends the retries instead.
    pub max_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 3,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryConfig {
    /// The backoff before retry number `retry` (0-based): `initial_delay * 2^retry`, capped at
    /// `max_delay`, with "equal jitter" (a uniformly random point in its upper half) so that
    /// many clients do not retry in lockstep.
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(30));
        let base = self
            .initial_delay
            .saturating_mul(factor)
            .min(self.max_delay);
        let half = base / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter_nanos == 0 {
            0
        } else {
            random_u64() % (jitter_nanos + 1)
        };
        half + Duration::from_nanos(extra)
    }

    /// How long to wait before retry number `retry` after `err`, or `None` to stop.
    fn delay(&self, retry: u32, err: &BlazenError) -> Option<Duration> {
        if retry >= self.max_retries || !err.is_retryable() {
            return None;
        }
        match err.retry_after() {
            Some(wait) if wait > self.max_delay => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(retry)),
        }
    }
}

/// A random number from the standard library's per-process random hash keys (no extra crate;
/// jitter needs no cryptographic quality).
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        )
        .unwrap_or(0),
    );
    h.finish()
}

/// The retry middleware.
#[derive(Debug)]
pub(crate) struct Retry {
    inner: Arc<dyn Provider>,
    config: RetryConfig,
}

impl Retry {
    async fn wait(&self, retry: u32, err: &BlazenError) -> bool {
        match self.config.delay(retry, err) {
            Some(d) => {
                let delay_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                tracing::debug!(
                    provider = self.inner.name(),
                    retry = retry + 1,
                    delay_ms,
                    error = %err,
                    "retrying"
                );
                crate::telemetry::retry_event(self.inner.name(), retry + 1, delay_ms, err);
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }
}

#[async_trait]
impl Provider for Retry {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        let mut retry = 0;
        loop {
            match self.inner.complete(request.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) => {
                    if !self.wait(retry, &e).await {
                        return Err(e.with_attempts(retry + 1));
                    }
                    retry += 1;
                }
            }
        }
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let mut retry = 0;
        loop {
            let err = match self.inner.stream(request.clone()).await {
                Ok(mut s) => match s.next().await {
                    // Once a chunk went out, the stream is the caller's: no more retries.
                    Some(Ok(first)) => {
                        let first = futures::stream::once(async move { Ok(first) });
                        return Ok(Box::pin(first.chain(s)));
                    }
                    None => return Ok(Box::pin(futures::stream::empty())),
                    Some(Err(e)) => e,
                },
                Err(e) => e,
            };
            if !self.wait(retry, &err).await {
                return Err(err.with_attempts(retry + 1));
            }
            retry += 1;
        }
    }

    fn with_model(&self, model: &str) -> Arc<dyn Provider> {
        Arc::new(Retry {
            inner: self.inner.with_model(model),
            config: self.config,
        })
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn Provider> {
        Arc::new(Retry {
            inner: self.inner.with_base_url(base_url),
            config: self.config,
        })
    }

    fn layer_inside(
        &self,
        wrap: &dyn Fn(Arc<dyn Provider>) -> Arc<dyn Provider>,
    ) -> Option<Arc<dyn Provider>> {
        Some(Arc::new(Retry {
            inner: layer(&self.inner, wrap),
            config: self.config,
        }))
    }
}

impl CompletionModel {
    /// Retries failed calls that can succeed on a new attempt (rate limits, timeouts, 5xx,
    /// connection errors; never quota exhaustion or errors of the request itself).
    ///
    /// Waits `Retry-After` (seconds or HTTP date), `retry-after-ms` or the delay in the error
    /// body when the server gives one, else an exponential backoff with jitter. A stream is
    /// retried only until its first chunk. The final error says how many attempts were made
    /// ([`BlazenError::attempts`]).
    ///
    /// Middleware added first is outermost: in `m.with_cache(c).with_retry(r)` a cache hit
    /// makes no attempt at all.
    ///
    /// ```
    /// use blazen_providers::{CompletionModel, RetryConfig};
    /// use std::time::Duration;
    /// let model = CompletionModel::openai("key").with_retry(RetryConfig {
    ///     max_retries: 5,
    ///     ..RetryConfig::default()
    /// });
    /// assert_eq!(model.model_id(), CompletionModel::openai("key").model_id());
    /// ```
    pub fn with_retry(self, config: RetryConfig) -> Self {
        let wrap = move |inner: Arc<dyn Provider>| -> Arc<dyn Provider> {
            Arc::new(Retry { inner, config })
        };
        CompletionModel::from_arc(layer(self.provider(), &wrap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate_limited(retry_after: &str) -> BlazenError {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", retry_after.parse().unwrap());
        BlazenError::from_http(
            "test",
            429,
            &headers,
            br#"{"error":{"code":"rate_limit_exceeded","message":"slow down"}}"#,
        )
    }

    #[test]
    fn server_delay_is_used_unless_longer_than_max_delay() {
        let c = RetryConfig::default();
        assert_eq!(c.delay(0, &rate_limited("7")), Some(Duration::from_secs(7)));
        assert_eq!(c.delay(0, &rate_limited("31")), None);
        assert_eq!(c.delay(3, &rate_limited("1")), None, "retries used up");
        let quota = BlazenError::from_http(
            "test",
            429,
            &reqwest::header::HeaderMap::new(),
            br#"{"error":{"code":"insufficient_quota","message":"no credit"}}"#,
        );
        assert_eq!(c.delay(0, &quota), None);
    }

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let c = RetryConfig::default();
        for retry in 0..8 {
            let d = c.backoff(retry);
            let base = Duration::from_secs(1)
                .saturating_mul(2u32.pow(retry))
                .min(c.max_delay);
            assert!(
                d >= base / 2 && d <= base,
                "retry {retry}: {d:?} vs {base:?}"
            );
        }
    }
}
