//! [`CompletionModel`]: one handle over every provider, and the [`Provider`] trait behind it.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Stream, StreamExt};

use crate::error::Result;
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, StreamAccumulator, StreamChunk,
};

/// A stream of completion chunks: `futures::Stream<Item = Result<StreamChunk, BlazenError>>`.
///
/// It ends after the chunk carrying the finish reason; a stream the provider cut short ends with
/// an error instead. It is `Send` and `!Unpin`-safe (boxed and pinned).
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<StreamChunk>> + Send + 'static>>;

/// One way to answer completion requests: a provider's wire format, or a middleware wrapping
/// another provider.
///
/// [`CompletionModel`] is a cheap, clonable handle over an `Arc<dyn Provider>`. Implement this
/// trait to plug in a provider of your own and wrap it with [`CompletionModel::from_provider`];
/// the middleware (`with_retry`, `with_cache`, `with_fallback`) then work on it unchanged.
///
/// `Debug` implementations must not print API keys.
///
/// ```
/// use async_trait::async_trait;
/// use blazen_providers::{
///     ChatMessage, ChunkStream, CompletionModel, CompletionRequest, CompletionResponse, Provider,
///     Result, StreamChunk,
/// };
/// use std::sync::Arc;
///
/// /// Answers every request with the last user message.
/// #[derive(Debug, Clone)]
/// struct Echo { model: String }
///
/// #[async_trait]
/// impl Provider for Echo {
///     fn name(&self) -> &str { "echo" }
///     fn model_id(&self) -> &str { &self.model }
///     async fn complete(&self, req: CompletionRequest) -> Result<CompletionResponse> {
///         let text = req.messages.last().and_then(|m| m.text_content());
///         Ok(CompletionResponse { content: text, model: self.model.clone(),
///             finish_reason: Some("stop".into()), ..Default::default() })
///     }
///     async fn stream(&self, req: CompletionRequest) -> Result<ChunkStream> {
///         let r = self.complete(req).await?;
///         let chunk = StreamChunk { delta: r.content, finish_reason: r.finish_reason, ..Default::default() };
///         Ok(Box::pin(futures::stream::iter([Ok(chunk)])))
///     }
///     fn with_model(&self, model: &str) -> Arc<dyn Provider> {
///         Arc::new(Echo { model: model.into() })
///     }
///     fn with_base_url(&self, _url: &str) -> Arc<dyn Provider> { Arc::new(self.clone()) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
/// let model = CompletionModel::from_provider(Echo { model: "echo-1".into() });
/// let r = model.complete(&[ChatMessage::user("hi")]).await?;
/// assert_eq!(r.content.as_deref(), Some("hi"));
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// The provider's name (`"openai"`, `"groq"`, ...), as errors report it.
    fn name(&self) -> &str;

    /// The model this provider uses by default.
    fn model_id(&self) -> &str;

    /// Sends one completion request and waits for the whole answer.
    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse>;

    /// Sends one completion request and streams the answer.
    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream>;

    /// The same provider with another default model.
    fn with_model(&self, model: &str) -> Arc<dyn Provider>;

    /// The same provider sending its requests to another base URL (proxies, tests).
    fn with_base_url(&self, base_url: &str) -> Arc<dyn Provider>;

    /// For middleware: this middleware with `wrap` applied to the model it wraps (recursively, so
    /// a new layer goes innermost). Providers keep the default, `None`.
    ///
    /// This is what makes the first middleware added the outermost one.
    fn layer_inside(
        &self,
        wrap: &dyn Fn(Arc<dyn Provider>) -> Arc<dyn Provider>,
    ) -> Option<Arc<dyn Provider>> {
        let _ = wrap;
        None
    }
}

/// Applies `wrap` beneath every middleware already on `provider` (first added stays outermost).
pub(crate) fn layer(
    provider: &Arc<dyn Provider>,
    wrap: &dyn Fn(Arc<dyn Provider>) -> Arc<dyn Provider>,
) -> Arc<dyn Provider> {
    provider
        .layer_inside(wrap)
        .unwrap_or_else(|| wrap(provider.clone()))
}

