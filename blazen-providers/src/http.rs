//! Shared HTTP plumbing for every provider: one pooled client, auth headers with the key kept
//! out of `Debug`, timing, error mapping and SSE responses as streams.
//!
//! Native providers reuse these helpers so that every provider sends, times and fails the same
//! way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{FutureExt, Stream};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Response};

use crate::error::{BlazenError, Result, SecretString};
use crate::sse::{BoxedError, SseEvent, SseEventRef, SseStream};

/// Largest response body read into memory for a non-streaming answer (64 MiB).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

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

/// A new client for one model (see [`HttpClient`]).
pub(crate) fn shared_client() -> HttpClient {
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
    /// Removes the key this auth sends from an error's message and body.
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
    /// Removes the key from an error this endpoint's requests produce.
    auth: Auth,
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
            auth: auth.clone(),
        })
    }

    /// The request to send: this endpoint's URL and headers, and `body`.
    fn request(&self, body: Vec<u8>, accept_sse: bool) -> reqwest::Request {
        let mut request = reqwest::Request::new(reqwest::Method::POST, self.url.clone());
        let headers = request.headers_mut();
        *headers = self.headers.clone();
        if accept_sse {
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
/// What every provider's answer gets the same way: the measured total time (kept beside any
/// queue/execution times the provider reported) and the cost from the pricing table, unless
/// the provider reported one.
pub(crate) fn finish_response(
    mut out: crate::CompletionResponse,
    started: Instant,
) -> crate::CompletionResponse {
    let timing = out.timing.get_or_insert_with(crate::RequestTiming::default);
    timing.total_ms = Some(elapsed_ms(started));
    if out.cost.is_none() {
        out.cost = out.usage.and_then(|u| crate::pricing::cost(&out.model, &u));
    }
    out
}

pub(crate) fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The request id a provider sent back, under any of the usual header names.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    crate::error::request_id_from(headers)
}

/// Sends a JSON POST with auth and returns the response when its status is a success; otherwise
/// reads the error body and maps it to a [`BlazenError`].
///
/// Prepares the [`Endpoint`] for this one request; a provider that keeps its endpoint calls
/// [`post_to`].
pub(crate) async fn post_json(
    client: &HttpClient,
    provider: &str,
    url: &str,
    auth: &Auth,
    extra_headers: &[(&'static str, String)],
    body: Vec<u8>,
    accept_sse: bool,
) -> Result<Response> {
    let endpoint = Endpoint::new(provider, url, auth, extra_headers)?;
    post_to(client, provider, &endpoint, body, accept_sse).await
}

/// Sends a JSON POST to a prepared [`Endpoint`] (see [`post_json`]).
pub(crate) fn post_to<'a>(
    client: &HttpClient,
    provider: &'a str,
    endpoint: &'a Endpoint,
    body: Vec<u8>,
    accept_sse: bool,
) -> impl Future<Output = Result<Response>> + 'a {
    let sent = client.execute(endpoint.request(body, accept_sse));
    send_with(provider, sent).map(|r| r.map_err(|e| endpoint.auth.scrub(e)))
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
/// Like [`read_limited`], the future itself rather than an `async fn` (no second copy of
/// `sent`), and the error path boxed: reading an error body would otherwise make every
/// request's future larger, success or not.
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

/// Reads a whole body, keeping at most `limit` bytes (the rest is not read).
pub(crate) fn read_capped(
    provider: &str,
    response: Response,
    limit: usize,
) -> impl Future<Output = Result<Bytes>> + '_ {
    read_limited(provider, response, limit, Over::Truncate)
}

/// Reads a successful response's whole body (up to [`MAX_BODY_BYTES`]).
pub(crate) fn read_body(
    provider: &str,
    response: Response,
) -> impl Future<Output = Result<Bytes>> + '_ {
    read_limited(provider, response, MAX_BODY_BYTES, Over::Fail)
}

/// What [`read_limited`] does with a body over its limit.
#[derive(Clone, Copy)]
enum Over {
    /// Keeps the first `limit` bytes.
    Truncate,
    /// Fails: a successful answer cut short would be a wrong answer.
    Fail,
}

