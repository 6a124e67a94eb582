//! The idle limit (600 s without a byte from the server) on every wait of a request: the
//! response headers, each read of a body, each event of a stream (Bedrock's binary event
//! stream: in `providers_native_bedrock`). A silent server gives a retryable `Timeout` naming
//! the provider; a slow server that keeps sending is not cut off, however long it takes.
//!
//! The servers are raw local TCP servers scripted byte by byte; tokio's paused clock makes the
//! ten minutes pass at once.

use std::time::Duration;

use blazen_providers::{BlazenError, ChatMessage, CompletionModel};
use futures::StreamExt;

#[allow(dead_code)]
mod support;

use support::raw_server::{chunk, head, serve, LAST_CHUNK};

const IDLE: Duration = Duration::from_secs(600);
const AT_ONCE: Duration = Duration::ZERO;

const ANSWER: &str = r#"{"model":"gpt-4.1-mini","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"slow but sure"}}]}"#;

fn model(base: &str) -> CompletionModel {
    CompletionModel::openai("sk-test").with_base_url(base)
}

fn msgs() -> Vec<ChatMessage> {
    vec![ChatMessage::user("hi")]
}

/// A retryable Timeout from `provider` that waited at least the idle limit.
fn assert_idle_timeout(err: &BlazenError, provider: &str) {
    let BlazenError::Timeout { elapsed, .. } = err else {
        panic!("expected a timeout, got {err:?}");
    };
    assert!(elapsed.is_some_and(|e| e >= IDLE), "{err:?}");
    assert_eq!(err.provider(), Some(provider), "{err:?}");
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("600000ms"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn no_response_headers_is_a_timeout_after_the_idle_limit() {
    let base = serve(vec![]).await;
    let started = tokio::time::Instant::now();
    let err = model(&base).complete(&msgs()).await.unwrap_err();
    assert_idle_timeout(&err, "openai");
    let waited = started.elapsed();
    assert!(
        waited >= IDLE && waited < IDLE + Duration::from_secs(1),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stream_without_response_headers_is_a_timeout_too() {
    let base = serve(vec![]).await;
    let err = match model(&base).stream(&msgs()).await {
        Err(e) => e,
        Ok(_) => panic!("a silent server gave a stream"),
    };
    assert_idle_timeout(&err, "openai");
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_halfway_is_a_timeout() {
    let mut script = vec![(AT_ONCE, head("application/json", Some(ANSWER.len())))];
    script.push((AT_ONCE, ANSWER.as_bytes()[..20].to_vec()));
    let base = serve(script).await;
    let err = model(&base).complete(&msgs()).await.unwrap_err();
    assert_idle_timeout(&err, "openai");
}

#[tokio::test(start_paused = true)]
async fn a_slow_server_that_keeps_sending_is_not_cut_off() {
    // Headers after 500 s, then the body in three pieces 400 s apart: 1,700 s in all, but
    // never 600 s of silence.
    let bytes = ANSWER.as_bytes();
    let script = vec![
        (Duration::from_secs(500), head("application/json", None)),
        (Duration::from_secs(400), chunk(&bytes[..30])),
        (Duration::from_secs(400), chunk(&bytes[30..60])),
        (
            Duration::from_secs(400),
            [chunk(&bytes[60..]), LAST_CHUNK.to_vec()].concat(),
        ),
    ];
    let base = serve(script).await;
    let started = tokio::time::Instant::now();
    let r = model(&base).complete(&msgs()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("slow but sure"));
    assert!(started.elapsed() >= Duration::from_secs(1_700));
}

#[tokio::test(start_paused = true)]
async fn an_sse_stream_that_goes_silent_ends_with_a_timeout_after_its_events() {
    let event =
        br#"data: {"choices":[{"index":0,"delta":{"content":"first"},"finish_reason":null}]}

"#;
    let script = vec![
        (AT_ONCE, head("text/event-stream", None)),
        (Duration::from_secs(300), chunk(event)),
    ];
    let base = serve(script).await;
    let mut stream = model(&base).stream(&msgs()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.delta.as_deref(), Some("first"));
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
    assert_eq!(err.provider(), Some("openai"));
    assert!(stream.next().await.is_none());
}
