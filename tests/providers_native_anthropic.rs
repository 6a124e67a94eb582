//! Anthropic Messages API against recorded traffic (tests/fixtures/anthropic, from rig's
//! cassettes) and synthetic cases (mid-stream `event: error`, 529, truncated streams), served
//! from a local wiremock server.

#[allow(dead_code)]
#[path = "support/fixtures.rs"]
mod fixtures;

use std::collections::BTreeMap;

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, CompletionRequest, ResponseFormat, ToolCall,
    ToolChoice, ToolSpec,
};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(case: &str) -> Value {
    fixtures::json(&format!("anthropic/{case}.json"))
}

/// Serves one response at POST /v1/messages; returns the server and a model pointed at it.
async fn serve(status: u16, content_type: &str, body: &str) -> (MockServer, CompletionModel) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), content_type),
        )
        .mount(&server)
        .await;
    let model = CompletionModel::anthropic("sk-ant-test-key")
        .with_model("claude-sonnet-4-6")
        .with_base_url(format!("{}/v1", server.uri()));
    (server, model)
}

async fn serve_interaction(case: &str, n: usize) -> (MockServer, CompletionModel, Value) {
    let f = fixture(case);
    let it = f["interactions"][n].clone();
    let resp = &it["response"];
    let ct = resp["headers"]["content-type"]
        .as_str()
        .unwrap_or("application/json")
        .to_owned();
    let (server, model) = serve(
        u16::try_from(resp["status"].as_u64().unwrap()).unwrap(),
        &ct,
        resp["body"].as_str().unwrap(),
    )
    .await;
    (server, model, it)
}

