//! Recorded traffic of the OpenAI-compatible family (tests/fixtures/, from rig's cassettes)
//! replayed from a local server: plain text, streamed text, streamed tool calls and error
//! envelopes for openai, openrouter, groq, mistral, deepseek and perplexity, plus embeddings.

#[allow(dead_code)]
mod support;

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, CompletionRequest, EmbeddingModel, StreamChunk,
};
use futures::StreamExt;
use serde_json::Value;
use support::provider_server::{load, parse_arguments, recorded_stream, serve};

const KEY: &str = "sk-test-0123456789abcdef";

fn model(provider: &str, base: &str) -> CompletionModel {
    let m = match provider {
        "openai" => CompletionModel::openai(KEY),
        "openrouter" => CompletionModel::openrouter(KEY),
        "groq" => CompletionModel::groq(KEY),
        "mistral" => CompletionModel::mistral(KEY),
        "deepseek" => CompletionModel::deepseek(KEY),
        "perplexity" => CompletionModel::perplexity(KEY),
        other => panic!("no model for {other}"),
    };
    m.with_base_url(base)
}

fn hello() -> Vec<ChatMessage> {
    vec![ChatMessage::user("Hello")]
}

/// A non-streaming answer: text, finish reason, usage, model and timing as recorded.
async fn check_text(provider: &str, case: &str) {
    let fx = load(provider, case);
    let it = fx.first(false);
    let (server, base) = serve(it).await;
    let r = model(provider, &base).complete(&hello()).await.unwrap();
    let want = it.response_json();
    let choice = &want["choices"][0];
    assert_eq!(
        r.content.as_deref(),
        choice["message"]["content"].as_str(),
        "{case}"
    );
    assert!(r.content.as_deref().is_some_and(|c| !c.is_empty()));
    assert_eq!(r.finish_reason.as_deref(), choice["finish_reason"].as_str());
    assert_eq!(r.model, want["model"].as_str().unwrap());
    let usage = r.usage.expect("usage");
    assert_eq!(
        usage.prompt_tokens,
        want["usage"]["prompt_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        usage.completion_tokens,
        want["usage"]["completion_tokens"].as_u64().unwrap()
    );
    assert!(r.timing.unwrap().total_ms.is_some());
    assert!(r.tool_calls.is_empty());

    // What went over the wire: the key as a bearer token, the messages, no stream flag.
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {KEY}")
    );
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["messages"][0]["content"], "Hello");
    assert!(body.get("stream").is_none());
}

async fn collect(stream: blazen_providers::ChunkStream) -> Vec<StreamChunk> {
    stream.map(|c| c.expect("chunk")).collect::<Vec<_>>().await
}

/// A streamed answer: the deltas join to the recorded text; the last chunk carries the finish
/// reason and the usage.
async fn check_stream_text(provider: &str, case: &str) {
    let fx = load(provider, case);
    let it = fx.first(true);
    let recorded = recorded_stream(&it.response.body);
    let (server, base) = serve(it).await;
    let chunks = collect(model(provider, &base).stream(&hello()).await.unwrap()).await;
    let text: String = chunks.iter().filter_map(|c| c.delta.clone()).collect();
    assert_eq!(text, recorded.text, "{case}");
    assert!(!text.is_empty());
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason, recorded.finish_reason, "{case}");
    assert_eq!(
        chunks.iter().filter(|c| c.finish_reason.is_some()).count(),
        1
    );
    if let Some((p, c, t)) = recorded.usage {
        let u = last.usage.expect("usage on the final chunk");
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (p, c, t)
        );
    }
    // A cost the provider reported rides on the final chunk.
    assert_eq!(last.cost, recorded.cost, "{case}");
    let sent = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(
        sent.headers.get("accept").unwrap().to_str().unwrap(),
        "text/event-stream"
    );
}

