//! Connection pooling (issue 5, S3): many small requests in flight reuse a bounded set of
//! keep-alive connections, and requests one after another reuse one. A peer measured for the
//! issue opened 14,096 connections for 20,000 requests.

use blazen_providers::{ChatMessage, CompletionModel};
use futures::StreamExt;

#[allow(dead_code)]
mod support;

use std::sync::atomic::Ordering;

const ANSWER: &str = r#"{"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}]}"#;

#[tokio::test]
async fn requests_in_flight_share_pooled_connections() {
    let (base, accepted) = support::raw_server::serve_keep_alive(ANSWER).await;
    let model = CompletionModel::openai_compatible(base, "k");
    let messages = [ChatMessage::user("hi")];

    // 640 requests, 64 at a time: at most 64 connections, each used about ten times.
    let ok = futures::stream::iter(0..640)
        .map(|_| model.complete(&messages))
        .buffer_unordered(64)
        .filter(|r| {
            futures::future::ready(r.as_ref().is_ok_and(|r| r.content.as_deref() == Some("ok")))
        })
        .count()
        .await;
    assert_eq!(ok, 640);
    let after_burst = accepted.load(Ordering::SeqCst);
    assert!((1..=64).contains(&after_burst), "{after_burst} connections");

    // One at a time, from the model's clones: no new connection.
    let clone = model.clone();
    for _ in 0..100 {
        clone.complete(&messages).await.unwrap();
    }
    assert_eq!(accepted.load(Ordering::SeqCst), after_burst);
}
