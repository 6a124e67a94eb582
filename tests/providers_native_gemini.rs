//! Gemini generateContent / streamGenerateContent?alt=sse against a local wiremock server:
//! request shape (systemInstruction, functionDeclarations, x-goog-api-key), function calls with
//! the thought signature echoed back, usage, finish reasons, and the native error envelope with
//! its RetryInfo delay. (The shared recordings have no Gemini cassette; these responses follow
//! the API reference.)

use std::time::Duration;

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, CompletionRequest, ToolChoice, ToolSpec,
};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

async fn serve(
    p: &str,
    status: u16,
    content_type: &str,
    body: String,
) -> (MockServer, CompletionModel) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body.into_bytes(), content_type))
        .mount(&server)
        .await;
    let model =
        CompletionModel::gemini("AIza-test-key").with_base_url(format!("{}/v1beta", server.uri()));
    (server, model)
}

async fn sent_body(server: &MockServer) -> Value {
    serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap()
}

fn weather_tool() -> ToolSpec {
    ToolSpec::new(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

fn call_response() -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Let me check."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnLTE="}
            ]},
            "finishReason": "STOP"
        }],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 7, "thoughtsTokenCount": 3, "totalTokenCount": 22},
        "modelVersion": "gemini-2.5-flash"
    })
}

#[tokio::test]
async fn complete_reads_function_call_usage_and_sends_native_request() {
    let (server, model) = serve(
        GENERATE,
        200,
        "application/json",
        call_response().to_string(),
    )
    .await;
    let r = model
        .complete_with(
            CompletionRequest::new(vec![
                ChatMessage::system("Be brief."),
                ChatMessage::user("Weather in Paris?"),
            ])
            .tools([weather_tool()])
            .tool_choice(ToolChoice::Tool("get_weather".into()))
            .temperature(0.3)
            .max_tokens(100),
        )
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("Let me check."));
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].name, "get_weather");
    assert_eq!(r.tool_calls[0].arguments, json!({"city": "Paris"}));
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (12, 10, 22)
    );
    assert_eq!(r.model, "gemini-2.5-flash");

    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.headers.get("x-goog-api-key").unwrap(), "AIza-test-key");
    assert!(
        !req.url.as_str().contains("AIza"),
        "the key is never in the URL"
    );
    let body = sent_body(&server).await;
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [{"text": "Weather in Paris?"}]}])
    );
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["name"],
        "get_weather"
    );
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["parameters"]["properties"]["city"]["type"],
        "string"
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 100);
}

#[tokio::test]
async fn thought_signature_and_function_response_go_back_with_the_history() {
    // Turn 1: the model calls a tool (with a thought signature).
    let (_s, model) = serve(
        GENERATE,
        200,
        "application/json",
        call_response().to_string(),
    )
    .await;
    let first = model
        .complete_with(
            CompletionRequest::new(vec![ChatMessage::user("Weather?")]).tools([weather_tool()]),
        )
        .await
        .unwrap();

    // Turn 2: the history replayed as-is, plus the tool result.
    let answer = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "18°C"}]}, "finishReason": "STOP"}]});
    let (server, model) = serve(GENERATE, 200, "application/json", answer.to_string()).await;
    let call = &first.tool_calls[0];
    assert_eq!(
        call.id, "gemini_call_0",
        "the id is a plain id, not the signature"
    );
    assert_eq!(call.signature.as_deref(), Some("c2lnLTE="));
    let history = vec![
        ChatMessage::user("Weather?"),
        first.to_message(),
        ChatMessage::tool_result(call.id.clone(), r#"{"temp_c": 18}"#),
    ];
    let r = model
        .complete_with(CompletionRequest::new(history).tools([weather_tool()]))
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("18°C"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let body = sent_body(&server).await;
    let model_turn = &body["contents"][1];
    assert_eq!(model_turn["role"], "model");
    let call_part = model_turn["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(
        call_part["thoughtSignature"], "c2lnLTE=",
        "signature echoed with its call"
    );
    assert_eq!(
        call_part["functionCall"],
        json!({"name": "get_weather", "args": {"city": "Paris"}})
    );
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}}]})
    );
}

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("data: {e}\r\n\r\n"))
        .collect()
}

#[tokio::test]
async fn stream_emits_text_calls_and_a_final_chunk_with_usage() {
    let body = sse(&[
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"id": "fc_1", "name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 6, "totalTokenCount": 10}}),
    ]);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(STREAM))
        .and(query_param("alt", "sse"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let model = CompletionModel::gemini("k").with_base_url(format!("{}/v1beta", server.uri()));
    let chunks: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    let chunks: Vec<_> = chunks.into_iter().map(Result::unwrap).collect();
    let text: String = chunks.iter().filter_map(|c| c.delta.clone()).collect();
    assert_eq!(text, "Hello");
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(last.tool_calls[0].name, "get_weather");
    assert_eq!(last.tool_calls[0].id, "fc_1");
    assert_eq!(last.tool_calls[0].signature.as_deref(), Some("c2ln"));
    assert_eq!(last.usage.unwrap().total_tokens, 10);
}

#[tokio::test]
async fn stream_without_finish_reason_is_an_error() {
    let body = sse(&[json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]})]);
    let (_s, model) = serve(STREAM, 200, "text/event-stream", body).await;
    let items: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(items.last().unwrap(), Err(BlazenError::Stream { .. })),
        "{items:?}"
    );
}

