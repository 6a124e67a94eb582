//! What the OpenAI-compatible family sends: `ToolDef`s in the right schema dialect, message
//! shapes (images, tool calls and results), and embeddings split into batches and returned in
//! input order.

use blazen::prelude::*;
use blazen::ToolDef;
use blazen_providers::{
    ChatMessage, CompletionModel, CompletionRequest, ContentPart, EmbeddingModel, MediaType,
    ToolCall,
};
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "ok"}}]}))
}

async fn sent_body(server: &MockServer) -> Value {
    let reqs = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs.last().unwrap().body).unwrap()
}

/// Look up a city's weather.
#[tool]
fn weather(
    /// The city.
    city: String,
    /// Degrees unit.
    unit: Option<String>,
) -> String {
    format!("{city} {unit:?}")
}

#[tokio::test]
async fn tool_defs_use_the_strict_dialect_on_openai_and_the_plain_one_elsewhere() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let def: ToolDef = weather::tool();
    let req = CompletionRequest::new(vec![ChatMessage::user("hi")]).tools([&def]);

    CompletionModel::openai("k")
        .with_base_url(server.uri())
        .complete_with(req.clone())
        .await
        .unwrap();
    let body = sent_body(&server).await;
    let f = &body["tools"][0]["function"];
    assert_eq!(f["name"], "weather");
    assert_eq!(f["description"], def.description);
    assert_eq!(f["strict"], true);
    assert_eq!(
        f["parameters"],
        def.parameters_for(blazen::SchemaDialect::OpenAiStrict)
    );
    assert_eq!(f["parameters"]["additionalProperties"], false);

    CompletionModel::groq("k")
        .with_base_url(server.uri())
        .complete_with(req)
        .await
        .unwrap();
    let body = sent_body(&server).await;
    let f = &body["tools"][0]["function"];
    assert!(f.get("strict").is_none());
    assert_eq!(
        f["parameters"],
        def.parameters_for(blazen::SchemaDialect::OpenAi)
    );
}

#[tokio::test]
async fn messages_reach_the_wire_in_openai_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let messages = vec![
        ChatMessage::system("sys"),
        ChatMessage::user_parts(vec![
            ContentPart::text("look"),
            ContentPart::image_url("https://x/cat.jpg", MediaType::JPEG),
            ContentPart::image_base64("aGk=", MediaType::PNG),
        ]),
        ChatMessage::assistant_tool_calls(vec![ToolCall::new(
            "call_1",
            "weather",
            json!({"city": "Paris"}),
        )]),
        ChatMessage::tool_result("call_1", "sunny"),
    ];
    CompletionModel::deepseek("k")
        .with_base_url(server.uri())
        .complete(&messages)
        .await
        .unwrap();
    let body = sent_body(&server).await;
    let m = &body["messages"];
    assert_eq!(m[0], json!({"role": "system", "content": "sys"}));
    assert_eq!(m[1]["content"][0], json!({"type": "text", "text": "look"}));
    assert_eq!(m[1]["content"][1]["image_url"]["url"], "https://x/cat.jpg");
    assert_eq!(
        m[1]["content"][2]["image_url"]["url"],
        "data:image/png;base64,aGk="
    );
    assert_eq!(m[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(m[2]["tool_calls"][0]["type"], "function");
    assert_eq!(
        m[2]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "content": "sunny", "tool_call_id": "call_1"})
    );
    assert_eq!(body["model"], "deepseek-chat");
}

/// Answers an embeddings request with one vector per input (`[input length, batch position]`),
/// listed in reverse order with their `index`, as a provider may.
struct EchoEmbeddings;

impl Respond for EchoEmbeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let inputs = body["input"].as_array().unwrap();
        let mut data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({"object": "embedding", "index": i,
                       "embedding": [s.as_str().unwrap().len() as f32, i as f32]})
            })
            .collect();
        data.reverse();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "model": body["model"], "data": data,
            "usage": {"prompt_tokens": inputs.len(), "total_tokens": inputs.len()}}))
    }
}

#[tokio::test]
async fn embeddings_are_batched_and_kept_in_input_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(EchoEmbeddings)
        .mount(&server)
        .await;
    let inputs: Vec<String> = (0..300).map(|i| "x".repeat(i + 1)).collect();
    let model = EmbeddingModel::openai_compatible(server.uri(), "k").with_model("embed-1");
    let r = model.embed(&inputs).await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3, "300 inputs in batches of 128");
    assert_eq!(r.embeddings.len(), 300);
    for (i, v) in r.embeddings.iter().enumerate() {
        assert_eq!(v[0], (i + 1) as f32, "input {i} in its place");
    }
    assert_eq!(r.usage.unwrap().prompt_tokens, 300);
    assert_eq!(r.model, "embed-1");
    assert!(model
        .embed(&Vec::<String>::new())
        .await
        .unwrap()
        .embeddings
        .is_empty());
}

#[tokio::test]
async fn embedding_constructors_of_the_family() {
    for (m, name) in [
        (EmbeddingModel::openai("k"), "openai"),
        (EmbeddingModel::together("k"), "together"),
        (EmbeddingModel::fireworks("k"), "fireworks"),
        (EmbeddingModel::mistral("k"), "mistral"),
    ] {
        assert_eq!(m.provider_name(), name);
        assert!(!m.model_id().is_empty());
    }
}
