//! The error model from outside the crate: a custom `Provider` builds typed errors with the
//! public constructors and setters, and the retry and fallback middleware treat them exactly
//! like the built-in providers' errors (Retry-After honoured on paused time, quota not
//! retried, fallback on unavailability but not on the request's own errors). A custom HTTP
//! provider gets the built-in envelope parsing through `BlazenError::from_http` and
//! `from_stream_frame`. Against a local server: OpenRouter's "No endpoints found" 404 falls
//! back, its moderation 403 is a content-policy refusal that does not; fal's balance
//! exhaustion keeps its status, request id and raw body.

use std::time::Duration;

#[allow(dead_code)]
mod support;

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, ComputeModel, ImageRequest, PollConfig, RetryConfig,
    StreamChunk,
};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

// ---------- a custom provider answering from a script ----------

use support::scripted_provider::{Reply, ScriptedProvider as Custom};

fn answer(text: &str) -> Reply {
    Ok(support::scripted_provider::answer("custom-1", text))
}

fn msgs() -> Vec<ChatMessage> {
    vec![ChatMessage::user("hi")]
}

fn retry(max_retries: u32) -> RetryConfig {
    RetryConfig {
        max_retries,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(30),
    }
}

// ---------- retry driven by errors a custom provider built ----------

#[tokio::test(start_paused = true)]
async fn retry_honours_a_custom_rate_limit_and_its_retry_after() {
    let p = Custom::new(
        "custom",
        vec![
            Err(BlazenError::rate_limit("custom", "slow down")
                .with_status(429)
                .with_retry_after(Duration::from_secs(7))),
            answer("ok"),
        ],
    );
    let r = p
        .model()
        .with_retry(retry(3))
        .complete(&msgs())
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("ok"));
    assert_eq!(p.calls(), 2);
    let times = p.times();
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_millis(7100),
        "waited {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_retries_a_custom_5xx_and_reports_the_attempts() {
    let boom = || {
        Err(BlazenError::provider_error("custom", "overloaded")
            .with_status(503)
            .with_request_id("req_c"))
    };
    let p = Custom::new("custom", vec![boom(), boom(), boom()]);
    let err = p
        .model()
        .with_retry(retry(2))
        .complete(&msgs())
        .await
        .unwrap_err();
    assert_eq!(p.calls(), 3);
    assert!(matches!(err, BlazenError::Provider { .. }), "{err:?}");
    assert_eq!(err.attempts(), Some(3));
    assert_eq!(err.request_id(), Some("req_c"));
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn retry_does_not_retry_custom_quota_or_explicitly_permanent_errors() {
    let p = Custom::new(
        "custom",
        vec![Err(BlazenError::quota_exceeded("custom", "budget spent")
            .with_status(429)
            .with_code("budget_exhausted"))],
    );
    let err = p
        .model()
        .with_retry(retry(3))
        .complete(&msgs())
        .await
        .unwrap_err();
    assert_eq!(p.calls(), 1);
    assert!(matches!(err, BlazenError::QuotaExceeded { .. }));
    assert_eq!(err.code(), Some("budget_exhausted"));

    let p = Custom::new(
        "custom",
        vec![Err(BlazenError::provider_error("custom", "bad deployment")
            .with_status(500)
            .with_retryable(false))],
    );
    p.model()
        .with_retry(retry(3))
        .complete(&msgs())
        .await
        .unwrap_err();
    assert_eq!(p.calls(), 1);
}

// ---------- fallback driven by errors a custom provider built ----------

#[tokio::test]
async fn fallback_on_custom_unavailability_but_not_on_the_requests_own_errors() {
    let unavailable = [
        BlazenError::auth("custom", "invalid key").with_status(401),
        BlazenError::model_not_found("custom", "custom-9").with_status(404),
        BlazenError::quota_exceeded("custom", "spent"),
        BlazenError::unsupported("no tools").with_provider("custom"),
        BlazenError::provider_error("custom", "channel key invalid")
            .with_code("channel:invalid_key"),
        BlazenError::connection("custom", "refused"),
        BlazenError::timeout(Duration::from_secs(30)).with_provider("custom"),
        BlazenError::rate_limit("custom", "slow"),
    ];
    for err in unavailable {
        let text = err.to_string();
        let primary = Custom::new("primary", vec![Err(err)]);
        let backup = Custom::new("backup", vec![answer("from backup")]);
        let r = CompletionModel::with_fallback(vec![primary.model(), backup.model()])
            .complete(&msgs())
            .await
            .unwrap_or_else(|e| panic!("{text}: no fallback ({e})"));
        assert_eq!(r.content.as_deref(), Some("from backup"), "{text}");
        assert_eq!((primary.calls(), backup.calls()), (1, 1), "{text}");
    }

    let request_errors = [
        BlazenError::validation("temperature must be >= 0").with_provider("custom"),
        BlazenError::content_policy("custom", "prompt flagged"),
        BlazenError::too_large(10, 5),
        BlazenError::invalid_media("not a png"),
    ];
    for err in request_errors {
        let text = err.to_string();
        let primary = Custom::new("primary", vec![Err(err)]);
        let backup = Custom::new("backup", vec![answer("unused")]);
        let e = CompletionModel::with_fallback(vec![primary.model(), backup.model()])
            .complete(&msgs())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), text);
        assert_eq!(
            backup.calls(),
            0,
            "{text}: fell back on an error of the request"
        );
    }
}

// ---------- a custom HTTP provider gets the built-in envelope parsing ----------