#[tokio::test]
async fn error_envelope_with_retry_info_is_a_rate_limit_with_its_delay() {
    let body = json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}]}});
    let (_s, model) = serve(GENERATE, 429, "application/json", body.to_string()).await;
    let err = model.complete(&[ChatMessage::user("x")]).await.unwrap_err();
    assert!(matches!(err, BlazenError::RateLimit { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(17)));
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.provider(), Some("gemini"));

    let body = json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}});
    let (_s, model) = serve(GENERATE, 400, "application/json", body.to_string()).await;
    let err = model.complete(&[ChatMessage::user("x")]).await.unwrap_err();
    assert!(!err.is_retryable());

    let body = json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}});
    let (_s, model) = serve(GENERATE, 503, "application/json", body.to_string()).await;
    assert!(model
        .complete(&[ChatMessage::user("x")])
        .await
        .unwrap_err()
        .is_retryable());
}

#[tokio::test]
async fn mid_stream_error_frame_ends_the_stream() {
    let body = sse(&[
        json!({"candidates": [{"content": {"parts": [{"text": "a"}]}}]}),
        json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}),
    ]);
    let (_s, model) = serve(STREAM, 200, "text/event-stream", body).await;
    let items: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    let err = items[1].as_ref().unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn safety_stop_and_blocked_prompt_are_content_filter() {
    let body = json!({"candidates": [{"finishReason": "SAFETY"}]});
    let (_s, model) = serve(GENERATE, 200, "application/json", body.to_string()).await;
    assert_eq!(
        model
            .complete(&[ChatMessage::user("x")])
            .await
            .unwrap()
            .finish_reason
            .as_deref(),
        Some("content_filter")
    );
    let body = json!({"promptFeedback": {"blockReason": "SAFETY"}});
    let (_s, model) = serve(GENERATE, 200, "application/json", body.to_string()).await;
    let r = model.complete(&[ChatMessage::user("x")]).await.unwrap();
    assert_eq!(r.finish_reason.as_deref(), Some("content_filter"));
    assert!(r.content.is_none());
}

#[tokio::test]
#[ignore = "live: needs GEMINI_API_KEY and network"]
async fn live_gemini_complete_and_stream() {
    let model = CompletionModel::gemini_from_env().expect("GEMINI_API_KEY");
    assert!(model
        .complete(&[ChatMessage::user("Say hi.")])
        .await
        .unwrap()
        .content
        .is_some());
    let chunks: Vec<_> = model
        .stream(&[ChatMessage::user("Count to 3.")])
        .await
        .unwrap()
        .collect()
        .await;
    assert!(chunks
        .last()
        .unwrap()
        .as_ref()
        .unwrap()
        .finish_reason
        .is_some());
}

