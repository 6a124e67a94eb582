//! What the native providers (Anthropic, Gemini, Cohere, Bedrock) share: folding a provider's
//! decoded stream events (SSE events, AWS event-stream frames) into a [`ChunkStream`], sending
//! to an endpoint prepared once, reading and finishing a JSON answer, converting a user
//! message's parts, reading keys from the environment, and the `Provider` methods every native
//! provider writes alike ([`provider_basics!`], [`fold_end_from_state!`]).

use std::time::Instant;

use futures::{Stream, StreamExt};

use serde::de::DeserializeOwned;

use crate::error::{BlazenError, Result};
use crate::http::{self, Endpoint, EndpointCache, HttpClient};
use crate::model::ChunkStream;
use crate::sse::SseEvent;
use crate::types::{ChatMessage, CompletionResponse, ContentPart, StreamChunk};

/// A provider's stream state machine over events of type `E`.
pub(crate) trait EventFold<E>: Send + 'static {
    /// Handles one event; returns the chunk to emit, if any. An error ends the stream.
    fn on_event(&mut self, event: E) -> Result<Option<StreamChunk>>;

    /// Called when the event source ends. Returns a last chunk, or an error for a stream that
    /// ended before its terminal event.
    fn on_eof(&mut self) -> Result<Option<StreamChunk>>;

    /// Whether the terminal event was seen (nothing more is read after it).
    fn is_done(&self) -> bool;
}

struct State<S, F> {
    events: std::pin::Pin<Box<S>>,
    fold: F,
    finished: bool,
}

/// Drives `fold` over `events`. The stream ends after the terminal chunk, after the first error,
/// or with the result of [`EventFold::on_eof`]. Errors without a request id get `request_id`
/// (the response's, from its headers).
pub(crate) fn fold_events<E, S, F>(events: S, fold: F, request_id: Option<String>) -> ChunkStream
where
    E: Send + 'static,
    S: Stream<Item = Result<E>> + Send + 'static,
    F: EventFold<E>,
{
    let state = State {
        events: Box::pin(events),
        fold,
        finished: false,
    };
    let chunks = fold_all(state);
    match request_id {
        None => chunks,
        Some(id) => Box::pin(chunks.map(move |item| item.map_err(|e| e.or_request_id(Some(&id))))),
    }
}

fn fold_all<E, S, F>(state: State<S, F>) -> ChunkStream
where
    E: Send + 'static,
    S: Stream<Item = Result<E>> + Send + 'static,
    F: EventFold<E>,
{
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        loop {
            match st.events.next().await {
                Some(Ok(event)) => match st.fold.on_event(event) {
                    Ok(Some(chunk)) => {
                        st.finished = st.fold.is_done();
                        return Some((Ok(chunk), st));
                    }
                    Ok(None) => {
                        if st.fold.is_done() {
                            return None;
                        }
                    }
                    Err(e) => {
                        st.finished = true;
                        return Some((Err(e), st));
                    }
                },
                Some(Err(e)) => {
                    st.finished = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.finished = true;
                    return match st.fold.on_eof() {
                        Ok(Some(chunk)) => Some((Ok(chunk), st)),
                        Ok(None) => None,
                        Err(e) => Some((Err(e), st)),
                    };
                }
            }
        }
    }))
}

/// A stream state fed the data of each SSE event (Gemini, Cohere): see [`sse_stream`].
pub(crate) trait DataState: Send + 'static {
    /// Handles one event's data (never empty); returns the chunk to emit, if any.
    fn on_data(&mut self, data: &str) -> Result<Option<StreamChunk>>;

    /// The events ended; see [`EventFold::on_eof`].
    fn on_eof(&mut self) -> Result<Option<StreamChunk>>;

    /// Whether the terminal event was seen.
    fn is_done(&self) -> bool;
}

/// [`EventFold::on_eof`] and [`EventFold::is_done`] of a fold around its provider's stream
/// state (`self.0`), which answers both: only `on_event` differs from one provider to another.
macro_rules! fold_end_from_state {
    () => {
        fn on_eof(
            &mut self,
        ) -> $crate::error::Result<::std::option::Option<$crate::types::StreamChunk>> {
            self.0.on_eof()
        }

        fn is_done(&self) -> bool {
            self.0.is_done()
        }
    };
}
pub(crate) use fold_end_from_state;

