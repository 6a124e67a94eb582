//! Gateways as users run them (LiteLLM proxy, OpenRouter, Portkey): their retry headers, their
//! "model does not exist" 400s, their request ids and their cost header, with answers scripted
//! exactly as the gateways send them (LiteLLM's error envelope: `code` the status as a string,
//! a long suffix in the message; its usage chunk with an empty delta).

use std::time::Duration;

use blazen_providers::{BlazenError, ChatMessage, CompletionModel};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn serve(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    server
}

fn litellm(server: &MockServer) -> CompletionModel {
    CompletionModel::openai_compatible(server.uri(), "sk-litellm-master").with_model("gpt-4o")
}

/// LiteLLM proxy's 429 for a rate-limited upstream, as it sends it: the upstream's Retry-After
/// forwarded under `llm_provider-*`, the proxy's own call id.
fn litellm_rate_limited(retry_headers: &[(&str, &str)]) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(429)
        .insert_header("x-litellm-call-id", "2a6e2a7c-4b0f-4e8e-9a7e-3c3f1f0c9b11")
        .insert_header("x-litellm-model-group", "gpt-4o")
        .set_body_json(json!({"error": {
            "message": "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit \
                reached for gpt-4o in organization org-xyz on tokens per min (TPM): Limit 30000, \
                Used 29718, Requested 1120. Please try again in 1.676s.. Received Model \
                Group=gpt-4o\nAvailable Model Group Fallbacks=None LiteLLM Retried: 2 times, \
                LiteLLM Max Retries: 3",
            "type": "throttling_error", "param": null, "code": "429"}}));
    for (name, value) in retry_headers {
        t = t.insert_header(*name, *value);
    }
    t
}

#[tokio::test]
async fn litellm_forwarded_retry_after_is_honoured() {
    for (headers, expected) in [
        (
            vec![("llm_provider-retry-after", "7")],
            Duration::from_secs(7),
        ),
        (
            vec![("llm_provider-retry-after-ms", "1676")],
            Duration::from_millis(1676),
        ),
        // The proxy's own header wins over the upstream's.
        (
            vec![("retry-after", "2"), ("llm_provider-retry-after", "9")],
            Duration::from_secs(2),
        ),
    ] {
        let server = serve(litellm_rate_limited(&headers)).await;
        let err = litellm(&server)
            .complete(&[ChatMessage::user("hi")])
            .await
            .unwrap_err();
        assert!(matches!(err, BlazenError::RateLimit { .. }), "{err:?}");
        assert_eq!(err.retry_after(), Some(expected), "{headers:?}");
        assert_eq!(err.code(), Some("429"));
        assert_eq!(
            err.request_id(),
            Some("2a6e2a7c-4b0f-4e8e-9a7e-3c3f1f0c9b11")
        );
    }
}

fn litellm_invalid_model() -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("x-litellm-call-id", "c0ffee00-0000-4000-8000-000000000001")
        .set_body_json(json!({"error": {
            "message": "/chat/completions: Invalid model name passed in model=gpt-9-turbo. \
                Call `/v1/models` to view available models for your key.",
            "type": "invalid_request_error", "param": "model", "code": "400"}}))
}