#[tokio::test]
async fn retry_middleware_honours_the_retry_info_delay() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    struct ThenOk(AtomicUsize);
    impl wiremock::Respond for ThenOk {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
                ResponseTemplate::new(429).set_body_json(json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]}}))
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]}))
            }
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .respond_with(ThenOk(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    let model = CompletionModel::gemini("k")
        .with_base_url(format!("{}/v1beta", server.uri()))
        .with_retry(blazen_providers::RetryConfig {
            max_retries: 2,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
        });
    let started = std::time::Instant::now();
    let r = model.complete(&[ChatMessage::user("x")]).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("ok"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the server's delay, not 10 ms"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn tool_defs_are_sent_in_the_gemini_dialect() {
    let def = blazen::ToolDef::new(
        "book",
        "Book a trip",
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {"trip": {"$ref": "#/$defs/Trip"}},
            "required": ["trip"],
            "$defs": {"Trip": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
        }),
        |_args: Value| json!("ok"),
    );
    let no_args = blazen::ToolDef::new(
        "ping",
        "Ping",
        json!({"type": "object", "properties": {}}),
        |_args: Value| json!("pong"),
    );
    let answer =
        json!({"candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]});
    let (server, model) = serve(GENERATE, 200, "application/json", answer.to_string()).await;
    model
        .complete_with(CompletionRequest::new(vec![ChatMessage::user("x")]).tools([&def, &no_args]))
        .await
        .unwrap();
    let body = sent_body(&server).await;
    let decls = &body["tools"][0]["functionDeclarations"];
    let params = &decls[0]["parameters"];
    let text = params.to_string();
    assert!(
        !text.contains("$ref") && !text.contains("$defs") && !text.contains("$schema"),
        "{params}"
    );
    assert_eq!(
        params["properties"]["trip"]["properties"]["city"]["type"], "string",
        "{params}"
    );
    assert!(
        decls[1].get("parameters").is_none(),
        "no schema for a function without arguments: {decls}"
    );
}

#[tokio::test]
async fn streamed_signature_goes_back_with_its_call_id() {
    let body = sse(&[
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"id": "fc_1", "name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"}]}, "finishReason": "STOP"}]}),
    ]);
    let (_s, model) = serve(STREAM, 200, "text/event-stream", body).await;
    let chunks: Vec<_> = model
        .stream(&[ChatMessage::user("Weather?")])
        .await
        .unwrap()
        .collect()
        .await;
    let calls: Vec<_> = chunks
        .into_iter()
        .flat_map(|c| c.unwrap().tool_calls)
        .collect();
    assert_eq!(calls.len(), 1);

    let answer =
        json!({"candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]});
    let (server, model) = serve(GENERATE, 200, "application/json", answer.to_string()).await;
    let history = vec![
        ChatMessage::user("Weather?"),
        ChatMessage::assistant_tool_calls(calls.clone()),
        ChatMessage::tool_result(calls[0].id.clone(), "sunny"),
    ];
    model
        .complete_with(CompletionRequest::new(history).tools([weather_tool()]))
        .await
        .unwrap();
    let body = sent_body(&server).await;
    assert_eq!(
        body["contents"][1]["parts"][0],
        json!({"functionCall": {"id": "fc_1", "name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"})
    );
    assert_eq!(
        body["contents"][2]["parts"][0],
        json!({"functionResponse": {"id": "fc_1", "name": "get_weather", "response": {"result": "sunny"}}})
    );
}

#[tokio::test]
async fn a_signed_gemini_history_replayed_to_openai_carries_no_signature() {
    let (_s, gemini) = serve(
        GENERATE,
        200,
        "application/json",
        call_response().to_string(),
    )
    .await;
    let first = gemini
        .complete_with(
            CompletionRequest::new(vec![ChatMessage::user("Weather?")]).tools([weather_tool()]),
        )
        .await
        .unwrap();
    let call = first.tool_calls[0].clone();
    assert!(call.signature.is_some());

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "18°C"}, "finish_reason": "stop"}]
        })))
        .mount(&server)
        .await;
    let openai = CompletionModel::openai("sk-test").with_base_url(format!("{}/v1", server.uri()));
    let history = vec![
        ChatMessage::user("Weather?"),
        first.to_message(),
        ChatMessage::tool_result(call.id.clone(), r#"{"temp_c": 18}"#),
    ];
    let r = openai
        .complete_with(CompletionRequest::new(history).tools([weather_tool()]))
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("18°C"));
    let raw = server.received_requests().await.unwrap()[0].body.clone();
    let text = String::from_utf8(raw).unwrap();
    assert!(!text.contains("c2lnLTE="), "the signature leaked: {text}");
    assert!(!text.contains("ignature"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let sent_call = &body["messages"][1]["tool_calls"][0];
    assert_eq!(sent_call["id"], "gemini_call_0");
    assert_eq!(sent_call["function"]["name"], "get_weather");
    assert_eq!(body["messages"][2]["tool_call_id"], "gemini_call_0");
}

/// Adds up scores by name.
#[blazen::tool]
fn total_score(scores: std::collections::HashMap<String, i64>) -> i64 {
    scores.values().sum()
}

#[tokio::test]
async fn parameters_gemini_cannot_express_go_as_parameters_json_schema() {
    let map_tool = total_score::tool();
    assert!(
        map_tool
            .render(blazen::SchemaDialect::Gemini)
            .limitation
            .is_some(),
        "a map is beyond Gemini's `parameters`"
    );
    let ordinary = blazen::ToolDef::new(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |_args: Value| json!("sunny"),
    );
    let answer =
        json!({"candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}]});
    let (server, model) = serve(GENERATE, 200, "application/json", answer.to_string()).await;
    model
        .complete_with(
            CompletionRequest::new(vec![ChatMessage::user("x")]).tools([&map_tool, &ordinary]),
        )
        .await
        .unwrap();
    let body = sent_body(&server).await;
    let decls = &body["tools"][0]["functionDeclarations"];

    assert_eq!(decls[0]["name"], "total_score");
    assert!(decls[0].get("parameters").is_none(), "{decls}");
    let schema = &decls[0]["parametersJsonSchema"];
    assert_eq!(
        schema,
        &map_tool.parameters_for(blazen::SchemaDialect::Anthropic),
        "the standard schema"
    );
    assert_eq!(schema["properties"]["scores"]["type"], "object", "{schema}");
    assert_eq!(
        schema["properties"]["scores"]["additionalProperties"]["type"], "integer",
        "{schema}"
    );

    assert_eq!(decls[1]["name"], "get_weather");
    assert!(decls[1].get("parametersJsonSchema").is_none(), "{decls}");
    assert_eq!(
        decls[1]["parameters"]["properties"]["city"]["type"], "string",
        "{decls}"
    );
}
