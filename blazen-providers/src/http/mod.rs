//! Shared HTTP plumbing for every provider: one pooled client per model, auth headers with the
//! key kept out of `Debug`, prepared endpoints, sending with error mapping (here), reading bodies
//! ([`body`]) and SSE responses as streams with an idle limit ([`events`]).
//!
//! Native providers reuse these helpers so that every provider sends, times and fails the same
//! way.

mod body;
mod events;
#[cfg(test)]
pub(crate) mod tests;

use std::future::Future;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Response};

use crate::error::{BlazenError, Result, SecretString};
use crate::model::ChunkStream;

pub(crate) use body::{read_body, read_capped};
pub(crate) use events::{sse_events, SseEvents};

/// How long a connection may stay silent before a read fails (instead of hanging forever):
/// waiting for the response headers, for each read of a body, for each event of a stream.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A model's HTTP client: pooled keep-alive connections shared by the model and its clones,
/// rustls, HTTP/2 when the server offers it.
///
/// It sets no reqwest timeout: every wait on the network is bounded here instead, by
/// [`IDLE_TIMEOUT`] — the response headers ([`send`], [`post_to`]), each body read
/// ([`read_body`], [`read_capped`]), each stream event ([`sse_events`], [`idle_limited`]). Those
/// timers are armed only when the data is not there yet; reqwest's `read_timeout` boxes and
/// arms two timers for every request and re-arms one on every read.
///
/// Each model owns its pool rather than sharing one per process: a pooled connection belongs
/// to the tokio runtime that opened it, and a process-wide pool hands connections of a dropped
/// runtime to the next one ("runtime dropped the dispatch task").
#[derive(Debug, Clone)]
pub(crate) struct HttpClient(Client);

impl std::ops::Deref for HttpClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0
    }
}

impl HttpClient {
    /// A new client for one model, with its own connection pool (see [`HttpClient`]).
    pub(crate) fn new() -> HttpClient {
        let builder = Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .user_agent(USER_AGENT);
        // Building only fails when the TLS backend cannot initialise; fall back to the default
        // client rather than panicking.
        HttpClient(builder.build().unwrap_or_default())
    }
}

const USER_AGENT: &str = concat!("blazen-providers/", env!("CARGO_PKG_VERSION"));

/// `fut`, unless it stays pending for [`IDLE_TIMEOUT`]: then a [`BlazenError::Timeout`].
///
/// A future that is ready when first polled (a body already read with the headers) never
/// creates the timer.
pub(crate) async fn idle_limited<T>(provider: &str, fut: impl Future<Output = T>) -> Result<T> {
    let mut fut = std::pin::pin!(fut);
    if let Poll::Ready(v) = futures::poll!(fut.as_mut()) {
        return Ok(v);
    }
    tokio::time::timeout(IDLE_TIMEOUT, fut)
        .await
        .map_err(|_| BlazenError::timeout(IDLE_TIMEOUT).with_provider(provider))
}

/// A request body as JSON, in a buffer of exactly its size: it becomes the request's `Bytes`
/// without another allocation. Serialized into a reused per-thread buffer first, so that a body
/// costs one allocation however large, instead of a doubling series and a final shrink.
pub(crate) fn json_body<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    /// A buffer that grew past this for one huge body is not kept.
    const KEEP: usize = 1 << 20;
    let encoded = SCRATCH
        .try_with(|scratch| {
            // Busy only if a `Serialize` impl sent a request itself; then do without.
            let mut buf = scratch.try_borrow_mut().ok()?;
            buf.clear();
            let written = serde_json::to_writer(&mut *buf, value);
            let body = buf.as_slice().to_vec();
            if buf.capacity() > KEEP {
                *buf = Vec::new();
            }
            Some(written.map(|()| body))
        })
        .ok()
        .flatten()
        // The thread is shutting down (its scratch buffer is gone), or the buffer is busy.
        .unwrap_or_else(|| serde_json::to_vec(value));
    encoded.map_err(|e| BlazenError::validation(format!("cannot encode the request: {e}")))
}

/// An API key; its `Debug` prints `[REDACTED]`.
pub(crate) type ApiKey = SecretString;

