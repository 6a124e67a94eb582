//! Cohere v2 chat (complete and stream) and embed against recorded traffic
//! (tests/fixtures/cohere, rig's cassettes) served from a local wiremock server.

#[allow(dead_code)]
#[path = "support/fixtures.rs"]
mod fixtures;

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, CompletionRequest, EmbeddingModel, ToolCall,
    ToolChoice, ToolSpec,
};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(case: &str) -> Value {
    fixtures::json(&format!("cohere/{case}.json"))
}

/// Serves interaction `n` of `case` at `at` (the recorded path unless given).
async fn serve_at(case: &str, n: usize, at: Option<&str>) -> (MockServer, Value) {
    let f = fixture(case);
    let it = f["interactions"][n].clone();
    let resp = &it["response"];
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            at.unwrap_or_else(|| it["request"]["path"].as_str().unwrap()),
        ))
        .respond_with(
            ResponseTemplate::new(u16::try_from(resp["status"].as_u64().unwrap()).unwrap())
                .set_body_raw(
                    resp["body"].as_str().unwrap().as_bytes().to_vec(),
                    resp["headers"]["content-type"].as_str().unwrap(),
                ),
        )
        .mount(&server)
        .await;
    (server, it)
}

fn model(server: &MockServer) -> CompletionModel {
    CompletionModel::cohere("co-test-key").with_base_url(format!("{}/v2", server.uri()))
}

fn recorded_request(it: &Value) -> Value {
    serde_json::from_str(it["request"]["body"].as_str().unwrap()).unwrap()
}

async fn sent(server: &MockServer) -> Value {
    serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap()
}

#[tokio::test]
async fn complete_reads_text_usage_and_sends_the_recorded_request() {
    let (server, it) = serve_at("agent__completion_smoke", 0, None).await;
    let req = CompletionRequest::new(vec![
        ChatMessage::system("You are a concise assistant. Answer directly."),
        ChatMessage::user("In one or two sentences, explain what Rust programming language is and why memory safety matters."),
    ])
    .temperature(0.2);
    let r = model(&server).complete_with(req).await.unwrap();
    assert!(r
        .content
        .as_deref()
        .unwrap()
        .starts_with("Rust is a systems programming language"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (556, 71));
    assert_eq!(r.model, "command-a-03-2025");
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        req.headers.get("authorization").unwrap(),
        "Bearer co-test-key"
    );
    let body = sent(&server).await;
    let rec = recorded_request(&it);
    assert_eq!(body["model"], rec["model"]);
    assert_eq!(body["messages"][0], rec["messages"][0]);
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(body["temperature"], rec["temperature"]);
}

#[tokio::test]
async fn max_tokens_finish_reason_is_length() {
    let (server, it) = serve_at("agent__max_tokens_sets_max_tokens_finish_reason", 0, None).await;
    let r = model(&server)
        .complete_with(
            CompletionRequest::new(vec![ChatMessage::user(
                "Write a detailed fifty-word description of the ocean.",
            )])
            .max_tokens(4),
        )
        .await
        .unwrap();
    assert_eq!(r.finish_reason.as_deref(), Some("length"));
    assert_eq!(r.content.as_deref(), Some("The ocean,"));
    assert_eq!(
        sent(&server).await["max_tokens"],
        recorded_request(&it)["max_tokens"]
    );
}

fn calculator() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            "add",
            "Add x and y together",
            json!({"properties": {"x": {"description": "The first number to add", "type": "integer"}, "y": {"description": "The second number to add", "type": "integer"}}, "required": ["x", "y"], "type": "object"}),
        ),
        ToolSpec::new(
            "subtract",
            "Subtract y from x (i.e.: x - y)",
            json!({"properties": {"x": {"description": "The number to subtract from", "type": "integer"}, "y": {"description": "The number to subtract", "type": "integer"}}, "required": ["x", "y"], "type": "object"}),
        ),
    ]
}