/// A minimal HTTP provider of its own, as a user would write it over reqwest.
async fn custom_http_call(url: &str) -> Result<Value, BlazenError> {
    let resp = reqwest::Client::new()
        .post(url)
        .body("{}")
        .send()
        .await
        .map_err(|e| BlazenError::connection("my-http", e.to_string()))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .bytes()
        .await
        .map_err(|e| BlazenError::stream("my-http", e.to_string()))?;
    if !(200..300).contains(&status) {
        return Err(BlazenError::from_http("my-http", status, &headers, &body));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| BlazenError::invalid_response("my-http", e.to_string(), &body))?;
    // A gateway may answer 200 with an error object.
    match BlazenError::from_stream_frame("my-http", &value) {
        Some(err) => Err(err),
        None => Ok(value),
    }
}

#[tokio::test]
async fn from_http_classifies_a_custom_providers_responses() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("{}"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .insert_header("x-request-id", "req_h")
                .set_body_json(
                    json!({"error": {"message": "Too many requests", "type": "requests",
                    "code": "rate_limit_exceeded"}}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"error": {"message": "Upstream timeout", "type": "engine_error"}}),
        ))
        .mount(&server)
        .await;

    let err = custom_http_call(&server.uri()).await.unwrap_err();
    assert!(matches!(err, BlazenError::RateLimit { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.provider(), Some("my-http"));
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.code(), Some("rate_limit_exceeded"));
    assert_eq!(err.request_id(), Some("req_h"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert!(err.raw_body().unwrap().contains("Too many requests"));

    // 200 with an error object: seed 002's engine_error, retryable.
    let err = custom_http_call(&server.uri()).await.unwrap_err();
    assert!(matches!(err, BlazenError::Provider { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.error_type(), Some("engine_error"));
}

// ---------- OpenRouter: 404 "No endpoints found" falls back; moderation 403 does not ----------

fn ok_body(text: &str) -> Value {
    json!({"model": "m", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
}

fn sse_ok(text: &str) -> String {
    format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    )
}

async fn server_answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn openrouter(server: &MockServer) -> CompletionModel {
    CompletionModel::openrouter("sk-or-test-0123456789").with_base_url(server.uri())
}

#[tokio::test]
async fn openrouter_no_endpoints_404_is_model_not_found_and_falls_back() {
    let primary = server_answering(ResponseTemplate::new(404).set_body_json(json!(
        {"error": {"message": "No endpoints found for mistralai/mixtral-8x7b-instruct.", "code": 404}}
    )))
    .await;
    let backup = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("\"stream\":true"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(sse_ok("backup")),
        )
        .mount(&backup)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body("backup")))
        .mount(&backup)
        .await;

    let err = openrouter(&primary).complete(&msgs()).await.unwrap_err();
    assert!(matches!(err, BlazenError::ModelNotFound { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(err.message().contains("No endpoints found"));

    let model = CompletionModel::with_fallback(vec![openrouter(&primary), openrouter(&backup)]);
    let r = model.complete(&msgs()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("backup"));
    assert_eq!(hits(&backup).await, 1);

    // The same through a stream, before its first chunk.
    let s = model.stream(&msgs()).await.unwrap();
    let chunks: Vec<StreamChunk> = s.map(|c| c.unwrap()).collect().await;
    let text: String = chunks.iter().filter_map(|c| c.delta.as_deref()).collect();
    assert_eq!(text, "backup");
    assert_eq!(hits(&primary).await, 3);
    assert_eq!(hits(&backup).await, 2, "the stream fell back too");
}

#[tokio::test]
async fn openrouter_moderation_403_is_content_policy_and_does_not_fall_back() {
    let primary = server_answering(
        ResponseTemplate::new(403)
            .insert_header("x-request-id", "req_mod")
            .set_body_json(json!({"error": {"code": 403,
                "message": "openai/gpt-4o requires moderation on OpenRouter. Your input was flagged for \"harassment\"",
                "metadata": {"reasons": ["harassment"], "flagged_input": "you are a ..."}}})),
    )
    .await;
    let backup =
        server_answering(ResponseTemplate::new(200).set_body_json(ok_body("unused"))).await;

    let err = CompletionModel::with_fallback(vec![openrouter(&primary), openrouter(&backup)])
        .complete(&msgs())
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::ContentPolicy { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.request_id(), Some("req_mod"));
    assert!(err.message().contains("reasons: harassment"), "{err}");
    assert!(
        err.message().contains("flagged input: \"you are a ...\""),
        "{err}"
    );
    assert_eq!(hits(&backup).await, 0);
    // The key sent never shows.
    assert!(!format!("{err} {err:?}").contains("0123456789"));

    // A plain 403 about the key stays an auth failure (and falls back).
    let primary = server_answering(
        ResponseTemplate::new(403)
            .set_body_json(json!({"error": {"code": 403, "message": "Forbidden: invalid key"}})),
    )
    .await;
    let err = openrouter(&primary).complete(&msgs()).await.unwrap_err();
    assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
}

// ---------- fal: balance exhaustion keeps every detail ----------

#[tokio::test]
async fn fal_exhausted_balance_keeps_status_request_id_and_raw_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-fal-request-id", "fal_req_1")
                .set_body_json(json!({"detail": "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."})),
        )
        .mount(&server)
        .await;
    let err = ComputeModel::fal("fal-test-key-0123456789")
        .with_base_url(server.uri())
        .with_poll(PollConfig {
            initial_interval: Duration::from_millis(5),
            multiplier: 1.5,
            max_interval: Duration::from_millis(20),
            timeout: Duration::from_secs(10),
        })
        .generate_image(ImageRequest::new("a cat"))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::QuotaExceeded { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.provider(), Some("fal"));
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.request_id(), Some("fal_req_1"));
    assert!(err.raw_body().unwrap().contains("Exhausted balance"));
    assert!(
        err.to_string()
            .starts_with("quota exceeded: User is locked"),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains("0123456789"));
}
