//! What a stream request may be answered with besides a stream: a proxy's HTML page with 200 is
//! the same non-retryable `InvalidResponse` for `stream()` as for `complete()` (checked on the
//! content type, before decoding); a body cut inside a `data:` line is a retryable `Stream`
//! error, whether the body was chunked or ended by closing the connection.

#[allow(dead_code)] // each test file uses a part of the shared support
mod support;

use std::time::Duration;

use blazen_providers::{BlazenError, ChatMessage, CompletionModel};
use futures::StreamExt;
use support::chunks::first_stream_error;
use support::raw_server;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOGIN_PAGE: &str = "<!doctype html><html><head><title>Sign in - Corporate Proxy</title>\
    </head><body><form>user</form></body></html>";

async fn serve_page() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(LOGIN_PAGE, "text/html; charset=utf-8"),
        )
        .mount(&server)
        .await;
    server
}

fn models(base: &str) -> Vec<(&'static str, CompletionModel)> {
    vec![
        (
            "openai_compatible",
            CompletionModel::openai_compatible(base, "k"),
        ),
        (
            "anthropic",
            CompletionModel::anthropic("k").with_base_url(base),
        ),
        ("gemini", CompletionModel::gemini("k").with_base_url(base)),
        ("cohere", CompletionModel::cohere("k").with_base_url(base)),
        (
            "bedrock",
            CompletionModel::bedrock("k", "us-east-1").with_base_url(base),
        ),
    ]
}

#[tokio::test]
async fn an_html_page_answered_to_stream_is_invalid_response_like_complete() {
    let server = serve_page().await;
    for (name, model) in models(&server.uri()) {
        let complete = model
            .complete(&[ChatMessage::user("hi")])
            .await
            .expect_err("a page is no completion");
        assert!(
            matches!(complete, BlazenError::InvalidResponse { .. }),
            "{name}: {complete:?}"
        );
        let streamed = first_stream_error(&model)
            .await
            .expect("a page is no stream");
        assert!(
            matches!(streamed, BlazenError::InvalidResponse { .. }),
            "{name}: {streamed:?}"
        );
        assert!(!streamed.is_retryable(), "{name}: {streamed}");
        assert_eq!(streamed.is_retryable(), complete.is_retryable(), "{name}");
        assert!(
            streamed
                .raw_body()
                .is_some_and(|b| b.contains("Corporate Proxy")),
            "{name}: the page is kept: {streamed:?}"
        );
    }
}

/// A first whole event, then half of the next `data:` line.
const CUT: &[u8] = b"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"id\":\"c\",\"model\":\"m\",\"choi";

async fn assert_cut_is_a_stream_error(base: String, how: &str) {
    let model = CompletionModel::openai_compatible(base, "k").with_model("m");
    let mut chunks = model.stream(&[ChatMessage::user("hi")]).await.unwrap();
    let first = chunks.next().await.unwrap().expect("the whole first event");
    assert_eq!(first.delta.as_deref(), Some("Hel"));
    let err = loop {
        match chunks.next().await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("{how}: a cut stream must end with an error"),
        }
    };
    assert!(matches!(err, BlazenError::Stream { .. }), "{how}: {err:?}");
    assert!(err.is_retryable(), "{how}: {err}");
}

#[tokio::test]
async fn a_chunked_stream_cut_inside_a_data_line_is_a_retryable_stream_error() {
    let mut script = vec![(Duration::ZERO, raw_server::head("text/event-stream", None))];
    script.push((Duration::ZERO, raw_server::chunk(CUT)));
    // The connection closes with no last chunk.
    let base = raw_server::serve_and_close(script).await;
    assert_cut_is_a_stream_error(base, "chunked").await;
}

#[tokio::test]
async fn a_connection_close_stream_cut_inside_a_data_line_is_a_retryable_stream_error() {
    // No length, no chunking: the body ends when the connection closes, inside a `data:` line.
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    let script = vec![
        (Duration::ZERO, head.to_vec()),
        (Duration::ZERO, CUT.to_vec()),
    ];
    let base = raw_server::serve_and_close(script).await;
    assert_cut_is_a_stream_error(base, "connection-close").await;
}