/// Reads a body up to `limit` bytes, each read bounded by [`IDLE_TIMEOUT`].
///
/// A function returning an `async move` block rather than an `async fn`, and `read_body` and
/// `read_capped` are this future itself: an `async fn` keeps both its argument and the local it
/// moves into, and each layer would add another copy of the response to every request's future.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store `response` twice"
)]
fn read_limited(
    provider: &str,
    mut response: Response,
    limit: usize,
    over: Over,
) -> impl Future<Output = Result<Bytes>> + '_ {
    async move {
        let mut body = BodyBuf::default();
        // One await point, so that the future holds one read's state, not one per call site.
        // (A read error is never one of reqwest's timeouts: the client sets none for bodies.)
        while let Some(mut piece) = idle_limited(provider, response.chunk())
            .await?
            .map_err(|e| BlazenError::from_reqwest(provider, e))?
        {
            let room = limit - body.len();
            if piece.len() <= room {
                body.push(piece);
                continue;
            }
            piece.truncate(room);
            body.push(piece);
            let body = body.into_bytes();
            return match over {
                Over::Truncate => Ok(body),
                Over::Fail => Err(BlazenError::invalid_response(
                    provider,
                    format!("the response body exceeds the limit of {limit} bytes"),
                    &body[..crate::error::RAW_BODY_LIMIT.min(body.len())],
                )),
            };
        }
        Ok(body.into_bytes())
    }
}

/// A body read piece by piece: the first piece is kept as it came, so a body of one piece (the
/// usual small answer) is never copied; later pieces are joined.
#[derive(Default)]
struct BodyBuf {
    first: Bytes,
    joined: Vec<u8>,
}

impl BodyBuf {
    fn len(&self) -> usize {
        self.first.len() + self.joined.len()
    }

    fn push(&mut self, piece: Bytes) {
        if self.len() == 0 {
            self.first = piece;
            return;
        }
        if self.joined.is_empty() {
            self.joined.reserve(self.first.len() + piece.len());
            self.joined
                .extend_from_slice(&std::mem::take(&mut self.first));
        }
        self.joined.extend_from_slice(&piece);
    }

    fn into_bytes(self) -> Bytes {
        if self.joined.is_empty() {
            self.first
        } else {
            Bytes::from(self.joined)
        }
    }
}

/// A successful response's body decoded as Server-Sent Events; errors carry the provider name,
/// and no event for [`IDLE_TIMEOUT`] is a [`BlazenError::Timeout`].
pub(crate) fn sse_events(
    provider: &str,
    response: Response,
) -> SseEvents<impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static> {
    let request_id = request_id(response.headers());
    let mut events = SseEvents::new(provider, response.bytes_stream(), IDLE_TIMEOUT);
    events.request_id = request_id.map(Arc::from);
    events
}

/// The events of an SSE body, with the provider name on errors and an idle limit, in one layer.
///
/// A `Stream` of owned [`SseEvent`]s; a consumer that only looks at each event once reads them
/// borrowed instead ([`poll_event`](Self::poll_event), then [`current`](Self::current)): no
/// allocation, copy or reference count per event.
pub(crate) struct SseEvents<B> {
    events: SseStream<B>,
    idle: IdleTimer,
    provider: Arc<str>,
    /// The response's request id, put on errors that do not carry one.
    request_id: Option<Arc<str>>,
}

impl<B> SseEvents<B>
where
    B: Stream<Item = reqwest::Result<Bytes>>,
{
    /// The events of `body`; no event for `limit` is a [`BlazenError::Timeout`].
    pub(crate) fn new(provider: &str, body: B, limit: Duration) -> Self {
        SseEvents {
            events: crate::sse::sse_events(body),
            idle: IdleTimer::new(limit),
            provider: Arc::from(provider),
            request_id: None,
        }
    }

    /// The request id of the response (from its headers), if it had one.
    pub(crate) fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Reads until the next event: `Ready(Some(Ok(())))` when there is one, to read with
    /// [`current`](Self::current) before polling again; `Ready(None)` at the end; an error
    /// (read, decoding, idle limit) ends the stream.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<(), BoxedError>>> {
        if self.idle.done {
            return Poll::Ready(None);
        }
        let inner = self.events.poll_event(cx);
        // Read, decoding and idle-limit errors alike carry the provider and the request id.
        let (provider, id) = (&self.provider, self.request_id.as_deref());
        self.idle.guard(inner, cx).map(|item| {
            item.map(|r| r.map_err(|e| Box::new(e.with_provider(provider).or_request_id(id))))
        })
    }

    /// The event found by the last [`poll_event`](Self::poll_event), borrowed.
    pub(crate) fn current(&self) -> Option<SseEventRef<'_>> {
        self.events.current()
    }
}

impl<B> Stream for SseEvents<B>
where
    B: Stream<Item = reqwest::Result<Bytes>>,
{
    type Item = Result<SseEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.poll_event(cx).map(|item| match item? {
            Ok(()) => this.events.take_current().map(Ok),
            Err(err) => Some(Err(*err)),
        })
    }
}

impl<B> std::fmt::Debug for SseEvents<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseEvents")
            .field("provider", &self.provider)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// Fails a stream that yields nothing for `limit`.
