//! `CompletionModel::fal`: fal's OpenAI-compatible LLM router with fal's `Authorization: Key`
//! scheme, served from a local wiremock server; and the Send/Sync guarantees of the compute
//! handles.

use blazen_providers::{ChatMessage, CompletionModel, ComputeJob, ComputeModel, ImageRequest};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn fal_llm_complete_and_stream_use_the_key_scheme() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openrouter/router/openai/v1/chat/completions"))
        .and(header("authorization", "Key fal-test-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "model": "google/gemini-2.5-flash",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        })))
        .mount(&server)
        .await;
    let model = CompletionModel::fal("fal-test-key")
        .with_base_url(format!("{}/openrouter/router/openai/v1", server.uri()));
    assert_eq!(model.model_id(), "google/gemini-2.5-flash");
    assert_eq!(model.provider_name(), "fal");
    let r = model.complete(&[ChatMessage::user("hi")]).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("Hello!"));
    assert_eq!(r.usage.unwrap().total_tokens, 5);
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["model"], "google/gemini-2.5-flash");

    let sse = concat!(
        "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Key fal-test-key"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(sse.as_bytes().to_vec(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let model = CompletionModel::fal("fal-test-key").with_base_url(server.uri());
    let chunks: Vec<_> = model
        .stream(&[ChatMessage::user("hi")])
        .await
        .unwrap()
        .collect()
        .await;
    let text: String = chunks
        .iter()
        .filter_map(|c| c.as_ref().unwrap().delta.clone())
        .collect();
    assert_eq!(text, "Hello");
}

#[test]
fn keys_never_show_in_debug() {
    for shown in [
        format!("{:?}", CompletionModel::fal("fal-secret-1")),
        format!("{:?}", ComputeModel::fal("fal-secret-1")),
        format!("{:?}", ComputeModel::openai("fal-secret-1")),
        format!("{:?}", CompletionModel::anthropic("fal-secret-1")),
        format!("{:?}", CompletionModel::gemini("fal-secret-1")),
        format!("{:?}", CompletionModel::cohere("fal-secret-1")),
        format!(
            "{:?}",
            CompletionModel::bedrock("fal-secret-1", "eu-west-1")
        ),
    ] {
        assert!(!shown.contains("fal-secret-1"), "{shown}");
    }
}

fn assert_send_sync<T: Send + Sync>(_: &T) {}
fn assert_send<T: Send>(_: &T) {}

#[test]
fn compute_handles_and_futures_are_send() {
    let media = ComputeModel::fal("k");
    assert_send_sync(&media);
    let fut = media.generate_image(ImageRequest::new("x"));
    assert_send(&fut);
    drop(fut);
    let submit = media.submit(ImageRequest::new("x"));
    assert_send(&submit);
    drop(submit);
    fn job_is_send_sync(job: &ComputeJob) {
        assert_send_sync(job);
        assert_send(&job.wait());
        assert_send(&job.cancel());
    }
    let _ = job_is_send_sync;
}