/// How a provider authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer(ApiKey),
    /// A custom header carrying the key (`api-key` for Azure, `x-api-key` for Anthropic, ...).
    Header(&'static str, ApiKey),
    /// `Authorization: Key <key>` (fal). The bare key is what gets scrubbed: a server may echo
    /// it without the scheme.
    KeyScheme(ApiKey),
    /// No credentials: a server without auth (`openai_compatible` with an empty key).
    None,
}

impl Auth {
    /// Removes the key this auth sends from an error's message, body and details.
    ///
    /// The one scrubbing point of every client: each provider's `complete` and `stream` (every
    /// item), each embeddings batch and each compute job leave through it, whatever path
    /// (error status, unreadable answer, mid-stream error frame) made the error.
    pub(crate) fn scrub(&self, err: BlazenError) -> BlazenError {
        match self {
            Auth::Bearer(key) | Auth::Header(_, key) => err.redact_secret(key),
            // A fal key is `<key id>:<key secret>`: the secret half alone is a secret too.
            Auth::KeyScheme(key) => {
                let err = err.redact_secret(key);
                match key.expose_secret().split_once(':') {
                    Some((_, secret)) if secret.len() >= 8 => {
                        err.redact_secret(&SecretString::from(secret))
                    }
                    _ => err,
                }
            }
            Auth::None => err,
        }
    }

    /// [`scrub`](Self::scrub) on the error of a result.
    pub(crate) fn scrub_result<T>(&self, result: Result<T>) -> Result<T> {
        result.map_err(|e| self.scrub(e))
    }

    /// [`scrub`](Self::scrub) on a stream call: its own error, and each error item of the
    /// stream it returns (mid-stream error frames, decode errors keeping the raw frame).
    pub(crate) fn scrub_stream(&self, result: Result<ChunkStream>) -> Result<ChunkStream> {
        let stream = self.scrub_result(result)?;
        if matches!(self, Auth::None) {
            return Ok(stream);
        }
        let auth = self.clone();
        Ok(Box::pin(stream.map(move |item| auth.scrub_result(item))))
    }

    /// Adds the auth header ([`header`](Self::header)) to a request being built.
    pub(crate) fn apply(&self, builder: RequestBuilder, provider: &str) -> Result<RequestBuilder> {
        Ok(match self.header(provider)? {
            Some((name, value)) => builder.header(name, value),
            None => builder,
        })
    }

    /// The auth header, marked sensitive so it never appears in reqwest's own `Debug`; `None`
    /// for [`Auth::None`].
    ///
    /// Fails fast, before anything is sent, when a provider that needs a key was given an
    /// empty one (it would only come back as a 401), or a key that cannot be a header value
    /// (a line break pasted with it).
    fn header(&self, provider: &str) -> Result<Option<(HeaderName, HeaderValue)>> {
        let (name, value) = match self {
            Auth::Bearer(key) | Auth::Header(_, key) | Auth::KeyScheme(key) if key.is_empty() => {
                return Err(BlazenError::auth(
                    provider,
                    format!(
                        "no API key: the key given to `{provider}` is empty (a server without \
                         auth is reached with `openai_compatible(base_url, \"\")`)"
                    ),
                ))
            }
            Auth::Bearer(key) => (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", key.expose_secret())),
            ),
            Auth::Header(name, key) => (
                header_name(provider, name)?,
                HeaderValue::from_str(key.expose_secret()),
            ),
            Auth::KeyScheme(key) => (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Key {}", key.expose_secret())),
            ),
            Auth::None => return Ok(None),
        };
        match value {
            Ok(mut v) => {
                v.set_sensitive(true);
                Ok(Some((name, v)))
            }
            Err(_) => Err(BlazenError::auth(
                provider,
                format!(
                    "the API key given to `{provider}` holds characters a header cannot carry \
                     (a line break or a control character)"
                ),
            )),
        }
    }
}

/// A header name of ours, checked rather than trusted (`HeaderName::from_static` would panic).
fn header_name(provider: &str, name: &str) -> Result<HeaderName> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        BlazenError::validation(format!("`{name}` is not a valid header name"))
            .with_provider(provider)
    })
}

