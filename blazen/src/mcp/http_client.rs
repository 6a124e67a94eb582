//! rmcp's streamable-HTTP client transport over reqwest 0.12 (rmcp's own is on reqwest 0.13).

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
};
use sse_stream::{Sse, SseStream};

const SESSION_ID: &str = "Mcp-Session-Id";
const LAST_EVENT_ID: &str = "Last-Event-Id";
const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";

/// A reqwest 0.12 client speaking MCP's streamable HTTP transport.
#[derive(Debug, Clone)]
pub(super) struct ReqwestClient {
    http: reqwest::Client,
    /// Set once a GET stream was opened or refused, or the server turned out to keep no
    /// session (so that none will be opened): see [`ReqwestClient::new`].
    stream_tried: Arc<tokio::sync::watch::Sender<bool>>,
}

impl ReqwestClient {
    /// The client, and what tells when it first tried to open a GET stream: rmcp opens the
    /// session's standalone stream (server requests not tied to a call) in a task of its own
    /// after initialization, so a caller may wait for it before its first call.
    pub(super) fn new(http: reqwest::Client) -> (Self, tokio::sync::watch::Receiver<bool>) {
        let (tried, tried_rx) = tokio::sync::watch::channel(false);
        let client = ReqwestClient {
            http,
            stream_tried: Arc::new(tried),
        };
        (client, tried_rx)
    }

    /// A GET stream of the session (`last_event_id`: resuming one).
    async fn open_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, Error> {
        let mut request = self
            .http
            .get(uri.as_ref())
            .header(ACCEPT, format!("{EVENT_STREAM}, {JSON}"));
        if let Some(last_event_id) = last_event_id {
            request = request.header(LAST_EVENT_ID, last_event_id);
        }
        let request = with_headers(request, session_id.as_deref(), auth_token, custom_headers);
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        let response = response
            .error_for_status()
            .map_err(StreamableHttpError::Client)?;
        if !is(response.headers().get(CONTENT_TYPE), EVENT_STREAM) {
            return Err(StreamableHttpError::UnexpectedContentType(
                response
                    .headers()
                    .get(CONTENT_TYPE)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            ));
        }
        Ok(events(response))
    }
}

type Error = StreamableHttpError<reqwest::Error>;

fn with_headers(
    mut request: reqwest::RequestBuilder,
    session_id: Option<&str>,
    auth: Option<String>,
    custom: HashMap<HeaderName, HeaderValue>,
) -> reqwest::RequestBuilder {
    if let Some(session_id) = session_id {
        request = request.header(SESSION_ID, session_id);
    }
    if let Some(auth) = auth {
        request = request.bearer_auth(auth);
    }
    for (name, value) in custom {
        request = request.header(name, value);
    }
    request
}

fn is(content_type: Option<&HeaderValue>, mime: &str) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(mime))
}

fn events(response: reqwest::Response) -> BoxStream<'static, Result<Sse, SseError>> {
    SseStream::from_bytes_stream(response.bytes_stream()).boxed()
}

impl StreamableHttpClient for ReqwestClient {
    type Error = reqwest::Error;

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, Error> {
        let opened = self
            .open_stream(uri, session_id, last_event_id, auth_token, custom_headers)
            .await;
        self.stream_tried.send_replace(true);
        opened
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Error> {
        let request = with_headers(
            self.http.delete(uri.as_ref()),
            Some(&session_id),
            auth_token,
            custom_headers,
        );
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(());
        }
        response
            .error_for_status()
            .map_err(StreamableHttpError::Client)?;
        Ok(())
    }

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let had_session = session_id.is_some();
        let request = self
            .http
            .post(uri.as_ref())
            .header(ACCEPT, format!("{EVENT_STREAM}, {JSON}"))
            .json(&message);
        let request = with_headers(request, session_id.as_deref(), auth_token, custom_headers);
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        let status = response.status();
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && had_session {
            return Err(StreamableHttpError::SessionExpired);
        }
        let session = response
            .headers()
            .get(SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !had_session && session.is_none() {
            // A server without sessions: rmcp opens no standalone stream, nothing to wait for.
            self.stream_tried.send_replace(true);
        }
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        if is(content_type.as_ref(), EVENT_STREAM) && status.is_success() {
            return Ok(StreamableHttpPostResponse::Sse(events(response), session));
        }
        if is(content_type.as_ref(), JSON) {
            let body = response
                .bytes()
                .await
                .map_err(StreamableHttpError::Client)?;
            if body.is_empty() && status.is_success() {
                return Ok(StreamableHttpPostResponse::Accepted);
            }
            // A JSON-RPC error in a non-success answer is still the peer's answer.
            let message: ServerJsonRpcMessage = serde_json::from_slice(&body)?;
            return Ok(StreamableHttpPostResponse::Json(message, session));
        }
        let response = response
            .error_for_status()
            .map_err(StreamableHttpError::Client)?;
        if response.content_length() == Some(0) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        Err(StreamableHttpError::UnexpectedContentType(
            content_type.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        ))
    }
}
