//! Falls back to the next model when one is unavailable.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;

use crate::error::{BlazenError, Kind, Result};
use crate::model::{ChunkStream, CompletionModel, Provider};
use crate::types::{CompletionRequest, CompletionResponse};

/// Whether the next model may succeed where this one failed: the error is retryable (rate
/// limit, timeout, 5xx, connection, broken stream) or says this model is unavailable to us
/// (authentication, unknown model, exhausted quota, unsupported feature, unreadable answer).
/// Errors of the request itself (validation, content policy, too large, invalid media) would
/// fail on every model and are returned at once.
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
    /// Tries `models` in order: the next one is called when a model fails with a retryable
    /// error or is unavailable (authentication, unknown model, exhausted quota, unsupported
    /// feature); an error of the request itself (validation, content policy, too large) is
    /// returned at once. A stream falls back only before its first chunk. The last model's
    /// error is returned when all fail.
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
        CompletionModel::from_provider(Fallback {
            models: models.into_iter().map(|m| m.provider().clone()).collect(),
        })
    }
}
