//! Recorded agent sessions (real provider traffic, `tests/fixtures/`) replayed in order against
//! `run_agent` and `run_agent_stream`: the agent must send, turn after turn, the conversation the
//! recording shows — same tool calls replayed, same tool results under the same call ids — and
//! end with the recorded answer.

#[allow(dead_code)]
mod support;

use blazen::prelude::*;
use blazen::ToolDef;
use blazen_providers::{
    run_agent, run_agent_stream, AgentEvent, AgentOptions, AgentResult, ChatMessage,
    CompletionModel, StopReason,
};
use futures::StreamExt;
use serde_json::Value;
use support::scripted_server::{content_text, recorded_requests, CapturedRequest, ScriptedServer};

// ---- the tools of the recorded "production-readiness" sessions --------------------------------

/// Return EMPTY-OK. This tool takes no arguments.
#[tool]
fn ping_empty() -> String {
    "EMPTY-OK".to_owned()
}

/// Manifest flags.
#[derive(Debug, Deserialize, JsonSchema)]
struct Flags {
    critical: bool,
    retries: i64,
}

/// One deployment step.
#[derive(Debug, Deserialize, JsonSchema)]
struct ManifestStep {
    name: String,
    weight: i64,
}

/// Validate a nested deployment manifest.
#[tool]
fn inspect_manifest(
    project: String,
    flags: Flags,
    steps: Vec<ManifestStep>,
    note: String,
) -> String {
    // The recorded answers do not depend on these; decoding them is what is exercised.
    assert!(flags.critical && !note.is_empty());
    assert!(steps.iter().all(|s| !s.name.is_empty() && s.weight > 0));
    format!(
        "MANIFEST-OK project={project} steps={} retries={}",
        steps.len(),
        flags.retries
    )
}

/// Join label strings with the requested separator.
#[tool]
fn join_labels(labels: Vec<String>, separator: String) -> String {
    format!("LABELS-OK {}", labels.join(&separator))
}

/// Validate optional and nullable argument serialization.
#[tool]
fn optional_nullable_probe(
    name: String,
    note: Option<String>,
    nullable_code: Option<String>,
) -> String {
    format!(
        "OPTIONAL-OK name={name} note={} nullable={}",
        note.as_deref().unwrap_or("missing"),
        nullable_code.as_deref().unwrap_or("null")
    )
}

/// Echo a string containing escaping-sensitive characters.
#[tool]
fn escape_echo(text: String) -> String {
    format!("ESCAPE-OK {text}")
}

/// Return the alpha signal marker.
#[tool]
fn lookup_harbor_label() -> String {
    "crimson-harbor".to_owned()
}

/// Return the beta signal marker.
#[tool]
fn lookup_orchard_label() -> String {
    "silver-orchard".to_owned()
}

fn sequential_tools() -> Vec<ToolDef> {
    vec![
        ping_empty::tool(),
        inspect_manifest::tool(),
        join_labels::tool(),
        optional_nullable_probe::tool(),
        escape_echo::tool(),
    ]
}

fn parallel_tools() -> Vec<ToolDef> {
    vec![lookup_harbor_label::tool(), lookup_orchard_label::tool()]
}

// ---- replay helpers ---------------------------------------------------------------------------

fn fixture(path: &str) -> String {
    support::fixtures::text(path)
}

/// The recorded session's first request, as the agent's input: the system prompt apart, the
/// other messages as the conversation.
fn recorded_input(fixture_json: &str) -> (Option<String>, Vec<ChatMessage>) {
    let first = &recorded_requests(fixture_json)[0];
    let mut system = None;
    let mut messages = Vec::new();
    for m in first["messages"].as_array().unwrap() {
        let text = content_text(&m["content"]);
        match m["role"].as_str().unwrap() {
            "system" => system = Some(text),
            "user" => messages.push(ChatMessage::user(text)),
            other => panic!("unexpected role {other} in a first request"),
        }
    }
    (system, messages)
}

