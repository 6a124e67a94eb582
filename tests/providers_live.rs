//! Live calls to real providers. Ignored by default; run with a key set, e.g.
//! `OPENAI_API_KEY=... cargo test --test providers_live -- --ignored`.
//! A test whose key is missing returns early.

use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, CompletionRequest, EmbeddingModel, ToolChoice,
    ToolSpec,
};
use futures::StreamExt;
use serde_json::json;

fn live(provider: &str) -> Option<CompletionModel> {
    CompletionModel::from_env(provider).ok()
}

async fn roundtrip(provider: &str) {
    let Some(model) = live(provider) else {
        eprintln!("skipped: no key for {provider}");
        return;
    };
    let messages = vec![ChatMessage::user("Reply with the single word: pong")];
    let r = model
        .complete_with(CompletionRequest::new(messages.clone()).max_tokens(16))
        .await
        .unwrap();
    assert!(r.content.unwrap().to_lowercase().contains("pong"));
    assert!(r.usage.is_some());

    let mut stream = model.stream(&messages).await.unwrap();
    let mut text = String::new();
    let mut finish = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        text.push_str(chunk.delta.as_deref().unwrap_or_default());
        if chunk.finish_reason.is_some() {
            finish = chunk.finish_reason;
        }
    }
    assert!(text.to_lowercase().contains("pong"));
    assert!(finish.is_some());

    let weather = ToolSpec::new(
        "weather",
        "Current weather of a city.",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    );
    let r = model
        .complete_with(
            CompletionRequest::new(vec![ChatMessage::user("Weather in Paris?")])
                .tool(weather)
                .tool_choice(ToolChoice::Required),
        )
        .await
        .unwrap();
    assert_eq!(r.tool_calls[0].name, "weather");

    let bad = model.clone().with_model("no-such-model-blazen");
    let err = bad.complete(&messages).await.unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    let _: &BlazenError = &err;
}

#[tokio::test]
#[ignore = "live: needs OPENAI_API_KEY"]
async fn openai_live() {
    roundtrip("openai").await;
    if let Ok(key) = std::env::var("OPENAI_API_KEY") {
        let r = EmbeddingModel::openai(key)
            .with_dimensions(256)
            .embed(&["a", "b"])
            .await
            .unwrap();
        assert_eq!(r.embeddings.len(), 2);
        assert_eq!(r.embeddings[0].len(), 256);
    }
}

#[tokio::test]
#[ignore = "live: needs GROQ_API_KEY"]
async fn groq_live() {
    roundtrip("groq").await;
}

#[tokio::test]
#[ignore = "live: needs OPENROUTER_API_KEY"]
async fn openrouter_live() {
    roundtrip("openrouter").await;
}

#[tokio::test]
#[ignore = "live: needs MISTRAL_API_KEY"]
async fn mistral_live() {
    roundtrip("mistral").await;
}

#[tokio::test]
#[ignore = "live: needs DEEPSEEK_API_KEY"]
async fn deepseek_live() {
    roundtrip("deepseek").await;
}

#[tokio::test]
#[ignore = "live: needs TOGETHER_API_KEY"]
async fn together_live() {
    roundtrip("together").await;
}

#[tokio::test]
#[ignore = "live: needs FIREWORKS_API_KEY"]
async fn fireworks_live() {
    roundtrip("fireworks").await;
}

#[tokio::test]
#[ignore = "live: needs XAI_API_KEY"]
async fn xai_live() {
    roundtrip("xai").await;
}
