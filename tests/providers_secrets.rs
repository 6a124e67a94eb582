//! No API key in any error: a local server that echoes each request (its headers included, as
//! some proxies and debug endpoints do) into the answer, driven through every path of the fal
//! queue (submit, status, result, cancel; error statuses and unreadable 200s) and of fal's LLM
//! router (complete, stream). A real fal key is `<uuid>:<hex>`, which no generic pattern
//! matched: each error must be scrubbed of the exact key that was sent.
//!
//! Then every provider (chat, stream, embeddings, compute, agent) × every error kind (error
//! status, unreadable 200, mid-stream error frame) with a key no pattern recognises, echoed in
//! the message, code, type, param, request id header and raw body.

#[allow(dead_code)] // each test file uses a part of the shared support
mod support;

use std::time::Duration;

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, ComputeModel, ImageRequest, PollConfig,
};
use serde_json::json;
use support::chunks::first_stream_error;
use support::eventstream::frame;
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
    media_with(server, KEY)
}

fn media_with(server: &MockServer, key: &str) -> ComputeModel {
    ComputeModel::fal(key)
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

// ---------------------------------------------------------------------------------------------
// Every provider × every error kind, with a key no pattern knows: only the exact key that was
// sent can be scrubbed, so an error path that skips the provider's scrubbing point leaks it.
// ---------------------------------------------------------------------------------------------

/// Matches none of the secret-looking patterns (`sk-`, `Bearer`, `AIza`, `Key id:secret`).
const PLAIN_KEY: &str = "plainkey-7Q4z-distinctive-9Wx2";

/// A server that echoes the key back everywhere an answer can carry text: in the message,
/// code, type and param of an error envelope, in the request id header and in the raw body.
fn echo_envelope(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-request-id", PLAIN_KEY)
        .set_body_json(json!({
            "error": {"message": format!("bad key {PLAIN_KEY}"), "code": PLAIN_KEY,
                      "type": PLAIN_KEY, "param": PLAIN_KEY, "status": PLAIN_KEY},
            "type": "error",
            "detail": PLAIN_KEY,
        }))
}

/// A 200 answer that is no answer: plain text carrying the key.
fn echo_unreadable() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-request-id", PLAIN_KEY)
        .set_body_raw(format!("{{ not json {PLAIN_KEY}"), "application/json")
}

/// A 200 stream whose frame is an error echoing the key, in each provider's own shape.
fn echo_stream_frame(provider: &str) -> ResponseTemplate {
    let t = ResponseTemplate::new(200).insert_header("x-request-id", PLAIN_KEY);
    if provider == "bedrock" {
        let payload = json!({"message": format!("throttled {PLAIN_KEY}")}).to_string();
        let body = frame(
            &[
                (":exception-type", "throttlingException"),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            payload.as_bytes(),
        );
        return t.set_body_raw(body, "application/vnd.amazon.eventstream");
    }
    let frame = match provider {
        "anthropic" => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "error": {"type": "overloaded_error",
                "message": format!("overloaded {PLAIN_KEY}")}})
        ),
        "gemini" => format!(
            "data: {}\n\n",
            json!({"error": {"code": 503, "message": format!("overloaded {PLAIN_KEY}"),
                "status": "UNAVAILABLE"}})
        ),
        // A frame that is not JSON: the decode error keeps it as the raw body.
        "cohere" => format!("data: {{ broken {PLAIN_KEY}\n\n"),
        _ => format!(
            "data: {}\n\n",
            json!({"error": {"message": format!("upstream {PLAIN_KEY}"), "code": PLAIN_KEY,
                "type": PLAIN_KEY, "param": PLAIN_KEY}})
        ),
    };
    t.set_body_raw(frame, "text/event-stream")
}

fn assert_no_plain_key(err: &BlazenError, what: &str) {
    let shown = format!(
        "{err} | {err:?} | {:?} | {:?} | {:?} | {:?} | {:?}",
        err.raw_body(),
        err.code(),
        err.error_type(),
        err.param(),
        err.request_id()
    );
    assert!(
        !shown.contains(PLAIN_KEY),
        "{what}: the key leaked into the error: {shown}"
    );
}

