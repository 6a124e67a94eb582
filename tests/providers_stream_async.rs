//! `stream_with_async`: each callback future is awaited before the next chunk is read (so a
//! slow consumer applies backpressure and sees the chunks in order), the assembled answer is
//! returned, and a stream error ends the call after the chunks before it were delivered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen_providers::{ChatMessage, CompletionModel, CompletionRequest, StreamChunk};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sse(parts: &[&str], finish: bool) -> String {
    let mut out = String::new();
    for p in parts {
        let frame =
            json!({"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]});
        out.push_str(&format!("data: {frame}\n\n"));
    }
    if finish {
        let frame = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}});
        out.push_str(&format!("data: {frame}\n\ndata: [DONE]\n\n"));
    }
    out
}

async fn server(body: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn each_callback_is_awaited_in_order_before_the_next_chunk() {
    let server = server(sse(&["Hel", "lo", ", ", "world"], true)).await;
    let m = CompletionModel::openai("sk-test").with_base_url(server.uri());

    // Events: "start i" when a call begins, "end i" after its await. Were a call not awaited
    // before the next chunk, a "start" would come before the previous "end".
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut n = 0;
    let cb_log = log.clone();
    let r = m
        .stream_with_async(&[ChatMessage::user("hi")], move |chunk: StreamChunk| {
            let log = cb_log.clone();
            n += 1;
            let i = n;
            async move {
                log.lock().unwrap().push(format!("start {i}"));
                tokio::time::sleep(Duration::from_millis(20)).await;
                log.lock()
                    .unwrap()
                    .push(format!("end {i} {}", chunk.delta.unwrap_or_default()));
            }
        })
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("Hello, world"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.usage.unwrap().total_tokens, 7);
    assert!(r.timing.unwrap().total_ms.unwrap() >= 5 * 20);
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "start 1",
            "end 1 Hel",
            "start 2",
            "end 2 lo",
            "start 3",
            "end 3 , ",
            "start 4",
            "end 4 world",
            "start 5",
            "end 5 ",
        ]
    );
}

#[tokio::test]
async fn a_bounded_channel_consumer_gets_every_chunk() {
    let server = server(sse(&["a", "b", "c"], true)).await;
    let m = CompletionModel::openai("sk-test").with_base_url(server.uri());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<StreamChunk>(1);
    let consumer = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(c) = rx.recv().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
            got.push(c);
        }
        got
    });
    let r = m
        .stream_request_with_async(
            CompletionRequest::new(vec![ChatMessage::user("hi")]).max_tokens(16),
            |chunk| {
                let tx = tx.clone();
                async move {
                    tx.send(chunk).await.unwrap();
                }
            },
        )
        .await
        .unwrap();
    drop(tx);
    let got = consumer.await.unwrap();
    let text: String = got.iter().filter_map(|c| c.delta.clone()).collect();
    assert_eq!(text, "abc");
    assert_eq!(text, r.content.unwrap());
    assert_eq!(got.last().unwrap().finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn a_cut_stream_is_an_error_after_the_delivered_chunks() {
    // No finish reason and no [DONE]: the stream is truncated.
    let server = server(sse(&["par", "tial"], false)).await;
    let m = CompletionModel::openai("sk-test").with_base_url(server.uri());
    let seen = Arc::new(Mutex::new(String::new()));
    let s = seen.clone();
    let err = m
        .stream_with_async(&[ChatMessage::user("hi")], move |chunk| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push_str(&chunk.delta.unwrap_or_default());
            }
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, blazen_providers::BlazenError::Stream { .. }),
        "{err:?}"
    );
    assert_eq!(*seen.lock().unwrap(), "partial");
}
