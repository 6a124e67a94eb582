//! Bedrock Converse / ConverseStream against recorded traffic (tests/fixtures/bedrock, rig's
//! cassettes; binary event-stream bodies stored base64) and synthetic event-stream frames
//! (in-stream exceptions, damaged CRC), served from a local wiremock server.

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, CompletionRequest, ToolCall, ToolSpec,
};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[allow(dead_code)]
mod support;

use support::eventstream::frame;

fn fixture(case: &str) -> Value {
    support::fixtures::json(&format!("bedrock/{case}.json"))
}

fn event(kind: &str, payload: Value) -> Vec<u8> {
    frame(
        &[
            (":event-type", kind),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

async fn serve_bytes(
    p: &str,
    status: u16,
    ct: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (MockServer, CompletionModel) {
    let server = MockServer::start().await;
    let mut t = ResponseTemplate::new(status).set_body_raw(body, ct);
    for (k, v) in headers {
        t = t.insert_header(*k, *v);
    }
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(t)
        .mount(&server)
        .await;
    let model =
        CompletionModel::bedrock("bedrock-test-key", "us-east-1").with_base_url(server.uri());
    (server, model)
}

async fn serve_interaction(case: &str, n: usize) -> (MockServer, CompletionModel, Value) {
    let f = fixture(case);
    let it = f["interactions"][n].clone();
    let resp = &it["response"];
    let ct = resp["headers"]["content-type"].as_str().unwrap().to_owned();
    let raw = resp["body"].as_str().unwrap();
    let body = if ct.contains("eventstream") {
        support::fixtures::base64(raw)
    } else {
        raw.as_bytes().to_vec()
    };
    let extra: Vec<(String, String)> = resp["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "content-type")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let extra: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let status = u16::try_from(resp["status"].as_u64().unwrap()).unwrap();
    let (server, model) = serve_bytes(
        it["request"]["path"].as_str().unwrap(),
        status,
        &ct,
        body,
        &extra,
    )
    .await;
    (server, model, it)
}

fn calculator_tools(only_subtract: bool) -> Vec<ToolSpec> {
    let mut tools = Vec::new();
    if !only_subtract {
        tools.push(ToolSpec::new("add", "Add x and y together", json!({"properties": {"x": {"description": "The first number to add", "type": "number"}, "y": {"description": "The second number to add", "type": "number"}}, "required": ["x", "y"], "type": "object"})));
    }
    tools.push(ToolSpec::new("subtract", "Subtract y from x (i.e.: x - y)", json!({"properties": {"x": {"description": "The number to subtract from", "type": "number"}, "y": {"description": "The number to subtract", "type": "number"}}, "required": ["x", "y"], "type": "object"})));
    tools
}

#[tokio::test]
async fn converse_tool_round_trip_matches_the_recording() {
    let system =
        "You are a calculator. Use the provided tools before answering arithmetic questions.";
    let (server, model, it) = serve_interaction("agent__tool_roundtrip_smoke", 0).await;
    let req = CompletionRequest::new(vec![
        ChatMessage::system(system),
        ChatMessage::user("Calculate 2 - 5."),
    ])
    .tools(calculator_tools(false))
    .max_tokens(1024);
    let r = model.complete_with(req).await.unwrap();
    assert_eq!(
        r.tool_calls,
        vec![ToolCall::new(
            "tooluse_REDACTED_1",
            "subtract",
            json!({"x": 2, "y": 5})
        )]
    );
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (514, 70, 584)
    );
    assert_eq!(r.timing.unwrap().execution_ms, Some(712));
    assert_eq!(r.model, "amazon.nova-lite-v1:0");
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers.get("authorization").unwrap(),
        "Bearer bedrock-test-key"
    );
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    let recorded: Value = serde_json::from_str(it["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, recorded, "the request is the recorded one");

    // Second turn: the tool result goes back as a toolResult block with JSON content.
    let (server, model, it) = serve_interaction("agent__tool_roundtrip_smoke", 1).await;
    let history = vec![
        ChatMessage::system(system),
        ChatMessage::user("Calculate 2 - 5."),
        r.to_message(),
        ChatMessage::tool_result("tooluse_REDACTED_1", r#"{"result":-3}"#),
    ];
    let r2 = model
        .complete_with(
            CompletionRequest::new(history)
                .tools(calculator_tools(false))
                .max_tokens(1024),
        )
        .await
        .unwrap();
    assert!(r2.content.unwrap().contains("-3"));
    assert_eq!(r2.finish_reason.as_deref(), Some("stop"));
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let recorded: Value = serde_json::from_str(it["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["messages"], recorded["messages"]);
}

#[tokio::test]
async fn converse_stream_binary_recording_gives_text_tool_call_and_usage() {
    let (_server, model, _) = serve_interaction("streaming__streaming_tools_smoke", 0).await;
    let chunks: Vec<_> = model
        .stream_request(
            CompletionRequest::new(vec![ChatMessage::user("Calculate 2 - 5.")])
                .tools(calculator_tools(true)),
        )
        .await
        .unwrap()
        .collect()
        .await;
    let chunks: Vec<_> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    let text: String = chunks.iter().filter_map(|c| c.delta.clone()).collect();
    assert!(text.starts_with("<thinking>To calculate 2 - 5"), "{text}");
    assert!(text.ends_with("</thinking>\n"), "{text:?}");
    let calls: Vec<_> = chunks.iter().flat_map(|c| c.tool_calls.clone()).collect();
    assert_eq!(
        calls,
        vec![ToolCall::new(
            "tooluse_REDACTED_1",
            "subtract",
            json!({"x": 2, "y": 5})
        )]
    );
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason.as_deref(), Some("tool_calls"));
    let u = last.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (447, 59, 506)
    );
}

#[tokio::test]
async fn converse_stream_two_distinct_tool_calls() {
    let (_server, model, it) = serve_interaction(
        "raw_streaming__raw_stream_surfaces_two_distinct_tool_calls",
        0,
    )
    .await;
    let _ = it;
    let chunks: Vec<_> = model
        .stream(&[ChatMessage::user("go")])
        .await
        .unwrap()
        .collect()
        .await;
    let chunks: Vec<_> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    let calls: Vec<_> = chunks.iter().flat_map(|c| c.tool_calls.clone()).collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_ne!(calls[0].id, calls[1].id);
    assert!(calls
        .iter()
        .all(|c| c.invalid_arguments.is_none() && c.arguments.is_object()));
    assert!(chunks.last().unwrap().finish_reason.is_some());
}

#[tokio::test]
async fn recorded_http_errors_map_to_categories() {
    let (_s, model, _) =
        serve_interaction("model_ids__bare_profile_only_model_id_is_rejected", 0).await;
    let err = model
        .with_model("deepseek.r1-v1:0")
        .complete(&[ChatMessage::user("Say hi.")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_type(), Some("ValidationException"));
    assert!(!err.is_retryable());

    let (_s, model, _) =
        serve_interaction("model_ids__retired_model_id_preserves_provider_error", 0).await;
    let err = model
        .with_model("anthropic.claude-3-5-sonnet-20240620-v1:0")
        .complete(&[ChatMessage::user("Say hi.")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::ModelNotFound { .. }), "{err:?}");
    assert!(err.message().contains("end of its life"));
}

#[tokio::test]
async fn in_stream_throttling_exception_is_a_retryable_rate_limit() {
    let mut body = event("messageStart", json!({"role": "assistant"}));
    body.extend(event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
    ));
    body.extend(frame(
        &[
            (":exception-type", "throttlingException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    ));
    let (_s, model) = serve_bytes(
        "/model/amazon.nova-lite-v1%3A0/converse-stream",
        200,
        "application/vnd.amazon.eventstream",
        body,
        &[],
    )
    .await;
    let items: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().delta.as_deref(), Some("Hi"));
    let err = items[1].as_ref().unwrap_err();
    assert!(matches!(err, BlazenError::RateLimit { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn in_stream_model_stream_error_and_damaged_crc_are_stream_errors() {
    let body = frame(
        &[
            (":exception-type", "modelStreamErrorException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"model stream failed"}"#,
    );
    let (_s, model) = serve_bytes(
        "/model/amazon.nova-lite-v1%3A0/converse-stream",
        200,
        "application/vnd.amazon.eventstream",
        body,
        &[],
    )
    .await;
    let items: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(items[0], Err(BlazenError::Stream { .. })),
        "{items:?}"
    );

    let mut body = event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
    );
    let n = body.len();
    body[n - 6] ^= 0xFF; // damage the payload: the message CRC no longer matches
    let (_s, model) = serve_bytes(
        "/model/amazon.nova-lite-v1%3A0/converse-stream",
        200,
        "application/vnd.amazon.eventstream",
        body,
        &[],
    )
    .await;
    let items: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        items
            .iter()
            .all(|i| i.as_ref().map_or(true, |c| c.delta.is_none())),
        "no damaged text"
    );
    assert!(
        matches!(items.last().unwrap(), Err(BlazenError::Stream { .. })),
        "{items:?}"
    );
}

#[tokio::test]
async fn stream_cut_before_message_stop_is_an_error() {
    let mut body = event("messageStart", json!({"role": "assistant"}));
    body.extend(event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
    ));
    let (_s, model) = serve_bytes(
        "/model/amazon.nova-lite-v1%3A0/converse-stream",
        200,
        "application/vnd.amazon.eventstream",
        body,
        &[],
    )
    .await;
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
async fn url_images_are_clearly_unsupported() {
    let model = CompletionModel::bedrock("k", "us-east-1").with_base_url("http://127.0.0.1:9");
    let err = model
        .complete(&[ChatMessage::user_image_url(
            "what?",
            "https://example.com/a.png",
            None,
        )])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Unsupported { .. }), "{err:?}");
}

#[tokio::test]
async fn structured_output_is_a_forced_tool_whose_input_is_the_answer() {
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let request = || {
        CompletionRequest::new(vec![ChatMessage::user("Capital of France?")]).response_format(
            blazen_providers::ResponseFormat::json_schema("answer", schema.clone()),
        )
    };
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "t1", "name": "json_response", "input": {"city": "Paris"}}}
        ]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}
    });
    let (server, model) = serve_bytes(
        "/model/amazon.nova-lite-v1%3A0/converse",
        200,
        "application/json",
        body.to_string().into_bytes(),
        &[],
    )
    .await;
    let r = model.complete_with(request()).await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(r.content.as_deref().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        sent["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "json_response"}})
    );
    assert_eq!(
        sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
        schema
    );

    let mut stream = event("messageStart", json!({"role": "assistant"}));
    stream.extend(event("contentBlockStart", json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "json_response"}}})));
    stream.extend(event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"city\":"}}}),
    ));
    stream.extend(event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "\"Paris\"}"}}}),
    ));
    stream.extend(event("contentBlockStop", json!({"contentBlockIndex": 0})));
    stream.extend(event("messageStop", json!({"stopReason": "tool_use"})));
    stream.extend(event(
        "metadata",
        json!({"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}}),
    ));
    let (_s, model) = serve_bytes(
        "/model/amazon.nova-lite-v1%3A0/converse-stream",
        200,
        "application/vnd.amazon.eventstream",
        stream,
        &[],
    )
    .await;
    let r = model.stream_request_with(request(), |_| {}).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("{\"city\":\"Paris\"}"));
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
#[ignore = "live: needs AWS_BEARER_TOKEN_BEDROCK, AWS_REGION and network"]
async fn live_bedrock_complete_and_stream() {
    let model = CompletionModel::bedrock_from_env().expect("env");
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

#[tokio::test(start_paused = true)]
async fn an_event_stream_that_goes_silent_ends_with_a_timeout() {
    use support::raw_server::{chunk, head, serve};
    let delta = event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "first"}}),
    );
    let base = serve(vec![
        (
            Duration::ZERO,
            head("application/vnd.amazon.eventstream", None),
        ),
        (Duration::from_secs(60), chunk(&delta)),
    ])
    .await;
    let model = CompletionModel::bedrock("test-key", "us-east-1").with_base_url(&base);
    let mut stream = model.stream(&[ChatMessage::user("hi")]).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.delta.as_deref(), Some("first"));
    let started = tokio::time::Instant::now();
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
    assert_eq!(err.provider(), Some("bedrock"));
    assert!(err.is_retryable());
    assert!(started.elapsed() >= Duration::from_secs(600));
    assert!(stream.next().await.is_none());
}