///
/// Items only set a flag (no clock read per item); when the timer fires, a stream that yielded
/// since the last check gets a new deadline, a silent one fails. So a stream silent from the
/// start fails after `limit`, one that goes silent later after between `limit` and `2 × limit`.
#[derive(Debug)]
struct IdleTimer {
    sleep: Pin<Box<tokio::time::Sleep>>,
    active: bool,
    limit: Duration,
    /// The guarded stream is over (it ended, or timed out).
    done: bool,
}

impl IdleTimer {
    fn new(limit: Duration) -> Self {
        IdleTimer {
            sleep: Box::pin(tokio::time::sleep(limit)),
            active: false,
            limit,
            done: false,
        }
    }

    /// What the guarded stream yields, given what its inner stream gave: the item, or (when
    /// the inner stream is pending) a timeout error once it has been silent too long.
    fn guard(
        &mut self,
        inner: Poll<Option<std::result::Result<(), BoxedError>>>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<(), BoxedError>>> {
        if let Poll::Ready(item) = inner {
            self.active = true;
            if item.is_none() {
                self.done = true;
            }
            return Poll::Ready(item);
        }
        // The timer is polled on every `Pending`, so that it always holds the current task's
        // waker. (Skipping the poll while the waker looks the same was tried: `will_wake`
        // compares vtable addresses, which differ between a waker and its clone here, so it
        // saved nothing.)
        loop {
            match self.sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if self.active => {
                    self.active = false;
                    let next = tokio::time::Instant::now() + self.limit;
                    self.sleep.as_mut().reset(next);
                }
                Poll::Ready(()) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(Box::new(BlazenError::timeout(self.limit)))));
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use futures::StreamExt;

    /// A local server that accepts connections and never answers (they stay open).
    pub(crate) async fn silent_server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
        addr
    }