/// Text, tool-call argument fragments joined, and finish reason of a recorded Cohere stream.
fn read_recorded(body: &str) -> (String, String, Option<String>) {
    let (mut text, mut args, mut finish) = (String::new(), String::new(), None);
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        match v["type"].as_str().unwrap() {
            "content-delta" => text.push_str(
                v["delta"]["message"]["content"]["text"]
                    .as_str()
                    .unwrap_or(""),
            ),
            "tool-call-start" | "tool-call-delta" => {
                args.push_str(
                    v["delta"]["message"]["tool_calls"]["function"]["arguments"]
                        .as_str()
                        .unwrap_or(""),
                );
            }
            "message-end" => finish = v["delta"]["finish_reason"].as_str().map(str::to_owned),
            _ => {}
        }
    }
    (text, args, finish)
}

#[tokio::test]
async fn streamed_tool_call_round_trip() {
    let system =
        "You are a calculator. Use the provided tools before answering arithmetic questions.";
    // Turn 1: a tool plan, then one streamed tool call.
    let (server, it) = serve_at(
        "streaming_tools__streaming_tool_call_roundtrip",
        0,
        Some("/v2/chat"),
    )
    .await;
    let (_, args, _) = read_recorded(it["response"]["body"].as_str().unwrap());
    let req = CompletionRequest::new(vec![
        ChatMessage::system(system),
        ChatMessage::user("Calculate 2 - 5."),
    ])
    .tools(calculator());
    let chunks: Vec<_> = model(&server)
        .stream_request(req)
        .await
        .unwrap()
        .collect()
        .await;
    let chunks: Vec<_> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    let calls: Vec<ToolCall> = chunks.iter().flat_map(|c| c.tool_calls.clone()).collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_REDACTED_1");
    assert_eq!(calls[0].name, "subtract");
    assert_eq!(
        calls[0].arguments,
        serde_json::from_str::<Value>(&args).unwrap()
    );
    let plan: String = chunks.iter().filter_map(|c| c.reasoning.clone()).collect();
    assert_eq!(plan, "I will use the subtract tool to calculate 2 - 5.");
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(last.usage.unwrap().prompt_tokens, 1600);
    let body = sent(&server).await;
    assert_eq!(body["stream"], true);
    assert_eq!(body["tools"], recorded_request(&it)["tools"]);

    // Turn 2: the tool result goes back; the answer streams as text.
    let (server, it) = serve_at(
        "streaming_tools__streaming_tool_call_roundtrip",
        1,
        Some("/v2/chat"),
    )
    .await;
    let (text, _, _) = read_recorded(it["response"]["body"].as_str().unwrap());
    let history = vec![
        ChatMessage::system(system),
        ChatMessage::user("Calculate 2 - 5."),
        ChatMessage::assistant_tool_calls(vec![ToolCall::new(
            "call_REDACTED_1",
            "subtract",
            json!({"x": 2, "y": 5}),
        )]),
        ChatMessage::tool_result("call_REDACTED_1", "-3"),
    ];
    let r = model(&server)
        .stream_request_with(CompletionRequest::new(history).tools(calculator()), |_| {})
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some(text.as_str()));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let body = sent(&server).await;
    let rec = recorded_request(&it);
    assert_eq!(
        body["messages"][2]["tool_calls"],
        rec["messages"][2]["tool_calls"]
    );
    assert_eq!(body["messages"][3]["tool_call_id"], "call_REDACTED_1");
    assert_eq!(body["messages"][3]["role"], "tool");
}

#[tokio::test]
async fn reasoning_stream_then_tool_call() {
    let (server, it) = serve_at(
        "streaming_grammar__reasoning_then_tool_call",
        0,
        Some("/v2/chat"),
    )
    .await;
    let (_, args, _) = read_recorded(it["response"]["body"].as_str().unwrap());
    let r = model(&server)
        .with_model("command-a-reasoning-08-2025")
        .stream_request_with(
            CompletionRequest::new(vec![ChatMessage::user("2 - 5?")])
                .tools(calculator())
                .tool_choice(ToolChoice::Tool("subtract".into())),
            |_| {},
        )
        .await
        .unwrap();
    assert!(r
        .reasoning
        .as_deref()
        .unwrap()
        .starts_with("Okay, let's see."));
    assert_eq!(
        r.tool_calls[0].arguments,
        serde_json::from_str::<Value>(&args).unwrap()
    );
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    let body = sent(&server).await;
    assert_eq!(body["tool_choice"], "REQUIRED");
    assert_eq!(
        body["tools"].as_array().unwrap().len(),
        1,
        "only the chosen tool is offered"
    );
}