/// Where a provider POSTs JSON, prepared once: the parsed URL and the headers every request
/// carries (JSON content type and accept, user agent, the credentials marked sensitive, any
/// extra header).
///
/// A provider that sends many requests to one URL keeps its `Endpoint` and pays per request
/// only for the body: no URL parse, no credential formatting, no header validation.
#[derive(Clone)]
pub(crate) struct Endpoint {
    url: reqwest::Url,
    headers: HeaderMap,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The headers hold the key (marked sensitive, but say nothing of them at all).
        f.debug_struct("Endpoint")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Parses `url` and builds the headers; an invalid URL, an empty key (where one is needed)
    /// or a header that cannot be sent is an error here, before anything is sent.
    pub(crate) fn new(
        provider: &str,
        url: &str,
        auth: &Auth,
        extra_headers: &[(&'static str, String)],
    ) -> Result<Endpoint> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            auth.scrub(BlazenError::validation(format!(
                "the URL `{url}` of `{provider}` is invalid: {e}"
            )))
            .with_provider(provider)
        })?;
        // Every header of the request is here, the client's defaults included, so that
        // reqwest adds none to the clone each request gets (which would grow it).
        let mut headers = HeaderMap::with_capacity(4 + extra_headers.len());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            reqwest::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        for (name, value) in extra_headers {
            let value = HeaderValue::from_str(value).map_err(|_| {
                BlazenError::validation(format!("the `{name}` header value is not valid"))
                    .with_provider(provider)
            })?;
            headers.insert(header_name(provider, name)?, value);
        }
        if let Some((name, value)) = auth.header(provider)? {
            headers.insert(name, value);
        }
        Ok(Endpoint {
            url: parsed,
            headers,
        })
    }

    /// The request to send: this endpoint's URL and headers, and `body`.
    fn request(&self, body: Vec<u8>, answer: Answer) -> reqwest::Request {
        let mut request = reqwest::Request::new(reqwest::Method::POST, self.url.clone());
        let headers = request.headers_mut();
        *headers = self.headers.clone();
        if answer == Answer::Sse {
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        *request.body_mut() = Some(body.into());
        request
    }
}

/// A provider's [`Endpoint`] for one URL, prepared on first use.
///
/// A clone starts empty: a provider is cloned to be re-targeted (`with_model`,
/// `with_base_url`), and the clone prepares its own endpoint from its own URL.
#[derive(Debug, Default)]
pub(crate) struct EndpointCache(std::sync::OnceLock<Endpoint>);

impl Clone for EndpointCache {
    fn clone(&self) -> Self {
        EndpointCache::default()
    }
}

impl EndpointCache {
    /// Whether nothing is prepared yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.get().is_none()
    }

    /// The endpoint, prepared with `prepare` the first time (an error is not kept: the
    /// next call prepares again).
    pub(crate) fn get_or_prepare(
        &self,
        prepare: impl FnOnce() -> Result<Endpoint>,
    ) -> Result<&Endpoint> {
        if let Some(endpoint) = self.0.get() {
            return Ok(endpoint);
        }
        let endpoint = prepare()?;
        Ok(self.0.get_or_init(|| endpoint))
    }
}

/// Milliseconds elapsed since `start`, saturating.
pub(crate) fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What a POST asks for: it decides the `Accept` header and whether a web page answered with a
/// success is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// One JSON body.
    Json,
    /// A server-sent-event stream (`Accept: text/event-stream`).
    Sse,
    /// A binary stream asked for with the JSON `Accept` (AWS's event stream, Bedrock).
    EventStream,
}

impl Answer {
    /// [`Answer::Sse`] for a stream request, else [`Answer::Json`].
    pub(crate) fn sse_if(stream: bool) -> Answer {
        if stream {
            Answer::Sse
        } else {
            Answer::Json
        }
    }
}