/// Streamed tool calls: each appears once, complete, in the final chunk; arguments equal the
/// recorded fragments joined.
async fn check_stream_tools(provider: &str, case: &str) {
    let fx = load(provider, case);
    let it = fx.first(true);
    let recorded = recorded_stream(&it.response.body);
    assert!(!recorded.tool_calls.is_empty(), "{case} has tool calls");
    let (_server, base) = serve(it).await;
    let chunks = collect(model(provider, &base).stream(&hello()).await.unwrap()).await;
    let with_calls: Vec<&StreamChunk> =
        chunks.iter().filter(|c| !c.tool_calls.is_empty()).collect();
    assert_eq!(with_calls.len(), 1, "tool calls come in one chunk");
    assert_eq!(with_calls[0].finish_reason.as_deref(), Some("tool_calls"));
    let calls = &with_calls[0].tool_calls;
    assert_eq!(calls.len(), recorded.tool_calls.len());
    for (call, (id, name, joined)) in calls.iter().zip(&recorded.tool_calls) {
        assert_eq!(&call.id, id);
        assert_eq!(&call.name, name);
        assert_eq!(call.arguments, parse_arguments(joined), "{case}: {name}");
        assert!(call.invalid_arguments.is_none());
    }
}

/// An error envelope: the error keeps provider, status, code, type, message, request id and the
/// raw body.
async fn check_error(provider: &str, case: &str) -> BlazenError {
    let fx = load(provider, case);
    let it = &fx.interactions[0];
    let (_server, base) = serve(it).await;
    let err = model(provider, &base)
        .complete(&hello())
        .await
        .expect_err("recorded error");
    assert_eq!(err.status(), Some(it.response.status), "{case}");
    assert_eq!(err.provider(), Some(provider));
    assert_eq!(err.raw_body(), Some(it.response.body.as_str()));
    assert_eq!(
        err.request_id(),
        it.response
            .headers
            .get("x-request-id")
            .or(it.response.headers.get("mistral-correlation-id"))
            .map(String::as_str)
    );
    assert!(!err.is_retryable(), "{case}: {err}");
    assert!(!format!("{err} {err:?}").contains(KEY));
    err
}

// ---------- openai ----------

#[tokio::test]
async fn openai_text() {
    check_text(
        "openai",
        "chat_history_roundtrip_matrix__blocking_gpt_4_1_mini_raw_single_tool",
    )
    .await;
}

