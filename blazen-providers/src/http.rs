//! Shared HTTP plumbing for every provider: one pooled client, auth headers with the key kept
//! out of `Debug`, timing, error mapping and SSE responses as streams.
//!
//! Native providers reuse these helpers so that every provider sends, times and fails the same
//! way.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Response};

use crate::error::{BlazenError, Result, SecretString};
use crate::sse::{BoxedError, SseEvent, SseEventRef, SseStream};

/// Largest response body read into memory for a non-streaming answer (64 MiB).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// How long a connection may stay silent before a read fails (instead of hanging forever).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

fn build_client(read_timeout: Option<Duration>) -> Client {
    let mut builder = Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .user_agent(concat!("blazen-providers/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = read_timeout {
        builder = builder.read_timeout(t);
    }
    // Building only fails when the TLS backend cannot initialise; fall back to the default
    // client rather than panicking.
    builder.build().unwrap_or_default()
}

/// A model's HTTP clients: pooled keep-alive connections shared by the model and its clones,
/// rustls, HTTP/2 when the server offers it, and an idle-read limit ([`IDLE_TIMEOUT`]) so a
/// silent connection fails instead of hanging.
///
/// Each model owns its pool rather than sharing one per process: a pooled connection belongs
/// to the tokio runtime that opened it, and a process-wide pool hands connections of a dropped
/// runtime to the next one ("runtime dropped the dispatch task").
///
/// Dereferences to the plain [`Client`]; SSE requests go through [`HttpClient::streaming`].
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    plain: Client,
    streaming: Arc<OnceLock<Client>>,
}

impl HttpClient {
    /// The client for SSE streams, built on first use: the same, without reqwest's per-read
    /// timer (it re-arms a timer on every network read, measurable on streams of many small
    /// events); [`sse_events`] applies the same idle limit with a lazily re-armed deadline.
    pub(crate) fn streaming(&self) -> Client {
        self.streaming.get_or_init(|| build_client(None)).clone()
    }
}

impl std::ops::Deref for HttpClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.plain
    }
}

/// New clients for one model (see [`HttpClient`]).
pub(crate) fn shared_client() -> HttpClient {
    HttpClient {
        plain: build_client(Some(IDLE_TIMEOUT)),
        streaming: Arc::new(OnceLock::new()),
    }
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
    /// No credentials: a server without auth (`openai_compatible` with an empty key).
    None,
}

impl Auth {
    /// Removes the key this auth sends from an error's message and body.
    pub(crate) fn scrub(&self, err: BlazenError) -> BlazenError {
        match self {
            Auth::Bearer(key) | Auth::Header(_, key) => err.redact_secret(key),
            Auth::None => err,
        }
    }

    /// Adds the auth header, marked sensitive so it never appears in reqwest's own `Debug`.
    ///
    /// Fails fast, before anything is sent, when a provider that needs a key was given an
    /// empty one (it would only come back as a 401); [`Auth::None`] adds nothing.
    pub(crate) fn apply(&self, builder: RequestBuilder, provider: &str) -> Result<RequestBuilder> {
        Ok(match self {
            Auth::Bearer(key) | Auth::Header(_, key) if key.is_empty() => {
                return Err(BlazenError::auth(
                    provider,
                    format!(
                        "no API key: the key given to `{provider}` is empty (a server without \
                         auth is reached with `openai_compatible(base_url, \"\")`)"
                    ),
                ))
            }
            Auth::Bearer(key) => {
                match HeaderValue::from_str(&format!("Bearer {}", key.expose_secret())) {
                    Ok(mut v) => {
                        v.set_sensitive(true);
                        builder.header(AUTHORIZATION, v)
                    }
                    Err(_) => builder,
                }
            }
            Auth::Header(name, key) => {
                match (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(key.expose_secret()),
                ) {
                    (Ok(n), Ok(mut v)) => {
                        v.set_sensitive(true);
                        builder.header(n, v)
                    }
                    _ => builder,
                }
            }
            Auth::None => builder,
        })
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
pub(crate) async fn post_json(
    client: &HttpClient,
    provider: &str,
    url: &str,
    auth: &Auth,
    extra_headers: &[(&'static str, String)],
    body: Vec<u8>,
    accept_sse: bool,
) -> Result<Response> {
    // Event streams go through the streaming client, whose idle limit `sse_events` enforces.
    let client = if accept_sse {
        client.streaming()
    } else {
        Client::clone(client)
    };
    let mut builder = client
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if accept_sse {
        builder = builder.header(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
    }
    for (name, value) in extra_headers {
        builder = builder.header(*name, value.as_str());
    }
    builder = auth.apply(builder, provider)?.body(body);
    send(provider, builder).await.map_err(|e| auth.scrub(e))
}

/// Sends a prepared request and maps transport failures and error statuses to [`BlazenError`].
pub(crate) async fn send(provider: &str, builder: RequestBuilder) -> Result<Response> {
    let started = Instant::now();
    let response = builder
        .send()
        .await
        .map_err(|e| transport_error(provider, e, started))?;
    check_status(provider, response).await
}

/// A transport failure; a timeout says how long it waited ("timed out after Nms").
fn transport_error(provider: &str, err: reqwest::Error, started: Instant) -> BlazenError {
    BlazenError::from_reqwest(provider, err).with_elapsed(started.elapsed())
}

/// Passes a successful response through; turns an error status into a [`BlazenError`] built from
/// the status, headers and (capped) body.
pub(crate) async fn check_status(provider: &str, response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = read_capped(provider, response, crate::error::RAW_BODY_LIMIT)
        .await
        .unwrap_or_default();
    Err(BlazenError::from_response(
        provider,
        status.as_u16(),
        &headers,
        &body,
    ))
}

/// Reads a whole body, refusing more than `limit` bytes.
pub(crate) async fn read_capped(provider: &str, response: Response, limit: usize) -> Result<Bytes> {
    let mut stream = response.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| BlazenError::from_reqwest(provider, e))?;
        let room = limit.saturating_sub(buf.len());
        if piece.len() > room {
            buf.extend_from_slice(&piece[..room]);
            break;
        }
        buf.extend_from_slice(&piece);
    }
    Ok(Bytes::from(buf))
}

/// Reads a successful response's whole body (up to [`MAX_BODY_BYTES`]).
pub(crate) async fn read_body(provider: &str, response: Response) -> Result<Bytes> {
    let started = Instant::now();
    let body = response
        .bytes()
        .await
        .map_err(|e| transport_error(provider, e, started))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(BlazenError::invalid_response(
            provider,
            format!("response body of {} bytes exceeds the limit", body.len()),
            &body[..crate::error::RAW_BODY_LIMIT.min(body.len())],
        ));
    }
    Ok(body)
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
        let (provider, id) = (&self.provider, self.request_id.as_deref());
        let inner = self.events.poll_event(cx).map(|item| {
            item.map(|r| r.map_err(|e| Box::new(e.with_provider(provider).or_request_id(id))))
        });
        self.idle.guard(inner, cx)
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_transport_timeout_says_how_long_it_waited() {
        // A server that accepts the connection and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
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
