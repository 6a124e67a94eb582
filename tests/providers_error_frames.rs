//! Error members in 200 answers of the OpenAI-compatible family: proxies that put an empty
//! `error` (`{}`, `""`, `false`, `null`) in every normal answer or chunk must not break it; a
//! real error object in a 200 answer, a stream frame or an embeddings answer is a typed error.

use blazen_providers::{BlazenError, ChatMessage, CompletionModel, EmbeddingModel};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn serve(body: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(body)
        .mount(&server)
        .await;
    server
}

fn completion(error: Value) -> Value {
    json!({"id": "c1", "model": "m", "error": error, "choices": [{"index": 0,
        "finish_reason": "stop", "message": {"role": "assistant", "content": "fine"}}]})
}

fn model(server: &MockServer) -> CompletionModel {
    CompletionModel::openai_compatible(server.uri(), "k").with_model("m")
}

#[tokio::test]
async fn an_empty_error_member_in_a_200_answer_is_not_an_error() {
    for empty in [json!({}), json!(""), json!(false), Value::Null] {
        let server =
            serve(ResponseTemplate::new(200).set_body_json(completion(empty.clone()))).await;
        let r = model(&server).complete(&[ChatMessage::user("hi")]).await;
        assert_eq!(
            r.unwrap_or_else(|e| panic!("{empty}: {e}"))
                .content
                .as_deref(),
            Some("fine")
        );
    }
}

#[tokio::test]
async fn an_error_object_in_a_200_answer_is_a_typed_error() {
    let body = completion(
        json!({"message": "slow down", "code": "rate_limit_exceeded",
        "type": "requests"}),
    );
    let server = serve(ResponseTemplate::new(200).set_body_json(body)).await;
    let err = model(&server)
        .complete(&[ChatMessage::user("hi")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::RateLimit { .. }), "{err:?}");
    assert_eq!(err.code(), Some("rate_limit_exceeded"));
    assert!(err.is_retryable());
}

fn sse(frames: &[Value]) -> ResponseTemplate {
    let mut body = String::new();
    for f in frames {
        body.push_str(&format!("data: {f}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

fn delta(text: &str, error: Value) -> Value {
    json!({"id": "c1", "model": "m", "error": error,
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
}

fn finish(reason: &str) -> Value {
    json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
}

/// The stream's text, or its first error.
async fn stream_text(server: &MockServer) -> Result<String, BlazenError> {
    let mut s = model(server).stream(&[ChatMessage::user("hi")]).await?;
    let mut text = String::new();
    while let Some(chunk) = s.next().await {
        text.push_str(chunk?.delta.as_deref().unwrap_or(""));
    }
    Ok(text)
}

#[tokio::test]
async fn an_empty_error_member_in_every_chunk_does_not_break_the_stream() {
    for empty in [json!({}), json!(""), json!(false), Value::Null] {
        let frames = [
            delta("Hel", empty.clone()),
            delta("lo", empty.clone()),
            finish("stop"),
        ];
        let server = serve(sse(&frames)).await;
        let text = stream_text(&server)
            .await
            .unwrap_or_else(|e| panic!("{empty}: {e}"));
        assert_eq!(text, "Hello");
    }
}

#[tokio::test]
async fn error_frames_without_an_error_member_end_the_stream_with_a_typed_error() {
    // vLLM-style and `type: error` frames, then `[DONE]`: not a silent, empty success.
    let vllm = json!({"object": "error", "message": "model overloaded",
        "type": "ServiceUnavailableError", "code": 503});
    let typed = json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"});
    for frame in [vllm, typed] {
        let server = serve(sse(&[delta("Hel", Value::Null), frame.clone()])).await;
        let err = stream_text(&server).await.unwrap_err();
        assert!(err.is_retryable(), "{frame}: {err:?}");
        assert!(
            err.to_string().contains("overloaded") || err.to_string().contains("slow down"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn finish_reason_error_is_a_stream_error_keeping_the_frame() {
    let server = serve(sse(&[delta("Hel", Value::Null), finish("error")])).await;
    let err = stream_text(&server).await.unwrap_err();
    assert!(matches!(err, BlazenError::Stream { .. }), "{err:?}");
    assert!(
        err.raw_body().is_some_and(|b| b.contains("\"error\"")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_embeddings_answer_carrying_an_error_envelope_is_its_typed_error() {
    // new-api style envelope with status 200 (seed 004), instead of "asked for 2, got 0".
    let body = json!({"error": {"message": "no available key for this channel",
        "type": "new_api_error", "code": "channel:no_available_key"}});
    let server = serve(ResponseTemplate::new(200).set_body_json(body)).await;
    let err = EmbeddingModel::openai_compatible(server.uri(), "k")
        .embed(&["a", "b"])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("channel:no_available_key"), "{err:?}");
    assert!(err.to_string().contains("no available key"), "{err}");
}

#[tokio::test]
async fn stream_errors_carry_the_request_id_of_the_response() {
    // An error frame that does not repeat the id, and a stream cut short.
    let frame = json!({"error": {"message": "no capacity", "code": "model_unavailable"}});
    let cut = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    let cases = [
        sse(&[delta("Hel", Value::Null), frame]),
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/event-stream")
            .set_body_string(cut),
    ];
    for case in cases {
        let server = serve(case.insert_header("x-request-id", "req_abc")).await;
        let err = stream_text(&server).await.unwrap_err();
        assert_eq!(err.request_id(), Some("req_abc"), "{err:?}");
    }

    // A native provider (Anthropic's `event: error`).
    let body = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let server = serve(
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/event-stream")
            .insert_header("request-id", "req_anthropic")
            .set_body_string(body),
    )
    .await;
    let model = CompletionModel::anthropic("k").with_base_url(server.uri());
    let mut s = model.stream(&[ChatMessage::user("hi")]).await.unwrap();
    let err = loop {
        match s.next().await {
            Some(Err(e)) => break e,
            Some(Ok(_)) => continue,
            None => panic!("the stream ended without the error"),
        }
    };
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.request_id(), Some("req_anthropic"), "{err:?}");
}