/// Sends a JSON POST with auth and returns the response when its status is a success; otherwise
/// reads the error body and maps it to a [`BlazenError`].
///
/// Prepares the [`Endpoint`] for this one request; a provider that keeps its endpoint calls
/// [`post_to`]. As there, the caller scrubs the key from its errors.
pub(crate) async fn post_json(
    client: &HttpClient,
    provider: &str,
    url: &str,
    auth: &Auth,
    extra_headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Result<Response> {
    let endpoint = Endpoint::new(provider, url, auth, extra_headers)?;
    post_to(client, provider, &endpoint, body, Answer::Json).await
}

/// Sends a JSON POST to a prepared [`Endpoint`] (see [`post_json`]). A stream request
/// ([`Answer::Sse`], [`Answer::EventStream`]) answered with a web page fails here, before
/// anything is decoded ([`web_page_error`]).
///
/// Its errors are not scrubbed of the key here: every caller runs inside its provider's
/// scrubbing point ([`Auth::scrub`]).
pub(crate) fn post_to<'a>(
    client: &HttpClient,
    provider: &'a str,
    endpoint: &'a Endpoint,
    body: Vec<u8>,
    answer: Answer,
) -> impl Future<Output = Result<Response>> + 'a {
    let sent = client.execute(endpoint.request(body, answer));
    send_with(provider, sent).then(move |r| match r {
        Ok(response) if answer != Answer::Json && is_web_page(&response) => {
            futures::future::Either::Left(Box::pin(web_page_error(provider, response).map(Err)))
        }
        other => futures::future::Either::Right(std::future::ready(other)),
    })
}

/// Whether a successful answer is a web page (`text/html`, `application/xhtml+xml`): a proxy's
/// login or error page answered with 200.
fn is_web_page(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.trim_start().to_ascii_lowercase())
        .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/xhtml"))
}

/// The error a web page answered to a stream request stands for: [`BlazenError::InvalidResponse`]
/// (not retryable), as `complete()` calls the same answer, rather than a stream "cut short"
/// that `with_retry` would send again and again to a proxy's login page. The content type is
/// checked before anything is decoded.
async fn web_page_error(provider: &str, response: Response) -> BlazenError {
    let status = response.status().as_u16();
    let request_id = crate::error::request_id_from(response.headers());
    let body = read_capped(provider, response, crate::error::RAW_BODY_LIMIT)
        .await
        .unwrap_or_default();
    BlazenError::invalid_response(
        provider,
        "a stream request was answered with an HTML page (likely from a proxy), not a stream",
        &body,
    )
    .with_status(status)
    .or_request_id(request_id.as_deref())
}

/// Sends a prepared request and maps transport failures and error statuses to [`BlazenError`].
pub(crate) fn send(
    provider: &str,
    builder: RequestBuilder,
) -> impl Future<Output = Result<Response>> + '_ {
    send_with(provider, builder.send())
}

/// Waits for the response (its headers) at most [`IDLE_TIMEOUT`] and checks its status.
///
/// Like [`read_limited`](body::read_limited), the future itself rather than an `async fn` (no
/// second copy of `sent`), and the error path boxed: reading an error body would otherwise make
/// every request's future larger, success or not. Measured by S3 of `benches/providers.rs`
/// (BENCHMARKS.md, S3 table: "smaller request futures").
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store `sent` twice"
)]
fn send_with<'a>(
    provider: &'a str,
    sent: impl Future<Output = reqwest::Result<Response>> + 'a,
) -> impl Future<Output = Result<Response>> + 'a {
    async move {
        let started = Instant::now();
        let response = idle_limited(provider, sent)
            .await?
            .map_err(|e| transport_error(provider, e, started))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(Box::pin(error_response(provider, response)).await)
    }
}

/// A transport failure; a timeout says how long it waited ("timed out after Nms").
fn transport_error(provider: &str, err: reqwest::Error, started: Instant) -> BlazenError {
    BlazenError::from_reqwest(provider, err).with_elapsed(started.elapsed())
}

/// The error an unsuccessful response stands for, built from its status, headers and (capped)
/// body.
async fn error_response(provider: &str, response: Response) -> BlazenError {
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_capped(provider, response, crate::error::RAW_BODY_LIMIT)
        .await
        .unwrap_or_default();
    BlazenError::from_http(provider, status.as_u16(), &headers, &body)
}