/// Feeds the trimmed, non-empty data of each SSE event to a [`DataState`].
pub(crate) struct ByData<S>(pub(crate) S);

impl<S: DataState> EventFold<SseEvent> for ByData<S> {
    fn on_event(&mut self, event: SseEvent) -> Result<Option<StreamChunk>> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(None);
        }
        self.0.on_data(data)
    }

    fold_end_from_state!();
}

/// A native provider's SSE answer as chunks: `fold` over its events, errors carrying the
/// response's request id.
pub(crate) fn sse_stream<F: EventFold<SseEvent>>(
    provider: &str,
    response: reqwest::Response,
    fold: F,
) -> ChunkStream {
    let request_id = crate::error::request_id_from(response.headers());
    fold_events(http::sse_events(provider, response), fold, request_id)
}

/// A native provider's JSON answer: the body parsed as `W`, with the response's request id.
pub(crate) async fn read_json<W: DeserializeOwned>(
    provider: &str,
    response: reqwest::Response,
) -> Result<(W, Option<String>)> {
    let request_id = crate::error::request_id_from(response.headers());
    let body = http::read_body(provider, response).await?;
    let wire = serde_json::from_slice(&body).map_err(|e| {
        BlazenError::invalid_response(provider, format!("unexpected response: {e}"), &body)
    })?;
    Ok((wire, request_id))
}

/// What every native `complete` ends with: the request id of the response's headers (else the
/// one its body carried), then the measured time and the cost
/// ([`finish_response`](crate::pricing::finish_response)).
pub(crate) fn finish(
    mut out: CompletionResponse,
    request_id: Option<String>,
    started: Instant,
) -> CompletionResponse {
    out.request_id = request_id.or(out.request_id.take());
    crate::pricing::finish_response(out, started)
}

/// Posts `body` to the endpoint `prepare` builds: the one `cache` keeps (prepared on first use),
/// or without a cache one prepared for this request only (a request naming another model than
/// the provider's own).
pub(crate) async fn post_cached(
    client: &HttpClient,
    provider: &str,
    cache: Option<&EndpointCache>,
    prepare: impl FnOnce() -> Result<Endpoint>,
    body: Vec<u8>,
    answer: http::Answer,
) -> Result<reqwest::Response> {
    match cache {
        Some(cache) => {
            let endpoint = cache.get_or_prepare(prepare)?;
            http::post_to(client, provider, endpoint, body, answer).await
        }
        None => http::post_to(client, provider, &prepare()?, body, answer).await,
    }
}

/// The content blocks of a user message: its text as one block when it has no parts, else one
/// block per part, converted by `part` (which may refuse a part the provider cannot take).
pub(crate) fn user_blocks<B>(
    msg: &ChatMessage,
    text: impl Fn(String) -> B,
    mut part: impl FnMut(&ContentPart) -> Result<B>,
) -> Result<Vec<B>> {
    if msg.parts.is_empty() {
        return Ok(msg.content.iter().cloned().map(text).collect());
    }
    msg.parts.iter().map(&mut part).collect()
}

/// The value of the environment variable `name` (an API key, a region, an Azure resource),
/// trimmed; a validation error when it is unset or blank. Every `*_from_env` constructor reads
/// its variables with this.
pub(crate) fn env_var(name: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(BlazenError::validation(format!(
            "environment variable {name} is not set"
        ))),
    }
}

/// Splits a `data:<mime>;base64,<data>` URL into MIME type and base64 data.
pub(crate) fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime, data))
}

/// The `Provider` methods every native provider writes alike, for a provider struct with
/// `model` and `base_url` string fields: `name` (`$provider`), `model_id`, and `with_model` /
/// `with_base_url` (a trailing `/` of the base URL is dropped).
macro_rules! provider_basics {
    ($provider:expr) => {
        fn name(&self) -> &str {
            $provider
        }

        fn model_id(&self) -> &str {
            &self.model
        }

        fn with_model(&self, model: &str) -> ::std::sync::Arc<dyn $crate::model::Provider> {
            ::std::sync::Arc::new(Self {
                model: model.to_owned(),
                ..self.clone()
            })
        }

        fn with_base_url(&self, base_url: &str) -> ::std::sync::Arc<dyn $crate::model::Provider> {
            ::std::sync::Arc::new(Self {
                base_url: base_url.trim_end_matches('/').to_owned(),
                ..self.clone()
            })
        }
    };
}
pub(crate) use provider_basics;