/// What a recorded Anthropic SSE body says, read with plain line splitting: text, tool calls
/// (id, name, fragments joined), stop reason and final output tokens.
fn read_recorded_stream(body: &str) -> (String, Vec<(String, String, String)>, String, u64) {
    let mut text = String::new();
    let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    let mut stop = String::new();
    let mut out_tokens = 0;
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let v: Value = serde_json::from_str(data).unwrap();
        match v["type"].as_str().unwrap_or("") {
            "content_block_start" if v["content_block"]["type"] == "tool_use" => {
                calls.insert(
                    v["index"].as_u64().unwrap(),
                    (
                        v["content_block"]["id"].as_str().unwrap().to_owned(),
                        v["content_block"]["name"].as_str().unwrap().to_owned(),
                        String::new(),
                    ),
                );
            }
            "content_block_delta" => {
                if let Some(t) = v["delta"]["text"].as_str() {
                    text.push_str(t);
                }
                if let Some(p) = v["delta"]["partial_json"].as_str() {
                    calls
                        .get_mut(&v["index"].as_u64().unwrap())
                        .unwrap()
                        .2
                        .push_str(p);
                }
            }
            "message_delta" => {
                stop = v["delta"]["stop_reason"].as_str().unwrap_or("").to_owned();
                out_tokens = v["usage"]["output_tokens"].as_u64().unwrap_or(0);
            }
            _ => {}
        }
    }
    (text, calls.into_values().collect(), stop, out_tokens)
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            "add",
            "Add x and y together",
            json!({"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]}),
        ),
        ToolSpec::new(
            "divide",
            "Compute the quotient of x and y.",
            json!({"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]}),
        ),
    ]
}

#[tokio::test]
async fn complete_with_tools_reads_text_tool_call_usage_and_sends_native_request() {
    let (server, model, it) = serve_interaction(
        "default_max_turns__default_max_turns_allows_multi_step_tool_use",
        0,
    )
    .await;
    let request = CompletionRequest::new(vec![
        ChatMessage::system("You are an assistant that must use the available tools for arithmetic. Never compute the result yourself."),
        ChatMessage::user("Calculate (3 + 5) / 4 and describe the result."),
    ])
    .tools(tools());
    let r = model.complete_with(request).await.expect("complete");
    let recorded =
        &serde_json::from_str::<Value>(it["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        r.content.as_deref(),
        recorded["content"][0]["text"].as_str()
    );
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].id, "toolu_REDACTED_1");
    assert_eq!(r.tool_calls[0].name, "add");
    assert_eq!(r.tool_calls[0].arguments, json!({"x": 3, "y": 5}));
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    let usage = r.usage.expect("usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (673, 106));
    assert_eq!(r.model, "claude-sonnet-4-6");
    assert!(r.timing.and_then(|t| t.total_ms).is_some());

    // What was sent: native shape, auth and version headers.
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(sent.headers.get("x-api-key").unwrap(), "sk-ant-test-key");
    assert_eq!(sent.headers.get("anthropic-version").unwrap(), "2023-06-01");
    assert!(sent.headers.get("authorization").is_none());
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    let recorded_req: Value =
        serde_json::from_str(it["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["system"], recorded_req["system"]);
    assert_eq!(body["messages"], recorded_req["messages"]);
    assert_eq!(
        body["tools"][0]["input_schema"],
        recorded_req["tools"][0]["input_schema"]
    );
    assert_eq!(body["model"], "claude-sonnet-4-6");
    assert!(body["max_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn tool_results_are_sent_as_tool_result_blocks_like_the_recording() {
    let (server, model, it) = serve_interaction(
        "default_max_turns__default_max_turns_allows_multi_step_tool_use",
        1,
    )
    .await;
    let history = vec![
        ChatMessage::system("You are an assistant that must use the available tools for arithmetic. Never compute the result yourself."),
        ChatMessage::user("Calculate (3 + 5) / 4 and describe the result."),
        ChatMessage {
            content: Some("I'll calculate this step by step. First, let me compute the addition **3 + 5** simultaneously — since dividing requires the sum first, let me start there!".into()),
            ..ChatMessage::assistant_tool_calls(vec![ToolCall::new("toolu_REDACTED_1", "add", json!({"x": 3, "y": 5}))])
        },
        ChatMessage::tool_result("toolu_REDACTED_1", "8"),
    ];
    let r = model
        .complete_with(CompletionRequest::new(history).tools(tools()))
        .await
        .unwrap();
    assert_eq!(r.tool_calls[0].name, "divide");
    assert_eq!(r.tool_calls[0].arguments, json!({"x": 8, "y": 4}));
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let recorded: Value = serde_json::from_str(it["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent["messages"], recorded["messages"],
        "history converted as the recorder sent it"
    );
}

async fn check_recorded_stream(case: &str) {
    let (_server, model, it) = serve_interaction(case, 0).await;
    let (text, calls, stop, out_tokens) =
        read_recorded_stream(it["response"]["body"].as_str().unwrap());
    let mut stream = model
        .stream(&[ChatMessage::user("go")])
        .await
        .expect("stream");
    let mut got_text = String::new();
    let mut got_calls: Vec<ToolCall> = Vec::new();
    let mut finish = None;
    let mut usage = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        assert!(finish.is_none(), "nothing after the final chunk");
        if let Some(d) = chunk.delta {
            got_text.push_str(&d);
        }
        got_calls.extend(chunk.tool_calls);
        if chunk.finish_reason.is_some() {
            finish = chunk.finish_reason;
            usage = chunk.usage;
        }
    }
    assert_eq!(got_text, text);
    assert_eq!(got_calls.len(), calls.len());
    for (call, (id, name, args)) in got_calls.iter().zip(&calls) {
        assert_eq!(&call.id, id);
        assert_eq!(&call.name, name);
        let expected: Value = if args.is_empty() {
            json!({})
        } else {
            serde_json::from_str(args).unwrap()
        };
        assert_eq!(
            call.arguments, expected,
            "arguments equal the recorded fragments joined"
        );
        assert!(call.invalid_arguments.is_none());
    }
    assert_eq!(
        finish.as_deref(),
        Some(if stop == "tool_use" {
            "tool_calls"
        } else {
            "stop"
        })
    );
    assert_eq!(
        usage.expect("usage on the final chunk").completion_tokens,
        out_tokens
    );
}

#[tokio::test]
async fn stream_assembles_nested_tool_arguments() {
    check_recorded_stream("messages_tool_args__nested_arguments_streaming").await;
}

#[tokio::test]
async fn stream_assembles_unicode_tool_arguments() {
    check_recorded_stream("messages_tool_args__unicode_arguments_streaming").await;
}

#[tokio::test]
async fn stream_with_thinking_blocks_completes() {
    check_recorded_stream("messages_thinking__redacted_thinking_streaming").await;
}

#[tokio::test]
async fn recorded_errors_map_to_categories() {
    let (_s, model, _) = serve_interaction(
        "error_envelope__nonexistent_model_error_preserves_status_and_body",
        0,
    )
    .await;
    let err = model
        .complete(&[ChatMessage::user("Say hi.")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::ModelNotFound { .. }), "{err:?}");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.error_type(), Some("not_found_error"));
    assert_eq!(err.request_id(), Some("req_REDACTED_1"));
    assert_eq!(err.provider(), Some("anthropic"));
    assert!(!err.is_retryable());
    // The streaming call fails the same way, before any chunk.
    assert!(matches!(
        model.stream(&[ChatMessage::user("x")]).await,
        Err(BlazenError::ModelNotFound { .. })
    ));

    let (_s, model, _) =
        serve_interaction("error_identity_edge__auth_rejection_carries_identity", 0).await;
    let err = model.complete(&[ChatMessage::user("x")]).await.unwrap_err();
    assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(!format!("{err:?} {err}").contains("sk-ant-test-key"));
}

#[tokio::test]
async fn status_529_overloaded_is_retryable() {
    let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
    let (_s, model) = serve(529, "application/json", body).await;
    let err = model.complete(&[ChatMessage::user("x")]).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.status(), Some(529));
    assert_eq!(err.error_type(), Some("overloaded_error"));
}

#[tokio::test]
async fn mid_stream_error_event_is_a_typed_retryable_error() {
    let body = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"never\"}}\n\n",
    );
    let (_s, model) = serve(200, "text/event-stream", body).await;
    let items: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(
        items.len(),
        2,
        "one text chunk, then the error ends the stream: {items:?}"
    );
    assert_eq!(items[0].as_ref().unwrap().delta.as_deref(), Some("Hel"));
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.error_type(), Some("overloaded_error"));
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn truncated_stream_is_an_error() {
    let body = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":5}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n",
    );
    let (_s, model) = serve(200, "text/event-stream", body).await;
    let items: Vec<_> = model
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    let last = items.last().expect("an item");
    assert!(matches!(last, Err(BlazenError::Stream { .. })), "{items:?}");
    assert!(
        items
            .iter()
            .all(|i| i.as_ref().map_or(true, |c| c.tool_calls.is_empty())),
        "no half tool call"
    );
}

#[tokio::test]
async fn structured_output_uses_a_forced_tool_and_returns_json_text() {
    let body = json!({
        "id": "msg_1", "model": "claude", "role": "assistant", "type": "message",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "json_response", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}
    });
    let (server, model) = serve(200, "application/json", &body.to_string()).await;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let r = model
        .complete_with(
            CompletionRequest::new(vec![ChatMessage::user("city?")])
                .response_format(ResponseFormat::json_schema("answer", schema.clone())),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(r.content.as_deref().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "json_response"})
    );
    assert_eq!(sent["tools"][0]["input_schema"], schema);
}

