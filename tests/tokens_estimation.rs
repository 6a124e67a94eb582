//! Token estimation, context windows and the opt-in pre-flight check.

#[allow(dead_code)]
mod support;

use blazen_providers::{
    context_window, count_message_tokens, estimate_tokens, preflight_check, BlazenError,
    ChatMessage, CompletionModel, CompletionRequest, ContentPart, MediaType, ToolCall,
    DEFAULT_CONTEXT_SIZE,
};
use serde_json::json;
use support::scripted_server::{text, ScriptedServer};

#[test]
fn seed_examples() {
    assert_eq!(estimate_tokens("Hello, world!", DEFAULT_CONTEXT_SIZE), 4);
    assert_eq!(estimate_tokens("Hello, world!", 32_000), 4);
    assert_eq!(DEFAULT_CONTEXT_SIZE, 128_000);
}

#[test]
fn estimate_grows_with_text_at_about_three_and_a_half_chars_per_token() {
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(100); // 4,500 chars
    let n = estimate_tokens(&text, DEFAULT_CONTEXT_SIZE);
    assert_eq!(n, 1_286); // ceil(4,500 / 3.5)
}

#[test]
fn non_ascii_text_is_not_underestimated() {
    // Three CJK characters are at least three tokens in every common tokenizer.
    assert!(estimate_tokens("東京都", DEFAULT_CONTEXT_SIZE) >= 3);
    assert!(estimate_tokens("☃☃☃☃", DEFAULT_CONTEXT_SIZE) >= 4);
}

#[test]
fn messages_cost_more_than_their_text() {
    let messages = [
        ChatMessage::system("You are helpful."),
        ChatMessage::user("Hello!"),
    ];
    let text_only: usize = ["You are helpful.", "Hello!"]
        .iter()
        .map(|t| estimate_tokens(t, DEFAULT_CONTEXT_SIZE))
        .sum();
    let n = count_message_tokens(&messages, DEFAULT_CONTEXT_SIZE);
    // 4 tokens of overhead per message, 3 to prime the reply.
    assert_eq!(n, text_only + 2 * 4 + 3);
    assert_eq!(count_message_tokens(&[], DEFAULT_CONTEXT_SIZE), 0);
}

#[test]
fn tool_calls_tool_results_and_images_count() {
    let plain = count_message_tokens(&[ChatMessage::user("hi")], DEFAULT_CONTEXT_SIZE);
    let with_image = count_message_tokens(
        &[ChatMessage::user_parts(vec![
            ContentPart::text("hi"),
            ContentPart::image_url("https://example.com/cat.png", MediaType::PNG),
        ])],
        DEFAULT_CONTEXT_SIZE,
    );
    assert!(with_image >= plain + 765, "{with_image} vs {plain}");

    let call = ToolCall::new(
        "call_1",
        "weather",
        json!({"city": "Paris", "unit": "celsius"}),
    );
    let call_msg = ChatMessage::assistant_tool_calls(vec![call]);
    let empty_assistant = ChatMessage {
        tool_calls: Vec::new(),
        ..call_msg.clone()
    };
    let with_call = count_message_tokens(&[call_msg], DEFAULT_CONTEXT_SIZE);
    let without = count_message_tokens(&[empty_assistant], DEFAULT_CONTEXT_SIZE);
    assert!(with_call > without + 5, "{with_call} vs {without}");

    let result = count_message_tokens(
        &[ChatMessage::tool_result("call_1", "18°C")],
        DEFAULT_CONTEXT_SIZE,
    );
    assert!(result > count_message_tokens(&[ChatMessage::tool("18°C")], DEFAULT_CONTEXT_SIZE));
}

#[test]
fn known_context_windows() {
    assert_eq!(context_window("gpt-4o"), Some(128_000));
    assert_eq!(context_window("gpt-4o-mini-2024-07-18"), Some(128_000));
    assert_eq!(context_window("gpt-4"), Some(8_192));
    assert_eq!(context_window("gpt-4.1-nano"), Some(1_047_576));
    assert_eq!(context_window("claude-3-5-haiku-latest"), Some(200_000));
    assert_eq!(context_window("gemini-1.5-pro"), Some(2_097_152));
    assert_eq!(context_window("llama-3.3-70b-versatile"), Some(131_072));
    assert_eq!(context_window("openrouter/some-new-model"), None);
}

#[test]
fn preflight_counts_max_tokens_and_tools() {
    // About 2,000 prompt tokens: fits 8,192 alone, not with 7,000 reserved for the answer.
    let messages = vec![ChatMessage::user("x".repeat(7_000))];
    let fits = CompletionRequest::new(messages.clone());
    let prompt = preflight_check(&fits, "gpt-4", None).expect("fits");
    assert!((2_000..2_100).contains(&prompt), "{prompt}");

    let too_much = CompletionRequest::new(messages.clone()).max_tokens(7_000);
    let err = preflight_check(&too_much, "gpt-4", None).unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("gpt-4") && msg.contains("8192") && msg.contains("7000"),
        "{msg}"
    );

    // The request's own model wins over the model's default.
    let other = CompletionRequest::new(messages)
        .max_tokens(7_000)
        .model("gpt-4o");
    assert!(preflight_check(&other, "gpt-4", None).is_ok());
}

