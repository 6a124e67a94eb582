//! Synthetic streams the recordings lack: a mid-stream error frame, truncated streams, UTF-8
//! split across network reads, many events per read, `[DONE]` without a finish reason, invalid
//! tool arguments from a model; and models' `Debug` output without the key.

#[allow(dead_code)]
mod support;

use blazen_providers::{
    BlazenError, CacheConfig, ChatMessage, CompletionModel, EmbeddingModel, RetryConfig,
    StreamChunk,
};
use futures::StreamExt;
use serde_json::{json, Value};
use support::provider_server::ChunkServer;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-live-SECRET-0123456789";

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn sse(events: &[Value]) -> String {
    events.iter().map(|e| format!("data: {e}\n\n")).collect()
}

async fn sse_server(body: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    server
}

fn model(base: &str) -> CompletionModel {
    CompletionModel::openai(KEY).with_base_url(format!("{base}/v1"))
}

async fn items(m: &CompletionModel) -> Vec<Result<StreamChunk, BlazenError>> {
    m.stream(&[ChatMessage::user("hi")])
        .await
        .unwrap()
        .collect()
        .await
}

#[tokio::test]
async fn error_frame_mid_stream_is_a_typed_error_that_ends_the_stream() {
    let mut body = sse(&[
        chunk(json!({"content": "Hel"}), None),
        chunk(json!({"content": "lo"}), None),
    ]);
    body.push_str(
        "data: {\"error\":{\"message\":\"The model is overloaded\",\"type\":\"server_error\",\"code\":\"model_unavailable\"}}\n\n",
    );
    body.push_str(&sse(&[chunk(json!({"content": "never"}), Some("stop"))]));
    body.push_str("data: [DONE]\n\n");
    let server = sse_server(body).await;
    let got = items(&model(&server.uri())).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].as_ref().unwrap().delta.as_deref(), Some("Hel"));
    assert_eq!(got[1].as_ref().unwrap().delta.as_deref(), Some("lo"));
    let err = got[2].as_ref().unwrap_err();
    assert_eq!(err.code(), Some("model_unavailable"));
    assert_eq!(err.error_type(), Some("server_error"));
    assert!(err.to_string().contains("The model is overloaded"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn stream_without_finish_reason_or_done_is_an_error() {
    let body = sse(&[
        chunk(json!({"content": "partial"}), None),
        chunk(json!({"content": " answer"}), None),
    ]);
    let server = sse_server(body).await;
    let got = items(&model(&server.uri())).await;
    assert_eq!(got.len(), 3);
    let err = got[2].as_ref().unwrap_err();
    assert!(matches!(err, BlazenError::Stream { .. }), "{err:?}");
}

#[tokio::test]
async fn connection_cut_mid_event_is_an_error() {
    let full = sse(&[chunk(json!({"content": "abc"}), None)]);
    let cut = &full.as_bytes()[..full.len() / 2];
    let server = ChunkServer::start(
        200,
        "text/event-stream",
        vec![
            sse(&[chunk(json!({"content": "first"}), None)]).into_bytes(),
            cut.to_vec(),
        ],
    )
    .await;
    let m = CompletionModel::openai_compatible(&server.url, KEY);
    let got = items(&m).await;
    assert_eq!(got[0].as_ref().unwrap().delta.as_deref(), Some("first"));
    assert!(got.last().unwrap().is_err(), "{got:?}");
}

#[tokio::test]
async fn done_without_finish_reason_ends_normally() {
    let mut body = sse(&[chunk(json!({"content": "ok"}), None)]);
    body.push_str("data: [DONE]\n\n");
    let server = sse_server(body).await;
    let got = items(&model(&server.uri())).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].as_ref().unwrap().delta.as_deref(), Some("ok"));
}