#[tokio::test]
async fn a_gateway_400_saying_the_model_does_not_exist_is_model_not_found() {
    let openrouter = ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "openai/gpt-9-turbo is not a valid model ID", "code": 400}}));
    let mistral = ResponseTemplate::new(400).set_body_json(json!({
        "object": "error", "message": "Invalid model: mistral-huge-9", "type": "invalid_model",
        "param": null, "code": "1500"}));
    for (gateway, answer) in [
        ("litellm", litellm_invalid_model()),
        ("openrouter", openrouter),
        ("mistral", mistral),
    ] {
        let server = serve(answer).await;
        let err = litellm(&server)
            .complete(&[ChatMessage::user("hi")])
            .await
            .unwrap_err();
        assert!(
            matches!(err, BlazenError::ModelNotFound { .. }),
            "{gateway}: {err:?}"
        );
        assert!(!err.is_retryable(), "{gateway}");
    }
    // A 400 about something else stays a validation error.
    let server = serve(ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "litellm.BadRequestError: temperature must be at most 2",
        "type": "invalid_request_error", "param": "temperature", "code": "400"}})))
    .await;
    let err = litellm(&server)
        .complete(&[ChatMessage::user("hi")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
}

#[tokio::test]
async fn with_fallback_moves_on_after_a_gateway_invalid_model_400() {
    let bad = serve(litellm_invalid_model()).await;
    let good = serve(ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hello"}}]})))
    .await;
    let model = CompletionModel::with_fallback(vec![litellm(&bad), litellm(&good)]);
    let r = model
        .complete(&[ChatMessage::user("hi")])
        .await
        .expect("the fallback answers");
    assert_eq!(r.content.as_deref(), Some("hello"));
}

#[tokio::test]
async fn gateway_request_ids_are_request_ids() {
    for (header, id) in [
        ("x-litellm-call-id", "2a6e2a7c-4b0f-4e8e-9a7e-3c3f1f0c9b11"),
        ("x-portkey-trace-id", "3c4d6a2b-portkey-trace"),
    ] {
        let server = serve(
            ResponseTemplate::new(200)
                .insert_header(header, id)
                .set_body_json(json!({"id": "chatcmpl-1", "model": "gpt-4o",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "ok"}}]})),
        )
        .await;
        let r = litellm(&server)
            .complete(&[ChatMessage::user("hi")])
            .await
            .unwrap();
        assert_eq!(r.request_id.as_deref(), Some(id), "{header}");
        let server = serve(
            ResponseTemplate::new(500)
                .insert_header(header, id)
                .set_body_json(json!({"error": {"message": "boom", "code": "500"}})),
        )
        .await;
        let err = litellm(&server)
            .complete(&[ChatMessage::user("hi")])
            .await
            .unwrap_err();
        assert_eq!(err.request_id(), Some(id), "{header}");
    }
}

#[tokio::test]
async fn the_litellm_cost_header_fills_the_cost() {
    let server = serve(
        ResponseTemplate::new(200)
            .insert_header("x-litellm-response-cost", "0.00042")
            .set_body_json(json!({"id": "chatcmpl-1", "model": "my-private-model",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "ok"}}],
                "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9}})),
    )
    .await;
    let r = litellm(&server)
        .complete(&[ChatMessage::user("hi")])
        .await
        .unwrap();
    assert_eq!(r.cost, Some(0.00042));
}

/// A LiteLLM stream: text, the finish reason, then its usage chunk whose only choice has an
/// empty delta, then `[DONE]`; the cost in a header.
fn litellm_stream() -> ResponseTemplate {
    let frames = [
        json!({"id": "chatcmpl-9", "created": 1_733_000_000, "model": "gpt-4o",
               "object": "chat.completion.chunk", "system_fingerprint": "fp_1",
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
        json!({"id": "chatcmpl-9", "created": 1_733_000_000, "model": "gpt-4o",
               "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {"content": "lo"}}]}),
        json!({"id": "chatcmpl-9", "created": 1_733_000_000, "model": "gpt-4o",
               "object": "chat.completion.chunk",
               "choices": [{"finish_reason": "stop", "index": 0, "delta": {}}]}),
        json!({"id": "chatcmpl-9", "created": 1_733_000_000, "model": "gpt-4o",
               "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {}}],
               "usage": {"completion_tokens": 2, "prompt_tokens": 8, "total_tokens": 10,
                         "completion_tokens_details": null, "prompt_tokens_details": null}}),
    ];
    let mut body = String::new();
    for f in frames {
        body.push_str(&format!("data: {f}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    ResponseTemplate::new(200)
        .insert_header("x-litellm-call-id", "5f0e-stream")
        .insert_header("x-litellm-response-cost", "0.0000375")
        .set_body_raw(body, "text/event-stream")
}

#[tokio::test]
async fn a_litellm_stream_keeps_its_usage_chunk_and_its_cost_header() {
    let server = serve(litellm_stream()).await;
    let r = litellm(&server)
        .stream_with(&[ChatMessage::user("hi")], |_| {})
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("Hello"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let u = r
        .usage
        .expect("the usage chunk with an empty delta is read");
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (8, 2, 10)
    );
    assert_eq!(r.cost, Some(0.000_037_5));
}