    #[test]
    fn a_json_body_is_exactly_sized_and_the_scratch_buffer_is_reused_or_dropped() {
        let small = json_body(&serde_json::json!({"model": "m"})).unwrap();
        assert_eq!(small, br#"{"model":"m"}"#);
        assert_eq!(small.capacity(), small.len());
        // A huge body is written whole, and the scratch buffer it grew is not kept.
        let huge = "x".repeat(3 << 20);
        let body = json_body(&huge).unwrap();
        assert_eq!(body.len(), huge.len() + 2);
        assert_eq!(body.capacity(), body.len());
        let again = json_body(&[1, 2]).unwrap();
        assert_eq!(again, b"[1,2]");
        // What JSON cannot carry is a validation error, not a panic.
        let mut bad = std::collections::BTreeMap::new();
        bad.insert(vec![1u8], 1);
        let err = json_body(&bad).unwrap_err();
        assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
        assert!(
            err.to_string().contains("cannot encode the request"),
            "{err}"
        );
    }

    /// A response whose body comes in `pieces`, each in its own chunk and write.
    async fn chunked_response(pieces: &'static [&'static [u8]]) -> Response {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            conn.write_all(head.as_bytes()).await.unwrap();
            for p in pieces {
                let mut frame = format!("{:x}\r\n", p.len()).into_bytes();
                frame.extend_from_slice(p);
                frame.extend_from_slice(b"\r\n");
                conn.write_all(&frame).await.unwrap();
                conn.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
            conn.write_all(b"0\r\n\r\n").await.unwrap();
        });
        shared_client()
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_body_in_pieces_is_joined_and_a_limit_keeps_or_refuses_what_is_over() {
        const PIECES: &[&[u8]] = &[b"hello ", b"big ", b"world"];
        let whole = read_body("p", chunked_response(PIECES).await)
            .await
            .unwrap();
        assert_eq!(&whole[..], b"hello big world");
        // Capped (an error body): the first bytes, the rest not read.
        let capped = read_capped("p", chunked_response(PIECES).await, 8)
            .await
            .unwrap();
        assert_eq!(&capped[..], b"hello bi");
        let capped = read_capped("p", chunked_response(PIECES).await, 3)
            .await
            .unwrap();
        assert_eq!(&capped[..], b"hel");
        // Over the limit of a successful answer: an error keeping the start of the body.
        let err = read_limited("p", chunked_response(PIECES).await, 10, Over::Fail)
            .await
            .unwrap_err();
        assert!(
            matches!(err, BlazenError::InvalidResponse { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("exceeds the limit of 10 bytes"),
            "{err}"
        );
        assert_eq!(err.raw_body(), Some("hello big "));
        // Exactly at the limit is whole.
        let exact = read_limited("p", chunked_response(PIECES).await, 15, Over::Fail)
            .await
            .unwrap();
        assert_eq!(&exact[..], b"hello big world");
    }

    #[test]
    fn an_endpoint_cache_prepares_once_keeps_no_error_and_a_clone_starts_empty() {
        let cache = EndpointCache::default();
        let prepare = |url: &str| {
            let url = url.to_owned();
            move || Endpoint::new("p", &url, &Auth::None, &[])
        };
        assert!(cache.get_or_prepare(prepare("not a url")).is_err());
        let first = cache.get_or_prepare(prepare("http://a/x")).unwrap();
        assert_eq!(first.url.as_str(), "http://a/x");
        // Prepared: the next URL is not even looked at.
        let again = cache.get_or_prepare(prepare("http://b/y")).unwrap();
        assert_eq!(again.url.as_str(), "http://a/x");
        let clone = cache.clone();
        let fresh = clone.get_or_prepare(prepare("http://b/y")).unwrap();
        assert_eq!(fresh.url.as_str(), "http://b/y");
    }

    #[test]
    fn a_json_body_made_while_another_is_being_made_does_not_panic() {
        // A `Serialize` impl that encodes a body itself finds the scratch buffer busy.
        struct Nested;
        impl serde::Serialize for Nested {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                let inner = json_body(&[1, 2]).map_err(serde::ser::Error::custom)?;
                s.serialize_str(std::str::from_utf8(&inner).map_err(serde::ser::Error::custom)?)
            }
        }
        assert_eq!(json_body(&Nested).unwrap(), br#""[1,2]""#);
    }

    #[test]
    fn a_ready_future_never_creates_the_idle_timer() {
        // No timer is created, so this works even on a runtime without a time driver.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let v = rt.block_on(async { idle_limited("p", async { 7 }).await });
        assert_eq!(v.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_transport_timeout_says_how_long_it_waited() {
        let addr = silent_server().await;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let err = send("test", client.post(format!("http://{addr}/")))
            .await
            .unwrap_err();
        let BlazenError::Timeout { elapsed, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(
            elapsed.is_some_and(|e| e >= Duration::from_millis(50)),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("timed out after "), "{err}");
        assert!(err.is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_stream_times_out_after_the_idle_limit() {
        let start = tokio::time::Instant::now();
        let silent = futures::stream::pending::<reqwest::Result<Bytes>>();
        let mut guarded = SseEvents::new("test", silent, Duration::from_secs(5));
        let err = guarded.next().await.unwrap().unwrap_err();
        assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(guarded.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_keeps_sending_is_not_cut() {
        // One event every 3 s for 30 s under a 5 s idle limit.
        let ticks = futures::stream::unfold(0u8, |n| async move {
            if n == 10 {
                return None;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let event = Bytes::from(format!("data: {n}\n\n"));
            Some((Ok::<Bytes, reqwest::Error>(event), n + 1))
        });
        let got: Vec<_> = SseEvents::new("test", ticks, Duration::from_secs(5))
            .collect()
            .await;
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(std::result::Result::is_ok));
        assert_eq!(&*got[9].as_ref().unwrap().data, "9");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_goes_silent_later_times_out() {
        let body = futures::stream::iter([Ok::<Bytes, reqwest::Error>(Bytes::from_static(
            b"data: a\n\n",
        ))])
        .chain(futures::stream::pending());
        let start = tokio::time::Instant::now();
        let mut events = SseEvents::new("test", body, Duration::from_secs(5));
        assert_eq!(&*events.next().await.unwrap().unwrap().data, "a");
        let err = events.next().await.unwrap().unwrap_err();
        assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
        // Between the limit and twice the limit after the last event.
        assert!(
            start.elapsed() > Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert!(
            start.elapsed() <= Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert!(events.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_polled_from_another_task_still_times_out() {
        // The timer was armed with another waker first: it must be armed again with this
        // task's, or the timeout would wake nobody.
        let silent = futures::stream::pending::<reqwest::Result<Bytes>>();
        let mut events = SseEvents::new("test", silent, Duration::from_secs(5));
        let other = futures::task::noop_waker();
        assert!(events
            .poll_event(&mut Context::from_waker(&other))
            .is_pending());
        let start = tokio::time::Instant::now();
        let got = tokio::time::timeout(Duration::from_secs(60), events.next()).await;
        let err = got.expect("the idle timeout fired").unwrap().unwrap_err();
        assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn decoding_errors_carry_the_provider_name() {
        let big = format!("data: {}\n\n", "z".repeat(crate::sse::DEFAULT_MAX_SIZE + 1));
        let body = futures::stream::iter([Ok::<Bytes, reqwest::Error>(Bytes::from(big))]);
        let mut events = SseEvents::new("acme", body, IDLE_TIMEOUT);
        let err = events.next().await.unwrap().unwrap_err();
        assert!(
            matches!(err, BlazenError::InvalidResponse { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("acme"), "{err}");
        assert!(events.next().await.is_none());
    }
}