#[tokio::test]
async fn images_and_tool_choice_are_sent_natively() {
    let body = json!({"content": [{"type": "text", "text": "a cat"}], "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 2}});
    let (server, model) = serve(200, "application/json", &body.to_string()).await;
    let msg = ChatMessage::user_parts(vec![
        blazen_providers::ContentPart::text("What is it?"),
        blazen_providers::ContentPart::image_url(
            "https://example.com/cat.jpg",
            blazen_providers::MediaType::JPEG,
        ),
        blazen_providers::ContentPart::image_base64("aGVsbG8=", blazen_providers::MediaType::PNG),
    ]);
    let r = model
        .complete_with(
            CompletionRequest::new(vec![msg])
                .tools(tools())
                .tool_choice(ToolChoice::Required)
                .max_tokens(99),
        )
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("a cat"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let content = &sent["messages"][0]["content"];
    assert_eq!(
        content[1],
        json!({"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}})
    );
    assert_eq!(
        content[2],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "aGVsbG8="}})
    );
    assert_eq!(sent["tool_choice"], json!({"type": "any"}));
    assert_eq!(sent["max_tokens"], 99);
}

#[tokio::test]
async fn header_matchers_prove_auth_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-api-key", "k-1"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn"}),
        ))
        .mount(&server)
        .await;
    let model = CompletionModel::anthropic("k-1").with_base_url(server.uri());
    assert_eq!(
        model
            .complete(&[ChatMessage::user("x")])
            .await
            .unwrap()
            .content
            .as_deref(),
        Some("ok")
    );
}

#[tokio::test]
#[ignore = "live: needs ANTHROPIC_API_KEY and network"]
async fn live_anthropic_complete_and_stream() {
    let model = CompletionModel::anthropic_from_env()
        .expect("ANTHROPIC_API_KEY")
        .with_model("claude-haiku-4-5");
    let r = model
        .complete(&[ChatMessage::user("Say hi in one word.")])
        .await
        .unwrap();
    assert!(r.content.is_some());
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
