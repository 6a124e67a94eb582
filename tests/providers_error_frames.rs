//! Error members in 200 answers of the OpenAI-compatible family: proxies that put an empty
//! `error` (`{}`, `""`, `false`, `null`) in every normal answer or chunk must not break it; a
//! real error object in a 200 answer, a stream frame or an embeddings answer is a typed error.

use blazen_providers::{BlazenError, ChatMessage, CompletionModel};
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
