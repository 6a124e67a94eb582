//! No API key in any error: a local server that echoes each request (its headers included, as
//! some proxies and debug endpoints do) into the answer, driven through every path of the fal
//! queue (submit, status, result, cancel; error statuses and unreadable 200s) and of fal's LLM
//! router (complete, stream). A real fal key is `<uuid>:<hex>`, which no generic pattern
//! matched: each error must be scrubbed of the exact key that was sent.

use std::time::Duration;

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, ComputeModel, ImageRequest, PollConfig,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "3f1c9a8e-1b2c-4d5e-9f00-112233445566:0a1b2c3d4e5f60718293a4b5c6d7e8f9";
/// The secret half alone: a server may echo only part of the header.
const SECRET_HALF: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// Answers `status` with every request header in the body (JSON when `json`, else plain text).
struct Echo {
    status: u16,
    json: bool,
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        let echoed = headers.join("\n");
        if self.json {
            ResponseTemplate::new(self.status).set_body_json(json!({
                "detail": format!("request was: {echoed}"),
                "echo": {"headers": headers, "key_only": SECRET_HALF},
            }))
        } else {
            // Not JSON at all: an unreadable answer keeps its body as the raw body.
            ResponseTemplate::new(self.status).set_body_string(format!("<html>{echoed}</html>"))
        }
    }
}

fn assert_clean(err: &BlazenError, what: &str) {
    let shown = format!("{err} | {err:?} | {:?}", err.raw_body());
    for secret in [KEY, SECRET_HALF, &KEY[..36]] {
        assert!(
            !shown.contains(secret),
            "{what}: the key leaked into the error: {shown}"
        );
    }
}

fn media(server: &MockServer) -> ComputeModel {
    ComputeModel::fal(KEY)
        .with_base_url(server.uri())
        .with_poll(PollConfig {
            initial_interval: Duration::from_millis(5),
            multiplier: 1.5,
            max_interval: Duration::from_millis(20),
            timeout: Duration::from_secs(5),
        })
}

async fn echo_everything(status: u16, json: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Echo { status, json })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn fal_submit_errors_never_carry_the_key() {
    for (status, json) in [
        (401, true),
        (403, true),
        (500, true),
        (422, false),
        (200, false),
    ] {
        let server = echo_everything(status, json).await;
        let err = media(&server)
            .submit(ImageRequest::new("x"))
            .await
            .expect_err("an echo is no submit answer");
        assert_clean(&err, &format!("submit {status}"));
    }
}

/// A submitted job whose status, result and cancel calls are answered by `status`.
async fn job_answered_with(status: u16, json: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/fal-ai/flux/dev"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"request_id": "r1"})))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Echo { status, json })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn fal_status_result_and_cancel_errors_never_carry_the_key() {
    for (status, json) in [(401, true), (404, true), (500, false), (200, false)] {
        let server = job_answered_with(status, json).await;
        let job = media(&server)
            .submit(ImageRequest::new("x"))
            .await
            .expect("submitted");
        let err = job.status().await.expect_err("an echo is no status");
        assert_clean(&err, &format!("status {status}"));
        let err = job.wait().await.expect_err("an echo is no result");
        assert_clean(&err, &format!("wait {status}"));
        if status != 200 {
            let err = job.cancel().await.expect_err("an echo is no cancel answer");
            assert_clean(&err, &format!("cancel {status}"));
        }
    }
}

#[tokio::test]
async fn fal_result_errors_never_carry_the_key() {
    for (status, json) in [(401, true), (500, true), (200, false)] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/fal-ai/flux/dev"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"request_id": "r1"})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/fal-ai/flux/requests/r1/status"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "COMPLETED"})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/fal-ai/flux/requests/r1"))
            .respond_with(Echo { status, json })
            .mount(&server)
            .await;
        let err = media(&server)
            .generate_image(ImageRequest::new("x"))
            .await
            .expect_err("an echo is no image");
        assert_clean(&err, &format!("result {status}"));
    }
}

#[tokio::test]
async fn fal_llm_errors_never_carry_the_key() {
    for (status, json) in [(401, true), (500, false), (200, false)] {
        let server = echo_everything(status, json).await;
        let model = CompletionModel::fal(KEY).with_base_url(server.uri());
        let err = model
            .complete(&[ChatMessage::user("hi")])
            .await
            .expect_err("an echo is no completion");
        assert_clean(&err, &format!("complete {status}"));
        let err = match model.stream(&[ChatMessage::user("hi")]).await {
            Err(e) => e,
            Ok(mut chunks) => {
                use futures::StreamExt;
                let mut last = None;
                while let Some(item) = chunks.next().await {
                    if let Err(e) = item {
                        last = Some(e);
                        break;
                    }
                }
                last.expect("an echo is no stream")
            }
        };
        assert_clean(&err, &format!("stream {status}"));
    }
}

#[test]
fn fal_shaped_keys_are_redacted_by_pattern_too() {
    let text = format!("authorization: Key {KEY}\nnext line");
    let clean = blazen_providers::error::redact(&text, None);
    assert!(!clean.contains(SECRET_HALF), "{clean}");
    assert!(clean.contains("next line"));
    // Prose with the word "Key" is left alone.
    assert_eq!(
        blazen_providers::error::redact("Key rotation is due", None),
        "Key rotation is due"
    );
}
