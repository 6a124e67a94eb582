//! Token counts are the provider's: a huge one (`u64::MAX`) must neither panic a debug build nor
//! wrap in release, nor make an answer unreadable. Sums saturate.

use blazen_providers::{ChatMessage, CompletionModel, EmbeddingModel};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const MAX: u64 = u64::MAX;

async fn serve_json(body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    server
}

/// The usage `model` reads from its server's answer, as (prompt, completion, total).
async fn usage_of(model: CompletionModel) -> (u64, u64, u64) {
    let r = model
        .complete(&[ChatMessage::user("hi")])
        .await
        .expect("huge counts are still an answer");
    let u = r.usage.unwrap();
    (u.prompt_tokens, u.completion_tokens, u.total_tokens)
}

/// Answers each embeddings request with one vector per input and `u64::MAX` token counts.
struct HugeUsageEmbeddings;

impl Respond for HugeUsageEmbeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let n = body["input"].as_array().map_or(1, Vec::len);
        let data: Vec<Value> = (0..n)
            .map(|i| json!({"object": "embedding", "index": i, "embedding": [0.5, 0.25]}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "model": "m", "data": data,
            "usage": {"prompt_tokens": MAX, "total_tokens": MAX},
        }))
    }
}

#[tokio::test]
async fn embedding_batches_with_huge_counts_saturate_their_sum() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(HugeUsageEmbeddings)
        .mount(&server)
        .await;
    // 300 inputs: three batches of at most 128, each reporting u64::MAX tokens.
    let inputs: Vec<String> = (0..300).map(|i| format!("text {i}")).collect();
    let r = EmbeddingModel::openai_compatible(server.uri(), "k")
        .embed(&inputs)
        .await
        .expect("huge counts are still an answer");
    assert_eq!(r.embeddings.len(), 300);
    let usage = r.usage.expect("usage summed");
    assert_eq!(usage.prompt_tokens, MAX);
    assert_eq!(usage.total_tokens, MAX);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn anthropic_usage_with_huge_counts_saturates() {
    let server = serve_json(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": MAX, "cache_creation_input_tokens": MAX,
                  "cache_read_input_tokens": MAX, "output_tokens": MAX},
    }))
    .await;
    let model = CompletionModel::anthropic("k").with_base_url(server.uri());
    assert_eq!(usage_of(model).await, (MAX, MAX, MAX));
}

#[tokio::test]
async fn gemini_usage_with_huge_counts_saturates() {
    let server = serve_json(json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]},
                        "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": MAX, "candidatesTokenCount": MAX,
                          "thoughtsTokenCount": MAX, "totalTokenCount": MAX},
    }))
    .await;
    let model = CompletionModel::gemini("k").with_base_url(server.uri());
    assert_eq!(usage_of(model).await, (MAX, MAX, MAX));
}

#[tokio::test]
async fn bedrock_usage_with_huge_counts_is_read() {
    let server = serve_json(json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": MAX, "outputTokens": MAX, "totalTokens": MAX},
    }))
    .await;
    let model = CompletionModel::bedrock("k", "us-east-1").with_base_url(server.uri());
    assert_eq!(usage_of(model).await, (MAX, MAX, MAX));
}

/// Two turns calling `clock`, then an answer; each turn reports `u64::MAX` tokens.
struct HugeUsageTurns(std::sync::atomic::AtomicUsize);

impl Respond for HugeUsageTurns {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let turn = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let message = if turn < 2 {
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("t{turn}"),
                "type": "function", "function": {"name": "clock", "arguments": "{}"}}]})
        } else {
            json!({"role": "assistant", "content": "noon"})
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "c", "model": "m",
            "choices": [{"index": 0, "finish_reason": if turn < 2 { "tool_calls" } else { "stop" },
                         "message": message}],
            "usage": {"prompt_tokens": MAX, "completion_tokens": MAX, "total_tokens": MAX},
        }))
    }
}

#[tokio::test]
async fn agent_totals_over_turns_with_huge_counts_saturate() {
    use blazen_providers::{run_agent, AgentOptions};
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(HugeUsageTurns(Default::default()))
        .mount(&server)
        .await;
    let clock = blazen::ToolDef::new(
        "clock",
        "The time",
        json!({"type": "object"}),
        |_: Value| json!("12:00"),
    );
    let model = CompletionModel::openai_compatible(server.uri(), "k").with_model("m");
    let result = run_agent(
        &model,
        vec![ChatMessage::user("time?")],
        &[clock],
        AgentOptions::new(),
    )
    .await
    .expect("the agent runs");
    assert_eq!(result.answer(), Some("noon"));
    let u = result.total_usage;
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (MAX, MAX, MAX)
    );
}