/// A chat completion model of any provider, with optional middleware.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`, and its `Debug` output never shows the API
/// key. Constructors for the OpenAI-compatible family live in this crate's `providers` module
/// (`CompletionModel::openai`, `groq`, `mistral`, ...); native providers add theirs beside it.
///
/// ```
/// use blazen_providers::CompletionModel;
/// let model = CompletionModel::openai("sk-secret").with_model("gpt-4.1-mini");
/// assert_eq!(model.model_id(), "gpt-4.1-mini");
/// assert!(!format!("{model:?}").contains("sk-secret"));
/// ```
#[derive(Clone)]
pub struct CompletionModel {
    inner: Arc<dyn Provider>,
}

impl fmt::Debug for CompletionModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl CompletionModel {
    /// Wraps any [`Provider`].
    pub fn from_provider(provider: impl Provider + 'static) -> Self {
        CompletionModel {
            inner: Arc::new(provider),
        }
    }

    /// Wraps a shared [`Provider`].
    pub fn from_arc(provider: Arc<dyn Provider>) -> Self {
        CompletionModel { inner: provider }
    }

    /// The provider (or outermost middleware) behind this model.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.inner
    }

    /// The provider's name (`"openai"`, `"groq"`, ...).
    pub fn provider_name(&self) -> &str {
        self.inner.name()
    }

    /// The model used when a request does not name one.
    pub fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    /// The same provider with another default model.
    pub fn with_model(self, model: impl Into<String>) -> Self {
        CompletionModel {
            inner: self.inner.with_model(&model.into()),
        }
    }

    /// The same provider sending its requests to another base URL (proxies, tests).
    pub fn with_base_url(self, base_url: impl Into<String>) -> Self {
        CompletionModel {
            inner: self.inner.with_base_url(&base_url.into()),
        }
    }

    /// Completes a conversation with the default options.
    pub async fn complete(&self, messages: &[ChatMessage]) -> Result<CompletionResponse> {
        self.inner
            .complete(CompletionRequest::new(messages.to_vec()))
            .await
    }

    /// Completes a request with options (temperature, tools, response format, ...).
    pub async fn complete_with(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        self.inner.complete(request).await
    }

    /// Streams the completion of a conversation.
    pub async fn stream(&self, messages: &[ChatMessage]) -> Result<ChunkStream> {
        self.inner
            .stream(CompletionRequest::new(messages.to_vec()))
            .await
    }

    /// Streams the completion of a request with options.
    pub async fn stream_request(&self, request: CompletionRequest) -> Result<ChunkStream> {
        self.inner.stream(request).await
    }

    /// Streams a completion, calling `on_chunk` for each chunk (the seed's callback form), and
    /// returns the whole answer assembled from the chunks.
    pub async fn stream_with<F>(
        &self,
        messages: &[ChatMessage],
        on_chunk: F,
    ) -> Result<CompletionResponse>
    where
        F: FnMut(StreamChunk) + Send,
    {
        self.stream_request_with(CompletionRequest::new(messages.to_vec()), on_chunk)
            .await
    }

    /// [`stream_with`](Self::stream_with) for a request with options.
    pub async fn stream_request_with<F>(
        &self,
        request: CompletionRequest,
        mut on_chunk: F,
    ) -> Result<CompletionResponse>
    where
        F: FnMut(StreamChunk) + Send,
    {
        let started = std::time::Instant::now();
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| self.model_id().to_owned());
        let mut stream = self.inner.stream(request).await?;
        let mut acc = StreamAccumulator::default();
        acc.response.model = model;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            acc.push(&chunk);
            on_chunk(chunk);
        }
        let mut response = acc.response;
        response.timing = Some(crate::types::RequestTiming {
            total_ms: Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)),
            ..Default::default()
        });
        response.cost = response
            .usage
            .and_then(|u| crate::pricing::cost(&response.model, &u));
        Ok(response)
    }
}