/// A message reduced to what the agent decides: role, text, tool calls (id, name, parsed
/// arguments) and the call id a tool result answers.
fn normalize(m: &Value) -> Value {
    let calls: Vec<Value> = m["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    let raw = &c["function"]["arguments"];
                    let args = raw
                        .as_str()
                        .and_then(|s| serde_json::from_str::<Value>(s).ok())
                        .unwrap_or_else(|| raw.clone());
                    json!({"id": c["id"], "name": c["function"]["name"], "arguments": args})
                })
                .collect()
        })
        .unwrap_or_default();
    let text = content_text(&m["content"]);
    json!({
        "role": m["role"],
        "text": text,
        "tool_calls": calls,
        "tool_call_id": m.get("tool_call_id").cloned().unwrap_or(Value::Null),
    })
}

/// Every request the agent sent equals the recorded request of the same turn.
fn assert_same_conversation(sent: &[CapturedRequest], fixture_json: &str) {
    let recorded = recorded_requests(fixture_json);
    assert_eq!(sent.len(), recorded.len(), "number of model calls");
    for (turn, (ours, theirs)) in sent.iter().zip(&recorded).enumerate() {
        let ours: Vec<Value> = ours.messages().iter().map(normalize).collect();
        let theirs: Vec<Value> = theirs["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(normalize)
            .collect();
        assert_eq!(
            ours,
            theirs,
            "request #{} differs from the recording",
            turn + 1
        );
    }
}

fn recorded_final_text(fixture_json: &str) -> String {
    let fixture: Value = serde_json::from_str(fixture_json).unwrap();
    let last = fixture["interactions"].as_array().unwrap().last().unwrap();
    let body: Value = serde_json::from_str(last["response"]["body"].as_str().unwrap()).unwrap();
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn recorded_usage_total(fixture_json: &str) -> u64 {
    let fixture: Value = serde_json::from_str(fixture_json).unwrap();
    fixture["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let body: Value =
                serde_json::from_str(i["response"]["body"].as_str().unwrap()).unwrap();
            body["usage"]["total_tokens"].as_u64().unwrap()
        })
        .sum()
}

async fn replay(
    path: &str,
    tools: &[ToolDef],
    model_id: &str,
) -> (AgentResult, Vec<CapturedRequest>, String) {
    let json = fixture(path);
    let server = ScriptedServer::replay(&json).await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "test-key").with_model(model_id);
    let (system, messages) = recorded_input(&json);
    let options = AgentOptions {
        system_prompt: system,
        ..AgentOptions::default()
    };
    let result = run_agent(&model, messages, tools, options)
        .await
        .expect("replayed run");
    assert_eq!(
        server.served(),
        server.scripted(),
        "every recorded turn used, no more"
    );
    (result, server.requests().await, json)
}

// ---- sequential multi-turn sessions -----------------------------------------------------------

#[tokio::test]
async fn groq_sequential_session_replays_turn_by_turn() {
    let path = "groq/agent_tool_sessions__sequential_complex_tool_calls_nonstreaming.json";
    let (r, sent, json) = replay(path, &sequential_tools(), "llama-3.3-70b-versatile").await;
    assert_same_conversation(&sent, &json);
    assert_eq!(r.stop_reason, StopReason::Completed);
    // Six model calls: five tool-call rounds, then the answer.
    assert_eq!(r.iterations, 5);
    assert_eq!(r.tool_runs.len(), 5);
    assert_eq!(r.answer(), Some(recorded_final_text(&json).as_str()));
    assert_eq!(r.total_usage.total_tokens, recorded_usage_total(&json));
}

#[tokio::test]
async fn openrouter_sequential_session_replays_turn_by_turn() {
    let path = "openrouter/agent_tool_sessions__sequential_complex_tool_calls_nonstreaming.json";
    let (r, sent, json) = replay(path, &sequential_tools(), "openai/gpt-4o").await;
    assert_same_conversation(&sent, &json);
    // Five model calls: four tool-call rounds, then the answer.
    assert_eq!(r.iterations, 4);
    assert_eq!(sent.len(), 5);
    assert_eq!(
        r.answer(),
        Some("EMPTY-OK, MANIFEST-OK, LABELS-OK, ESCAPE-OK.")
    );
    assert_eq!(r.total_usage.total_tokens, recorded_usage_total(&json));
    assert!(r.total_cost.is_some_and(|c| c > 0.0), "{:?}", r.total_cost);
}