#[tokio::test]
async fn with_preflight_check_refuses_before_sending() {
    let server = ScriptedServer::start(vec![text("short answer")]).await;
    let model = CompletionModel::openai_compatible(server.base_url(), "test-key")
        .with_model("gpt-4")
        .with_preflight_check();

    let long = vec![ChatMessage::user("word ".repeat(10_000))];
    let err = model.complete(&long).await.unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert_eq!(server.served(), 0, "the over-long request must not be sent");

    let short = model
        .complete(&[ChatMessage::user("hi")])
        .await
        .expect("short request");
    assert_eq!(short.content.as_deref(), Some("short answer"));
    assert_eq!(server.served(), 1);
}

#[tokio::test]
async fn with_context_window_checks_unlisted_models() {
    let server = ScriptedServer::start(vec![text("ok")]).await;
    let base = CompletionModel::openai_compatible(server.base_url(), "test-key")
        .with_model("my-local-llama");
    let long = vec![ChatMessage::user("word ".repeat(3_000))];

    // Unknown model: the table cannot check it, so the request goes out.
    let unchecked = base.clone().with_preflight_check();
    assert!(unchecked.complete(&long).await.is_ok());
    assert_eq!(server.served(), 1);

    let checked = base.with_context_window(2_048);
    let err = checked.complete(&long).await.unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert_eq!(server.served(), 1);
}

/// A recorded OpenAI-format request as the crate's types: messages and tools.
fn recorded_request(body: &serde_json::Value) -> CompletionRequest {
    use support::scripted_server::content_text;
    let messages = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let text = content_text(&m["content"]);
            let mut msg = match m["role"].as_str().unwrap() {
                "system" => ChatMessage::system(text),
                "user" => ChatMessage::user(text),
                "tool" => ChatMessage::tool_result(m["tool_call_id"].as_str().unwrap(), text),
                _ => ChatMessage::assistant(text),
            };
            if let Some(calls) = m["tool_calls"].as_array() {
                msg.tool_calls = calls
                    .iter()
                    .map(|c| {
                        ToolCall::from_raw(
                            c["id"].as_str().unwrap(),
                            c["function"]["name"].as_str().unwrap(),
                            c["function"]["arguments"].as_str().unwrap(),
                        )
                    })
                    .collect();
            }
            msg
        })
        .collect::<Vec<_>>();
    let tools = body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|t| {
                    let f = &t["function"];
                    blazen_providers::ToolSpec::new(
                        f["name"].as_str().unwrap(),
                        f["description"].as_str().unwrap_or_default(),
                        f["parameters"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    CompletionRequest::new(messages).tools(tools)
}

/// The estimate against the prompt tokens providers reported for 17 requests of the recorded
/// agent sessions (small prompts with tools). Measured: gpt-4o (OpenRouter) 1.16-1.55x, Mistral
/// 1.00-1.08x, Llama 3.3 (Groq) 0.85-0.90x, DeepSeek 0.52-0.54x: DeepSeek and Llama wrap tool
/// definitions in a hidden template of a few hundred tokens that no character count can see;
/// on long prompts, where a pre-flight check matters, the text dominates. The band below guards
/// the heuristic against regressions.
#[test]
fn estimates_track_recorded_prompt_tokens() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let sessions = [
        "groq/agent_tool_sessions__sequential_complex_tool_calls_nonstreaming.json",
        "openrouter/agent_tool_sessions__sequential_complex_tool_calls_nonstreaming.json",
        "deepseek/agent_tool_sessions__parallel_tool_calls_single_turn_nonstreaming.json",
        "mistral/agent_tool_sessions__parallel_tool_calls_single_turn_nonstreaming.json",
        "openrouter/agent_tool_sessions__parallel_tool_calls_single_turn_nonstreaming.json",
    ];
    let mut ratios = Vec::new();
    for session in sessions {
        let text = std::fs::read_to_string(format!("{dir}/{session}")).unwrap();
        let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
        for interaction in fixture["interactions"].as_array().unwrap() {
            let body: serde_json::Value =
                serde_json::from_str(interaction["request"]["body"].as_str().unwrap()).unwrap();
            let response: serde_json::Value =
                serde_json::from_str(interaction["response"]["body"].as_str().unwrap()).unwrap();
            let actual = response["usage"]["prompt_tokens"].as_u64().unwrap() as f64;
            let model = body["model"].as_str().unwrap();
            let estimate =
                preflight_check(&recorded_request(&body), model, Some(usize::MAX)).unwrap() as f64;
            ratios.push((session, estimate / actual));
        }
    }
    for (session, ratio) in &ratios {
        println!("{ratio:.2}  {session}");
    }
    for (session, ratio) in &ratios {
        assert!(
            (0.5..=1.6).contains(ratio),
            "{session}: estimate/actual = {ratio:.2}"
        );
    }
    assert_eq!(ratios.len(), 17);
}

#[test]
fn native_thinking_blocks_count_toward_the_prompt() {
    let plain = ChatMessage::assistant("The answer is 4.");
    let mut with_thinking = plain.clone();
    with_thinking.native_content = Some(json!([
        {"type": "thinking", "thinking": "Two plus two is four, as anyone can check by counting on their fingers.", "signature": "sig"},
        {"type": "text", "text": "The answer is 4."}
    ]));
    let without = count_message_tokens(&[plain], DEFAULT_CONTEXT_SIZE);
    let with = count_message_tokens(&[with_thinking], DEFAULT_CONTEXT_SIZE);
    assert!(with > without + 10, "{with} vs {without}");
}
