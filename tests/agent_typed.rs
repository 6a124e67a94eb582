//! `run_agent_typed`: the agent's final answer as a typed value, through the provider's
//! structured output after the agent answered; usage and cost summed; a malformed answer
//! repaired, then a typed error naming the field.

#[allow(dead_code)]
mod support;

use blazen_providers::{
    run_agent_typed, AgentOptions, BlazenError, ChatMessage, CompletionResponse, TokenUsage,
};
use schemars::JsonSchema;
use serde::Deserialize;
use support::scripted_provider::{answer, ScriptedProvider};

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Forecast {
    city: String,
    celsius: f64,
}

fn with_usage(
    mut r: CompletionResponse,
    prompt: u64,
    completion: u64,
    cost: f64,
) -> CompletionResponse {
    r.usage = Some(TokenUsage::new(prompt, completion));
    r.cost = Some(cost);
    r
}

#[tokio::test]
async fn the_final_answer_comes_back_typed_with_usage_and_cost_summed() {
    let provider = ScriptedProvider::new(
        "scripted",
        vec![
            Ok(with_usage(
                answer("m", "It is 18 °C in Paris."),
                10,
                5,
                0.01,
            )),
            Ok(with_usage(
                answer("m", r#"{"city": "Paris", "celsius": 18.0}"#),
                20,
                7,
                0.02,
            )),
        ],
    );
    let typed = run_agent_typed::<Forecast>(
        &provider.model(),
        vec![ChatMessage::user("How warm is it in Paris?")],
        &[],
        AgentOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        typed.value,
        Forecast {
            city: "Paris".into(),
            celsius: 18.0
        }
    );
    assert_eq!(
        provider.calls(),
        2,
        "the agent's answer, then the typed one"
    );
    assert_eq!(typed.run.total_usage.prompt_tokens, 30);
    assert_eq!(typed.run.total_usage.completion_tokens, 12);
    assert!((typed.run.total_cost.unwrap() - 0.03).abs() < 1e-9);
    let last = typed.run.messages.last().unwrap();
    assert!(
        last.text_content().unwrap_or_default().contains("Paris"),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_wrong_answer_is_repaired_then_a_typed_error() {
    let provider = ScriptedProvider::new(
        "scripted",
        vec![
            Ok(answer("m", "Paris, warm.")),
            Ok(answer("m", r#"{"city": "Paris", "celsius": "warm"}"#)),
            Ok(answer("m", r#"{"city": "Paris", "celsius": 18.5}"#)),
        ],
    );
    let typed = run_agent_typed::<Forecast>(
        &provider.model(),
        vec![ChatMessage::user("How warm?")],
        &[],
        AgentOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(typed.value.celsius, 18.5);
    assert_eq!(provider.calls(), 3, "one repair");

    let provider = ScriptedProvider::new(
        "scripted",
        vec![
            Ok(answer("m", "Paris, warm.")),
            Ok(answer("m", r#"{"city": "Paris", "celsius": "warm"}"#)),
            Ok(answer("m", r#"{"city": "Paris", "celsius": "hot"}"#)),
        ],
    );
    let err = run_agent_typed::<Forecast>(
        &provider.model(),
        vec![ChatMessage::user("How warm?")],
        &[],
        AgentOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, BlazenError::StructuredOutput { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("celsius"), "{err}");
}

#[tokio::test]
async fn the_typed_call_keeps_the_agents_sampling_options() {
    let provider = ScriptedProvider::new(
        "scripted",
        vec![
            Ok(answer("m", "It is 18 °C in Paris.")),
            Ok(answer("m", r#"{"city": "Paris", "celsius": 18.0}"#)),
        ],
    );
    let options = AgentOptions::new().temperature(0.2).max_tokens(300);
    run_agent_typed::<Forecast>(
        &provider.model(),
        vec![ChatMessage::user("How warm is it in Paris?")],
        &[],
        options,
    )
    .await
    .unwrap();
    let requests = provider.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.temperature, Some(0.2), "{request:?}");
        assert_eq!(request.max_tokens, Some(300), "{request:?}");
    }
}
