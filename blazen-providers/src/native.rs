//! Shared helpers of the native providers. Folding a provider's decoded stream events (SSE events, AWS event-stream frames) into a
//! [`ChunkStream`]: shared by the native providers (Anthropic, Gemini, Cohere, Bedrock).

use futures::{Stream, StreamExt};

use serde::de::DeserializeOwned;

use crate::error::{BlazenError, Result};
use crate::http;
use crate::model::ChunkStream;
use crate::sse::SseEvent;
use crate::types::StreamChunk;

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

    fn on_eof(&mut self) -> Result<Option<StreamChunk>> {
        self.0.on_eof()
    }

    fn is_done(&self) -> bool {
        self.0.is_done()
    }
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

/// `Provider::with_model` and `Provider::with_base_url` for a native provider struct with
/// `model` and `base_url` string fields (a trailing `/` of the base URL is dropped).
macro_rules! model_and_base_url_overrides {
    () => {
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
pub(crate) use model_and_base_url_overrides;