// ---- parallel calls in one turn -----------------------------------------------------------------

#[tokio::test]
async fn parallel_sessions_of_three_providers_replay() {
    for (path, model) in [
        (
            "deepseek/agent_tool_sessions__parallel_tool_calls_single_turn_nonstreaming.json",
            "deepseek-v4-flash",
        ),
        (
            "mistral/agent_tool_sessions__parallel_tool_calls_single_turn_nonstreaming.json",
            "mistral-small-latest",
        ),
        (
            "openrouter/agent_tool_sessions__parallel_tool_calls_single_turn_nonstreaming.json",
            "openai/gpt-4o",
        ),
    ] {
        let (r, sent, json) = replay(path, &parallel_tools(), model).await;
        assert_same_conversation(&sent, &json);
        // One round of two parallel calls, then the answer.
        assert_eq!(r.iterations, 1, "{path}");
        assert_eq!(r.tool_runs.len(), 2, "{path}");
        assert_eq!(
            r.answer(),
            Some(recorded_final_text(&json).as_str()),
            "{path}"
        );
        assert_eq!(
            r.total_usage.total_tokens,
            recorded_usage_total(&json),
            "{path}"
        );
    }
}

// ---- streamed sessions --------------------------------------------------------------------------

async fn replay_stream(
    path: &str,
    tools: &[ToolDef],
    model_id: &str,
) -> (Vec<AgentEvent>, Vec<CapturedRequest>, String) {
    let json = fixture(path);
    let server = ScriptedServer::replay(&json).await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "test-key").with_model(model_id);
    let (system, messages) = recorded_input(&json);
    let options = AgentOptions {
        system_prompt: system,
        ..AgentOptions::default()
    };
    let events: Vec<AgentEvent> = run_agent_stream(&model, messages, tools, options)
        .map(|e| e.expect("replayed stream"))
        .collect()
        .await;
    assert_eq!(server.served(), server.scripted());
    (events, server.requests().await, json)
}

#[tokio::test]
async fn streamed_parallel_session_yields_deltas_and_tool_events() {
    let path = "openrouter/agent_tool_sessions__parallel_tool_calls_single_turn_streaming.json";
    let (events, sent, json) = replay_stream(path, &parallel_tools(), "openai/gpt-4o").await;
    assert_same_conversation(&sent, &json);

    let started: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolCallStarted { call, .. } => Some(call.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["lookup_harbor_label", "lookup_orchard_label"]);
    let finished = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::ToolCallFinished { run } if run.output.is_ok()))
        .count();
    assert_eq!(finished, 2);

    let text: String = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::TextDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let Some(AgentEvent::Done(result)) = events.last() else {
        panic!("the last event is Done: {:?}", events.last());
    };
    assert!(
        text.contains("crimson-harbor") && text.contains("silver-orchard"),
        "{text}"
    );
    assert_eq!(result.answer(), Some(text.as_str()));
    assert_eq!(result.iterations, 1, "one round of two parallel calls");
    // Deltas come before the turn that contains them completes.
    let first_delta = events
        .iter()
        .position(|e| matches!(e, AgentEvent::TextDelta { .. }))
        .unwrap();
    let last_turn = events
        .iter()
        .rposition(|e| matches!(e, AgentEvent::TurnCompleted { .. }))
        .unwrap();
    assert!(first_delta < last_turn);
}

#[tokio::test]
async fn streamed_sequential_session_matches_the_blocking_run() {
    let path = "deepseek/agent_tool_sessions__sequential_complex_tool_calls_streaming.json";
    let (events, sent, json) = replay_stream(path, &sequential_tools(), "deepseek-v4-flash").await;
    assert_same_conversation(&sent, &json);
    let Some(AgentEvent::Done(result)) = events.last() else {
        panic!("the last event is Done");
    };
    assert_eq!(result.stop_reason, StopReason::Completed);
    // Every recorded request but the last asked for tools: one round each.
    assert_eq!(result.iterations, sent.len() - 1);
    let turns = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::TurnCompleted { .. }))
        .count();
    assert_eq!(turns, sent.len());
}