#[tokio::test]
async fn openai_stream_text_asks_for_usage() {
    let case = "chat_history_roundtrip_matrix__streaming_gpt_4_1_mini_raw_text";
    check_stream_text("openai", case).await;
    // OpenAI sends usage only when asked, in a chunk after the finish reason.
    let it = load("openai", case).first(true).clone();
    let (server, base) = serve(&it).await;
    let _ = collect(model("openai", &base).stream(&hello()).await.unwrap()).await;
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn openai_validation_error() {
    let err = check_error(
        "openai",
        "error_identity_edge__chat_completions_validation_error_carries_identity",
    )
    .await;
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert_eq!(err.code(), Some("decimal_above_max_value"));
    assert_eq!(err.error_type(), Some("invalid_request_error"));
    assert_eq!(err.param(), Some("temperature"));
    assert!(err.to_string().contains("Invalid 'temperature'"));
}

#[tokio::test]
async fn openai_request_options_reach_the_wire() {
    let it = load(
        "openai",
        "chat_history_roundtrip_matrix__blocking_gpt_4_1_mini_raw_single_tool",
    )
    .first(false)
    .clone();
    let (server, base) = serve(&it).await;
    let schema = serde_json::json!({"type": "object", "properties": {"key": {"type": "string"}}});
    let req = CompletionRequest::new(hello())
        .temperature(0.2)
        .max_tokens(64)
        .model("gpt-4o")
        .tool(blazen_providers::ToolSpec::new(
            "lookup",
            "Look up.",
            schema.clone(),
        ))
        .tool_choice(blazen_providers::ToolChoice::Tool("lookup".into()))
        .response_format(blazen_providers::ResponseFormat::json_schema(
            "answer",
            schema.clone(),
        ));
    model("openai", &base).complete_with(req).await.unwrap();
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(body["model"], "gpt-4o");
    assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    assert_eq!(body["max_completion_tokens"], 64);
    assert_eq!(body["tools"][0]["function"]["name"], "lookup");
    assert_eq!(body["tools"][0]["function"]["parameters"], schema);
    assert_eq!(body["tool_choice"]["function"]["name"], "lookup");
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
}

// ---------- openrouter ----------

#[tokio::test]
async fn openrouter_text() {
    check_text("openrouter", "agent__completion_smoke").await;
}

#[tokio::test]
async fn openrouter_stream_text() {
    check_stream_text(
        "openrouter",
        "history_roundtrip_matrix__streaming_gpt_4_1_mini_raw_text",
    )
    .await;
}

#[tokio::test]
async fn openrouter_streamed_cost_is_the_reported_one() {
    let case = "agent_tool_sessions__parallel_tool_calls_single_turn_streaming";
    let it = load("openrouter", case).first(true).clone();
    let want = recorded_stream(&it.response.body).cost;
    assert!(want.is_some(), "the recording reports usage.cost");
    let (_server, base) = serve(&it).await;
    // `stream_with` (and so run_agent_stream) keeps the reported cost, not a table price.
    let r = model("openrouter", &base)
        .stream_with(&hello(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.cost, want);
}

#[tokio::test]
async fn openrouter_stream_tool_calls() {
    check_stream_tools(
        "openrouter",
        "agent_tool_sessions__parallel_tool_calls_single_turn_streaming",
    )
    .await;
    check_stream_tools(
        "openrouter",
        "agent_tool_sessions__raw_stream_complex_tool_call_deltas_have_object_arguments",
    )
    .await;
}

#[tokio::test]
async fn openrouter_routed_error() {
    let err = check_error(
        "openrouter",
        "response_identity_edge__routed_failure_error_shape",
    )
    .await;
    assert!(err.to_string().contains("not a valid model ID"));
}

// ---------- groq ----------

#[tokio::test]
async fn groq_text_reports_queue_time() {
    let case = "raw_capture_matrix__raw_exposes_queue_time";
    check_text("groq", case).await;
    let it = load("groq", case).first(false).clone();
    let (_s, base) = serve(&it).await;
    let r = model("groq", &base).complete(&hello()).await.unwrap();
    let queue = it.response_json()["usage"]["queue_time"].as_f64().unwrap();
    let timing = r.timing.unwrap();
    assert_eq!(timing.queue_ms, Some((queue * 1000.0).round() as u64));
    assert!(timing.execution_ms.is_some());
}

#[tokio::test]
async fn groq_stream_text() {
    check_stream_text(
        "groq",
        "agent_tool_sessions__low_latency_streaming_text_surfaces_final_usage",
    )
    .await;
}

#[tokio::test]
async fn groq_stream_tool_calls() {
    check_stream_tools(
        "groq",
        "agent_tool_sessions__parallel_tool_calls_single_turn_streaming",
    )
    .await;
    check_stream_tools(
        "groq",
        "agent_tool_sessions__raw_stream_complex_tool_call_deltas_have_object_arguments",
    )
    .await;
}

#[tokio::test]
async fn groq_auth_and_model_errors() {
    let err = check_error(
        "groq",
        "response_identity_edge__auth_rejection_classifies_with_contract",
    )
    .await;
    assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    assert_eq!(err.code(), Some("invalid_api_key"));
    let err = check_error(
        "groq",
        "response_identity_edge__provider_error_response_carries_request_id",
    )
    .await;
    assert!(matches!(err, BlazenError::ModelNotFound { .. }), "{err:?}");
}

// ---------- mistral ----------

#[tokio::test]
async fn mistral_text() {
    check_text(
        "mistral",
        "history_roundtrip_matrix__blocking_mistral_small_normalized_text",
    )
    .await;
}

#[tokio::test]
async fn mistral_stream_text_without_stream_options() {
    let case = "history_roundtrip_matrix__streaming_mistral_small_raw_text";
    check_stream_text("mistral", case).await;
    let it = load("mistral", case).first(true).clone();
    let (server, base) = serve(&it).await;
    let _ = collect(model("mistral", &base).stream(&hello()).await.unwrap()).await;
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(body.get("stream_options").is_none());
}

#[tokio::test]
async fn mistral_stream_tool_calls() {
    check_stream_tools(
        "mistral",
        "agent_tool_sessions__parallel_tool_calls_single_turn_streaming",
    )
    .await;
    check_stream_tools(
        "mistral",
        "agent_tool_sessions__raw_stream_complex_tool_call_deltas_have_object_arguments",
    )
    .await;
}

#[tokio::test]
async fn mistral_error_envelope() {
    let err = check_error(
        "mistral",
        "logprobs_rejection_matrix__blocking_mistral_small",
    )
    .await;
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert_eq!(err.code(), Some("3051"));
    assert!(err.to_string().contains("Logprobs are not enabled"));
}

// ---------- deepseek ----------

#[tokio::test]
async fn deepseek_text() {
    check_text("deepseek", "agent__completion_smoke").await;
}

#[tokio::test]
async fn deepseek_stream_text() {
    check_stream_text(
        "deepseek",
        "followup_hunt_matrix__streaming_stop_sequence_reaches_the_wire_and_stops_generation",
    )
    .await;
}

#[tokio::test]
async fn deepseek_stream_tool_calls() {
    check_stream_tools(
        "deepseek",
        "agent_tool_sessions__parallel_tool_calls_single_turn_streaming",
    )
    .await;
    check_stream_tools(
        "deepseek",
        "agent_tool_sessions__raw_stream_complex_tool_call_deltas_have_object_arguments",
    )
    .await;
}

#[tokio::test]
async fn deepseek_error_envelope() {
    let err = check_error(
        "deepseek",
        "wire_shape_matrix__blocking_image_url_part_reaches_the_wire",
    )
    .await;
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert_eq!(err.error_type(), Some("invalid_request_error"));
}

// ---------- perplexity ----------

#[tokio::test]
async fn perplexity_text_with_reported_cost() {
    check_text("perplexity", "agent__completion_smoke").await;
    let it = load("perplexity", "agent__completion_smoke")
        .first(false)
        .clone();
    let (_s, base) = serve(&it).await;
    let r = model("perplexity", &base).complete(&hello()).await.unwrap();
    let want = it.response_json()["usage"]["cost"]["total_cost"].as_f64();
    assert!(want.is_some());
    assert_eq!(r.cost, want);
}

#[tokio::test]
async fn perplexity_stream_without_done() {
    // Perplexity ends its stream after the finish reason, without `[DONE]`: a normal end.
    check_stream_text("perplexity", "streaming__streaming_smoke").await;
}

// ---------- embeddings ----------

#[tokio::test]
async fn openai_embeddings_in_input_order_with_dimensions() {
    let fx = load("openai", "embedding_matrix__dimensions_request");
    let it = &fx.interactions[0];
    let sent = it.request_json();
    let inputs: Vec<String> = match &sent["input"] {
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        Value::String(s) => vec![s.clone()],
        other => panic!("input {other}"),
    };
    let dims = sent["dimensions"].as_u64().unwrap() as u32;
    let (server, base) = serve(it).await;
    let model = EmbeddingModel::openai(KEY)
        .with_model(sent["model"].as_str().unwrap())
        .with_dimensions(dims)
        .with_base_url(&base);
    let r = model.embed(&inputs).await.unwrap();
    let want = it.response_json();
    let data = want["data"].as_array().unwrap();
    assert_eq!(r.embeddings.len(), inputs.len());
    for d in data {
        let i = d["index"].as_u64().unwrap() as usize;
        let v: Vec<f32> = d["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(r.embeddings[i], v);
        assert_eq!(v.len(), dims as usize);
    }
    assert_eq!(
        r.usage.unwrap().prompt_tokens,
        want["usage"]["prompt_tokens"].as_u64().unwrap()
    );
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(body["dimensions"], dims);
}

#[tokio::test]
async fn openai_embeddings_error() {
    let fx = load("openai", "embedding_matrix__error_preserves_provider_body");
    let (_s, base) = serve(&fx.interactions[0]).await;
    let err = EmbeddingModel::openai(KEY)
        .with_model("no-such-embedding-model")
        .with_base_url(&base)
        .embed(&["x"])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::ModelNotFound { .. }), "{err:?}");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some("model_not_found"));
}
