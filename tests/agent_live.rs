//! Live agent runs against a real provider. Ignored by default; run with a key:
//!
//! ```sh
//! OPENAI_API_KEY=sk-... cargo test --test agent_live -- --ignored
//! ```

use blazen::prelude::*;
use blazen_providers::{
    run_agent, run_agent_stream, AgentEvent, AgentOptions, ChatMessage, CompletionModel,
};
use futures::StreamExt;

/// Multiply two integers.
#[tool]
fn multiply(a: i64, b: i64) -> i64 {
    a * b
}

fn live_model() -> CompletionModel {
    let key = std::env::var("OPENAI_API_KEY").expect("OPENAI_API_KEY is set for live tests");
    let model = CompletionModel::openai(key);
    match std::env::var("OPENAI_MODEL") {
        Ok(name) if !name.is_empty() => model.with_model(name),
        _ => model,
    }
}

#[tokio::test]
#[ignore = "live: needs OPENAI_API_KEY and network"]
async fn live_agent_uses_a_tool_and_answers() {
    let model = live_model();
    let result = run_agent(
        &model,
        vec![ChatMessage::user("What is 1234 times 5678? Use the tool.")],
        &[multiply::tool()],
        AgentOptions::new().max_iterations(4),
    )
    .await
    .expect("live run");
    assert!(result.tool_runs.iter().any(|r| r.call.name == "multiply"));
    let answer = result.answer().unwrap_or_default().replace([',', ' '], "");
    assert!(answer.contains("7006652"), "{answer}");
    assert!(result.total_usage.total_tokens > 0);
}

#[tokio::test]
#[ignore = "live: needs OPENAI_API_KEY and network"]
async fn live_agent_streams_and_finishes() {
    let model = live_model();
    let tools = [multiply::tool()];
    let mut stream = run_agent_stream(
        &model,
        vec![ChatMessage::user(
            "Compute 12 times 12 with the tool, then call `finish` with the result.",
        )],
        &tools,
        AgentOptions::new().add_finish_tool(true).max_iterations(4),
    );
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event.expect("live stream"));
    }
    let Some(AgentEvent::Done(result)) = last else {
        panic!("ends with Done");
    };
    assert!(result.answer().unwrap_or_default().contains("144"));
}