#[tokio::test]
async fn utf8_split_across_reads_arrives_intact() {
    let text = "héllo wörld 🦀 — 日本語";
    let mut body = sse(&[
        chunk(json!({"content": text}), None),
        chunk(json!({}), Some("stop")),
    ]);
    body.push_str("data: [DONE]\n\n");
    let bytes = body.into_bytes();
    // Cut inside every multi-byte character: the 🦀 (4 bytes) is split after its first byte.
    let crab = bytes.windows(4).position(|w| w == "🦀".as_bytes()).unwrap();
    let e_acute = bytes.windows(2).position(|w| w == "é".as_bytes()).unwrap();
    let cuts = [e_acute + 1, crab + 1, crab + 3, bytes.len() - 3];
    let mut pieces = Vec::new();
    let mut start = 0;
    for c in cuts {
        pieces.push(bytes[start..c].to_vec());
        start = c;
    }
    pieces.push(bytes[start..].to_vec());
    let server = ChunkServer::start(200, "text/event-stream", pieces).await;
    let m = CompletionModel::openai_compatible(&server.url, KEY);
    let got: Vec<StreamChunk> = items(&m).await.into_iter().map(Result::unwrap).collect();
    let joined: String = got.iter().filter_map(|c| c.delta.clone()).collect();
    assert_eq!(joined, text);
    assert_eq!(got.last().unwrap().finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn many_events_in_one_read_and_one_byte_reads() {
    let n = 2000;
    let mut events: Vec<Value> = (0..n)
        .map(|i| chunk(json!({"content": format!("{i},")}), None))
        .collect();
    events.push(chunk(json!({}), Some("stop")));
    let mut body = sse(&events);
    body.push_str("data: [DONE]\n\n");
    let want: String = (0..n).map(|i| format!("{i},")).collect();

    let server =
        ChunkServer::start(200, "text/event-stream", vec![body.clone().into_bytes()]).await;
    let m = CompletionModel::openai_compatible(&server.url, KEY);
    let joined: String = items(&m)
        .await
        .into_iter()
        .filter_map(|c| c.unwrap().delta)
        .collect();
    assert_eq!(joined, want);

    // A short stream in one-byte reads.
    let mut small = sse(&[
        chunk(json!({"content": "a\u{e9}"}), None),
        chunk(json!({}), Some("stop")),
    ]);
    small.push_str("data: [DONE]\n\n");
    let pieces: Vec<Vec<u8>> = small.into_bytes().into_iter().map(|b| vec![b]).collect();
    let server = ChunkServer::start(200, "text/event-stream", pieces).await;
    let m = CompletionModel::openai_compatible(&server.url, KEY);
    let got: Vec<StreamChunk> = items(&m).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(got[0].delta.as_deref(), Some("a\u{e9}"));
    assert_eq!(got.last().unwrap().finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn streamed_tool_call_assembled_once_with_usage_after_finish() {
    let mut body = sse(&[
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": "weather", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"ci"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "ty\":\"Paris\"}"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                                   "function": {"name": "time", "arguments": "{\"tz\": \"CE"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
        json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
    ]);
    body.push_str("data: [DONE]\n\n");
    let server = sse_server(body).await;
    let got: Vec<StreamChunk> = items(&model(&server.uri()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), 1, "{got:?}");
    let last = &got[0];
    assert_eq!(last.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(last.usage.unwrap().total_tokens, 15);
    assert_eq!(last.tool_calls.len(), 2);
    assert_eq!(last.tool_calls[0].id, "call_1");
    assert_eq!(last.tool_calls[0].arguments, json!({"city": "Paris"}));
    // The model produced invalid JSON for the second call: kept raw and reported.
    let bad = &last.tool_calls[1];
    assert_eq!(bad.name, "time");
    assert_eq!(bad.arguments, json!("{\"tz\": \"CE"));
    assert!(bad.invalid_arguments.is_some());
}

#[tokio::test]
async fn invalid_tool_arguments_in_a_complete_answer_are_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "c", "type": "function",
                                "function": {"name": "f", "arguments": "{not json"}}]}}],
        })))
        .mount(&server)
        .await;
    let r = model(&server.uri())
        .complete(&[ChatMessage::user("x")])
        .await
        .unwrap();
    assert_eq!(r.tool_calls[0].arguments, json!("{not json"));
    assert!(r.tool_calls[0].invalid_arguments.is_some());
    assert_eq!(r.tool_calls[0].arguments_json(), "{not json");
    assert!(r.usage.is_none() && r.cost.is_none());
}

