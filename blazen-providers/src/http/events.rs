//! A response body as Server-Sent Events, with the provider name on errors and an idle limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use reqwest::Response;

use super::IDLE_TIMEOUT;
use crate::error::{request_id_from, BlazenError, Result};
use crate::sse::{BoxedError, SseEvent, SseEventRef, SseStream};

/// A successful response's body decoded as Server-Sent Events; errors carry the provider name,
/// and no event for [`IDLE_TIMEOUT`] is a [`BlazenError::Timeout`].
pub(crate) fn sse_events(
    provider: &str,
    response: Response,
) -> SseEvents<impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static> {
    let request_id = request_id_from(response.headers());
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
