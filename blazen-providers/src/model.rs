//! [`CompletionModel`]: one handle over every provider, and the [`Provider`] trait behind it.

use std::fmt;
use std::future::Future;
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
    /// Wraps any [`Provider`]; its calls get the OpenTelemetry GenAI `chat {model}` span of the
    /// built-in providers ([`telemetry`](crate::telemetry)).
    pub fn from_provider(provider: impl Provider + 'static) -> Self {
        CompletionModel {
            inner: Arc::new(crate::telemetry::Traced::new(Arc::new(provider))),
        }
    }

    /// Wraps a shared [`Provider`] as it is (no span is added: use it for a middleware over
    /// models that have theirs, or add your own).
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

    /// Checks `request` before it is sent ([`CompletionRequest::validate`]); the error names
    /// this model's provider.
    fn check(&self, request: &CompletionRequest) -> Result<()> {
        request
            .validate()
            .map_err(|e| e.with_provider(self.provider_name()))
    }

    /// Completes a conversation with the default options.
    ///
    /// The request is validated first ([`CompletionRequest::validate`]: an empty conversation
    /// is an error before anything is sent).
    pub async fn complete(&self, messages: &[ChatMessage]) -> Result<CompletionResponse> {
        self.complete_with(CompletionRequest::new(messages.to_vec()))
            .await
    }

    /// Completes a request with options (temperature, tools, response format, ...).
    ///
    /// The request is validated first ([`CompletionRequest::validate`]): a negative or
    /// non-finite temperature, `top_p` outside `[0, 1]`, `max_tokens == 0` or no messages is a
    /// [`BlazenError::Validation`](crate::BlazenError::Validation) and nothing is sent.
    ///
    /// ```
    /// use blazen_providers::{BlazenError, ChatMessage, CompletionModel, CompletionRequest};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let model = CompletionModel::openai("key").with_base_url("http://127.0.0.1:9");
    /// let req = CompletionRequest::new(vec![ChatMessage::user("Hi")]).temperature(-1.0);
    /// let err = model.complete_with(req).await.unwrap_err();
    /// assert!(matches!(err, BlazenError::Validation { .. }));
    /// assert!(err.to_string().starts_with("invalid input: temperature must be >= 0"));
    /// # }
    /// ```
    pub async fn complete_with(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        self.check(&request)?;
        self.inner.complete(request).await
    }

    /// Streams the completion of a conversation (validated first, like
    /// [`complete_with`](Self::complete_with)).
    pub async fn stream(&self, messages: &[ChatMessage]) -> Result<ChunkStream> {
        self.stream_request(CompletionRequest::new(messages.to_vec()))
            .await
    }

    /// Streams the completion of a request with options (validated first, like
    /// [`complete_with`](Self::complete_with)).
    pub async fn stream_request(&self, request: CompletionRequest) -> Result<ChunkStream> {
        self.check(&request)?;
        self.inner.stream(request).await
    }

    /// Streams a completion, calling `on_chunk` for each chunk (the seed's callback form), and
    /// returns the whole answer assembled from the chunks.
    ///
    /// For a callback that must await (a bounded channel, a socket), use
    /// [`stream_with_async`](Self::stream_with_async).
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
        self.stream_request_with_async(request, move |chunk| {
            on_chunk(chunk);
            std::future::ready(())
        })
        .await
    }

    /// [`stream_with`](Self::stream_with) with an async callback (the seed's
    /// `async def on_chunk(chunk)`): each call's future is awaited before the next chunk is
    /// read, so the callback can apply backpressure (a bounded channel, a slow socket) and
    /// sees the chunks one at a time, in order.
    ///
    /// Returns the whole answer assembled from the chunks, as `stream_with` does. The first
    /// stream error ends the call with that error (the chunks before it were delivered).
    ///
    /// ```
    /// use blazen_providers::{ChatMessage, CompletionModel, StreamChunk};
    /// use tokio::sync::mpsc;
    ///
    /// # async fn run(model: CompletionModel) -> blazen_providers::Result<()> {
    /// let (tx, mut rx) = mpsc::channel::<String>(1); // capacity 1: the stream waits for us
    /// let printer = tokio::spawn(async move {
    ///     while let Some(text) = rx.recv().await { print!("{text}"); }
    /// });
    /// let response = model
    ///     .stream_with_async(&[ChatMessage::user("Tell me a story")], |chunk: StreamChunk| {
    ///         let tx = tx.clone();
    ///         async move {
    ///             if let Some(text) = chunk.delta {
    ///                 let _ = tx.send(text).await; // awaited: backpressure
    ///             }
    ///         }
    ///     })
    ///     .await?;
    /// drop(tx);
    /// let _ = printer.await;
    /// println!("\n{:?} tokens", response.usage);
    /// # Ok(()) }
    /// ```
    pub async fn stream_with_async<F, Fut>(
        &self,
        messages: &[ChatMessage],
        on_chunk: F,
    ) -> Result<CompletionResponse>
    where
        F: FnMut(StreamChunk) -> Fut + Send,
        Fut: Future<Output = ()> + Send,
    {
        self.stream_request_with_async(CompletionRequest::new(messages.to_vec()), on_chunk)
            .await
    }

    /// [`stream_with_async`](Self::stream_with_async) for a request with options.
    pub async fn stream_request_with_async<F, Fut>(
        &self,
        request: CompletionRequest,
        mut on_chunk: F,
    ) -> Result<CompletionResponse>
    where
        F: FnMut(StreamChunk) -> Fut + Send,
        Fut: Future<Output = ()> + Send,
    {
        let started = std::time::Instant::now();
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| self.model_id().to_owned());
        let mut stream = self.stream_request(request).await?;
        let mut acc = StreamAccumulator::default();
        acc.response.model = model;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            acc.push(&chunk);
            on_chunk(chunk).await;
        }
        // The accumulator sets no timing: the response gets the measured total alone.
        Ok(crate::pricing::finish_response(acc.response, started))
    }
}