#[tokio::test]
async fn non_json_success_body_is_an_invalid_response_with_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>proxy</html>", "text/html"))
        .mount(&server)
        .await;
    let err = model(&server.uri())
        .complete(&[ChatMessage::user("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, BlazenError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert_eq!(err.raw_body(), Some("<html>proxy</html>"));
}

#[tokio::test]
async fn stream_with_calls_back_and_assembles_the_answer() {
    let mut body = sse(&[
        chunk(json!({"content": "Hi"}), None),
        chunk(json!({"content": " there"}), None),
        chunk(json!({}), Some("stop")),
    ]);
    body.push_str("data: [DONE]\n\n");
    let server = sse_server(body).await;
    let mut seen = Vec::new();
    let r = model(&server.uri())
        .stream_with(&[ChatMessage::user("x")], |c| seen.push(c))
        .await
        .unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(r.content.as_deref(), Some("Hi there"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
}

#[test]
fn debug_output_never_shows_the_key() {
    let models = [
        CompletionModel::openai(KEY),
        CompletionModel::azure(KEY, "res", "dep"),
        CompletionModel::openrouter(KEY),
        CompletionModel::groq(KEY),
        CompletionModel::together(KEY),
        CompletionModel::mistral(KEY),
        CompletionModel::deepseek(KEY),
        CompletionModel::fireworks(KEY),
        CompletionModel::perplexity(KEY),
        CompletionModel::xai(KEY),
        CompletionModel::openai_compatible("http://localhost:1/v1", KEY),
        CompletionModel::openai(KEY)
            .with_cache(CacheConfig::default())
            .with_retry(RetryConfig::default()),
        CompletionModel::with_fallback(vec![CompletionModel::groq(KEY)]),
    ];
    for m in &models {
        let shown = format!("{m:?} {m:#?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
    let e = EmbeddingModel::openai(KEY).with_dimensions(256);
    assert!(!format!("{e:?}").contains("SECRET"));
}

#[test]
fn family_constructors_have_real_endpoints_and_default_models() {
    let cases = [
        (CompletionModel::openai(KEY), "openai", "gpt-4.1-mini"),
        (
            CompletionModel::groq(KEY),
            "groq",
            "llama-3.3-70b-versatile",
        ),
        (
            CompletionModel::mistral(KEY),
            "mistral",
            "mistral-small-latest",
        ),
        (CompletionModel::deepseek(KEY), "deepseek", "deepseek-chat"),
        (CompletionModel::perplexity(KEY), "perplexity", "sonar"),
    ];
    for (m, name, default) in cases {
        assert_eq!(m.provider_name(), name);
        assert_eq!(m.model_id(), default);
        assert_eq!(m.clone().with_model("x").model_id(), "x");
    }
    let shown = format!("{:?}", CompletionModel::groq(KEY));
    assert!(shown.contains("https://api.groq.com/openai/v1"), "{shown}");
    let shown = format!("{:?}", CompletionModel::azure(KEY, "res", "dep"));
    assert!(shown.contains("https://res.openai.azure.com"), "{shown}");
}

#[tokio::test]
async fn azure_uses_the_deployment_url_api_version_and_api_key_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/gpt-4o-prod/chat/completions"))
        .and(wiremock::matchers::query_param("api-version", "2024-10-21"))
        .and(wiremock::matchers::header("api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "hi"}}]})))
        .mount(&server)
        .await;
    let r = CompletionModel::azure(KEY, "res", "gpt-4o-prod")
        .with_base_url(server.uri())
        .complete(&[ChatMessage::user("x")])
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("hi"));
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(sent.headers.get("authorization").is_none());
}

#[test]
fn from_env_reads_the_conventional_variable() {
    // The variable name is unique to this test, so no other test races on it.
    let err = CompletionModel::from_env("xai");
    if std::env::var("XAI_API_KEY").is_err() {
        let err = err.unwrap_err();
        assert!(err.to_string().contains("XAI_API_KEY"), "{err}");
    }
}

#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_an_error_or_one_chunk() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": {"message": "No available channel", "type": "new_api_error",
                      "code": "channel:no_available_key"}})))
        .mount(&server)
        .await;
    let err = model(&server.uri())
        .stream(&[ChatMessage::user("x")])
        .await
        .err()
        .expect("an error envelope");
    assert_eq!(err.code(), Some("channel:no_available_key"));
    assert_eq!(err.error_type(), Some("new_api_error"));

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "whole"}}]})))
        .mount(&server)
        .await;
    let got = items(&model(&server.uri())).await;
    assert_eq!(got.len(), 1);
    let c = got[0].as_ref().unwrap();
    assert_eq!(c.delta.as_deref(), Some("whole"));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
}

#[test]
fn from_env_knows_the_native_providers() {
    // Whether or not a key is set here, the name must be known.
    for name in ["anthropic", "gemini", "cohere", "bedrock", "fal"] {
        match CompletionModel::from_env(name) {
            Ok(model) => assert_eq!(model.provider_name(), name),
            Err(err) => assert!(!err.to_string().contains("does not know"), "{name}: {err}"),
        }
    }
}

#[test]
fn a_model_of_a_new_runtime_does_not_reuse_connections_of_a_dropped_one() {
    // The server lives on its own runtime for the whole test.
    let server_rt = tokio::runtime::Runtime::new().unwrap();
    let server = server_rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "x", "object": "chat.completion", "model": "m",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "hi"}}]})))
            .mount(&server)
            .await;
        server
    });
    // Each client runtime is dropped after its request, as at the end of a #[tokio::test];
    // a process-wide connection pool would hand the second one a dead connection.
    for _ in 0..3 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let content = rt.block_on(async {
            CompletionModel::openai_compatible(server.uri(), "k")
                .complete(&[ChatMessage::user("x")])
                .await
                .unwrap()
                .content
        });
        assert_eq!(content.as_deref(), Some("hi"));
        drop(rt);
    }
    drop(server);
}