#[tokio::test]
async fn recorded_404s_are_model_not_found() {
    let (server, _) = serve_at(
        "errors__completion_error_preserves_status_and_body",
        0,
        Some("/v2/chat"),
    )
    .await;
    let err = model(&server)
        .with_model("command-does-not-exist")
        .complete(&[ChatMessage::user("x")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::ModelNotFound { .. }), "{err:?}");
    assert_eq!(err.status(), Some(404));
    assert!(err.message().contains("command-does-not-exist"));
    assert!(!err.is_retryable());

    let (server, _) = serve_at(
        "embedding_matrix__error_preserves_provider_body",
        0,
        Some("/v2/embed"),
    )
    .await;
    let err = EmbeddingModel::cohere("k")
        .with_base_url(format!("{}/v2", server.uri()))
        .with_model("no-such-embedding-model")
        .embed(&["a"])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::ModelNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn embed_reads_vectors_in_order() {
    // The recording is of the v1 endpoint (a bare list of vectors); v2 answers
    // `embeddings.float`. Both shapes are read.
    let (server, it) = serve_at(
        "embedding_matrix__single_text_convenience",
        0,
        Some("/v2/embed"),
    )
    .await;
    let recorded: Value = serde_json::from_str(it["response"]["body"].as_str().unwrap()).unwrap();
    let model = EmbeddingModel::cohere("co-key").with_base_url(format!("{}/v2", server.uri()));
    let r = model
        .embed(&["Rust values memory safety and predictable performance."])
        .await
        .unwrap();
    assert_eq!(r.embeddings.len(), 1);
    let expected: Vec<f32> = recorded["embeddings"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(r.embeddings[0], expected);
    let body = sent(&server).await;
    assert_eq!(body["model"], "embed-v4.0");
    assert_eq!(body["input_type"], "search_document");
    assert_eq!(body["embedding_types"], json!(["float"]));

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/embed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "e", "embeddings": {"float": [[0.1, 0.2], [0.3, 0.4]]}, "texts": ["a", "b"],
            "meta": {"billed_units": {"input_tokens": 2}}
        })))
        .mount(&server)
        .await;
    let r = EmbeddingModel::cohere("k")
        .with_base_url(format!("{}/v2", server.uri()))
        .embed(&["a", "b"])
        .await
        .unwrap();
    assert_eq!(r.embeddings, vec![vec![0.1, 0.2], vec![0.3, 0.4]]);
    assert_eq!(r.usage.unwrap().prompt_tokens, 2);
}

#[tokio::test]
async fn stream_without_message_end_is_an_error() {
    let body = "event: message-start\ndata: {\"type\":\"message-start\",\"id\":\"x\",\"delta\":{\"message\":{}}}\n\nevent: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hi\"}}}}\n\n";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/chat"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let items: Vec<_> = model(&server)
        .stream(&[ChatMessage::user("x")])
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items[0].as_ref().unwrap().delta.as_deref(), Some("Hi"));
    assert!(
        matches!(items.last().unwrap(), Err(BlazenError::Stream { .. })),
        "{items:?}"
    );
}

#[tokio::test]
async fn rate_limit_envelope_is_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/chat"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3")
                .set_body_json(json!({"id": "x", "message": "You are using a Trial key, which is limited to 10 API calls / minute."})),
        )
        .mount(&server)
        .await;
    let err = model(&server)
        .complete(&[ChatMessage::user("x")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::RateLimit { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(3)));
}

#[tokio::test]
#[ignore = "live: needs COHERE_API_KEY and network"]
async fn live_cohere_complete_stream_embed() {
    let model = CompletionModel::cohere_from_env().expect("COHERE_API_KEY");
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
    let key = std::env::var("COHERE_API_KEY").unwrap();
    assert_eq!(
        EmbeddingModel::cohere(key)
            .embed(&["a", "b"])
            .await
            .unwrap()
            .embeddings
            .len(),
        2
    );
}