async fn serve_any(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn chat_models(base: &str) -> Vec<(&'static str, CompletionModel)> {
    vec![
        (
            "openai_compatible",
            CompletionModel::openai_compatible(base, PLAIN_KEY),
        ),
        (
            "openai",
            CompletionModel::openai(PLAIN_KEY).with_base_url(base),
        ),
        (
            "anthropic",
            CompletionModel::anthropic(PLAIN_KEY).with_base_url(base),
        ),
        (
            "gemini",
            CompletionModel::gemini(PLAIN_KEY).with_base_url(base),
        ),
        (
            "cohere",
            CompletionModel::cohere(PLAIN_KEY).with_base_url(base),
        ),
        (
            "bedrock",
            CompletionModel::bedrock(PLAIN_KEY, "us-east-1").with_base_url(base),
        ),
        ("fal", CompletionModel::fal(PLAIN_KEY).with_base_url(base)),
    ]
}

#[tokio::test]
async fn chat_and_stream_errors_of_every_provider_never_carry_the_key() {
    for (kind, answer) in [
        ("401", echo_envelope(401)),
        ("429", echo_envelope(429)),
        ("500", echo_envelope(500)),
        ("unreadable 200", echo_unreadable()),
    ] {
        let server = serve_any(answer).await;
        for (name, model) in chat_models(&server.uri()) {
            let err = model
                .complete(&[ChatMessage::user("hi")])
                .await
                .expect_err("an echo is no completion");
            assert_no_plain_key(&err, &format!("{name} complete {kind}"));
            let err = first_stream_error(&model)
                .await
                .expect("an echo is no stream");
            assert_no_plain_key(&err, &format!("{name} stream {kind}"));
        }
    }
    for (name, _) in chat_models("http://127.0.0.1:9") {
        let server = serve_any(echo_stream_frame(name)).await;
        let model = chat_models(&server.uri())
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| m)
            .unwrap();
        let err = first_stream_error(&model)
            .await
            .unwrap_or_else(|| panic!("{name}: an error frame ends the stream with an error"));
        assert_no_plain_key(&err, &format!("{name} error frame"));
    }
}

#[tokio::test]
async fn embedding_errors_never_carry_the_key() {
    use blazen_providers::EmbeddingModel;
    for (kind, answer) in [
        ("401", echo_envelope(401)),
        ("500", echo_envelope(500)),
        ("unreadable 200", echo_unreadable()),
        (
            "error envelope in a 200",
            ResponseTemplate::new(200).set_body_json(json!({"error": {
                "message": PLAIN_KEY, "code": PLAIN_KEY, "type": PLAIN_KEY}})),
        ),
    ] {
        let server = serve_any(answer).await;
        for (name, model) in [
            (
                "openai_compatible",
                EmbeddingModel::openai_compatible(server.uri(), PLAIN_KEY),
            ),
            (
                "openai",
                EmbeddingModel::openai(PLAIN_KEY).with_base_url(server.uri()),
            ),
            (
                "cohere",
                EmbeddingModel::cohere(PLAIN_KEY).with_base_url(server.uri()),
            ),
        ] {
            let err = model.embed(&["x"]).await.expect_err("an echo is no vector");
            assert_no_plain_key(&err, &format!("{name} embed {kind}"));
        }
    }
}

#[tokio::test]
async fn compute_errors_never_carry_the_key() {
    for (kind, answer) in [
        ("401", echo_envelope(401)),
        ("500", echo_envelope(500)),
        ("unreadable 200", echo_unreadable()),
    ] {
        let server = serve_any(answer).await;
        for (name, model) in [
            (
                "openai",
                ComputeModel::openai(PLAIN_KEY).with_base_url(server.uri()),
            ),
            ("fal", media_with(&server, PLAIN_KEY)),
        ] {
            let err = model
                .generate_image(ImageRequest::new("x"))
                .await
                .expect_err("an echo is no image");
            assert_no_plain_key(&err, &format!("{name} image {kind}"));
        }
    }
}

#[tokio::test]
async fn agent_errors_never_carry_the_key() {
    use blazen_providers::{run_agent, AgentOptions};
    for answer in [echo_envelope(401), echo_unreadable()] {
        let server = serve_any(answer).await;
        let model = CompletionModel::openai_compatible(server.uri(), PLAIN_KEY);
        let err = run_agent(
            &model,
            vec![ChatMessage::user("hi")],
            &[],
            AgentOptions::new(),
        )
        .await
        .expect_err("an echo is no answer");
        assert_no_plain_key(&err, "agent");
    }
}
