//! An Anthropic answer's own blocks go back verbatim in the next request of the conversation:
//! a signed thinking block (real recorded streams: adaptive thinking with its
//! `signature_delta`, redacted thinking), server tool blocks, and a `pause_turn` that
//! `run_agent` continues with the paused turn as it came. Plain answers carry nothing extra.

use blazen_providers::{run_agent, AgentOptions, ChatMessage, CompletionModel, CompletionResponse};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The first recorded response of `tests/fixtures/anthropic/<name>.json`: body, content type.
fn recorded(name: &str) -> (String, String) {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/anthropic/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let response = &file["interactions"][0]["response"];
    (
        response["body"].as_str().unwrap().to_owned(),
        response["headers"]["content-type"]
            .as_str()
            .unwrap_or("text/event-stream")
            .to_owned(),
    )
}

/// A server answering each POST /messages with the next of `answers` (the last one repeats).
async fn answering(answers: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    let n = answers.len();
    for (i, answer) in answers.into_iter().enumerate() {
        let mock = Mock::given(method("POST"))
            .and(path("/messages"))
            .respond_with(answer);
        let mock = if i + 1 < n {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(&server).await;
    }
    server
}

/// The JSON bodies the server received, in order.
async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn streamed(name: &str) -> CompletionResponse {
    let (body, content_type) = recorded(name);
    let server = answering(vec![
        ResponseTemplate::new(200).set_body_raw(body, &content_type)
    ])
    .await;
    let model = CompletionModel::anthropic("k").with_base_url(server.uri());
    model
        .stream_with(&[ChatMessage::user("question")], |_| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn a_streamed_thinking_block_goes_back_with_its_signature() {
    let first = streamed("opus_4_7__messages_adaptive_thinking_streaming_smoke").await;
    let native = first
        .native_content
        .clone()
        .expect("a thinking block must go back");
    let blocks = native.as_array().unwrap();
    assert_eq!(blocks.len(), 2, "{native}");
    assert_eq!(blocks[0]["type"], "thinking");
    assert_eq!(blocks[0]["signature"], "signature_REDACTED_2");
    // The block's text is the whole thinking, as streamed, and the answer's text the whole text.
    assert_eq!(
        blocks[0]["thinking"].as_str().unwrap(),
        first.reasoning.as_deref().unwrap()
    );
    assert_eq!(blocks[1]["type"], "text");
    assert_eq!(
        blocks[1]["text"].as_str().unwrap(),
        first.content.as_deref().unwrap()
    );

    // The next request of the conversation gives the blocks back as they came.
    let server = answering(vec![ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_2", "model": "claude-opus-4-7", "role": "assistant", "type": "message",
        "content": [{"type": "text", "text": "You're welcome."}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}
    }))])
    .await;
    let model = CompletionModel::anthropic("k").with_base_url(server.uri());
    let history = [
        ChatMessage::user("question"),
        first.to_message(),
        ChatMessage::user("thanks"),
    ];
    model.complete(&history).await.unwrap();
    let sent = &bodies(&server).await[0]["messages"];
    assert_eq!(sent[1]["role"], "assistant");
    assert_eq!(sent[1]["content"], native);
}

#[tokio::test]
async fn redacted_thinking_goes_back_too() {
    let first = streamed("messages_thinking__redacted_thinking_streaming").await;
    let native = first
        .native_content
        .expect("redacted thinking must go back");
    let kinds: Vec<&str> = native
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["redacted_thinking", "redacted_thinking", "text"]);
    assert_eq!(native[0]["data"], "redacted_thinking_REDACTED_1");
}

#[tokio::test]
async fn a_plain_answer_carries_no_native_blocks() {
    let plain = streamed("messages_sessions__sequential_tool_calls_streaming").await;
    assert!(!plain.tool_calls.is_empty());
    assert_eq!(plain.native_content, None);
    assert_eq!(plain.to_message().native_content, None);
}

#[tokio::test]
async fn run_agent_continues_a_paused_turn_with_the_turn_as_it_came() {
    let paused = json!([
        {"type": "text", "text": "Let me search."},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
         "input": {"query": "Claude Shannon birth date"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
         "content": [{"type": "web_search_result", "url": "https://example.com/shannon",
                      "title": "Claude Shannon", "encrypted_content": "EqgfCioIARgBIiQ3YTA"}]}
    ]);
    let server = answering(vec![
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_1", "model": "claude-sonnet-4-6", "role": "assistant", "type": "message",
            "content": paused, "stop_reason": "pause_turn",
            "usage": {"input_tokens": 10, "output_tokens": 5}
        })),
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_2", "model": "claude-sonnet-4-6", "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": "Claude Shannon was born on April 30, 1916."}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 20, "output_tokens": 9}
        })),
    ])
    .await;
    let model = CompletionModel::anthropic("k").with_base_url(server.uri());
    let result = run_agent(
        &model,
        vec![ChatMessage::user("When was Claude Shannon born?")],
        &[],
        AgentOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        result.answer(),
        Some("Claude Shannon was born on April 30, 1916.")
    );
    // One round, two model calls, usage of both.
    assert_eq!(result.iterations, 0);
    assert_eq!(result.total_usage.completion_tokens, 14);
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    let messages = sent[1]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"], paused);
}
