//! `run_agent` over native (non-OpenAI) wire formats: recorded Anthropic Messages sessions
//! (blocking and streamed) and a recorded Bedrock Converse session, replayed in order. The agent
//! loop is the same; each provider renders the tools, the assistant's tool calls and the tool
//! results in its own format, and every request must match the recording.

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
use support::scripted_server::{recorded_requests, CapturedRequest, Reply, ScriptedServer};

/// A number as the recorded tools printed it: whole numbers without a fraction.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// Add x and y together
#[tool]
fn add(x: f64, y: f64) -> Value {
    number(x + y)
}

/// Subtract y from x (i.e.: x - y)
#[tool]
fn subtract(x: f64, y: f64) -> Value {
    number(x - y)
}

/// Compute the quotient of x and y.
#[tool]
fn divide(x: f64, y: f64) -> Result<Value, String> {
    if y == 0.0 {
        return Err("division by zero".into());
    }
    Ok(number(x / y))
}

/// Subtract y from x (i.e.: x - y)
#[tool(name = "subtract")]
fn subtract_object(x: f64, y: f64) -> Value {
    // The recorded Bedrock session's tool answered with an object.
    json!({ "result": number(x - y) })
}

fn fixture(path: &str) -> String {
    support::fixtures::text(path)
}

/// Text of a content value: a string, or the text of its blocks.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// JSON text compared as JSON, other text as text.
fn as_json_or_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The conversation of an Anthropic or Bedrock request as a list of typed blocks per message.
fn blocks(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let content: Vec<Value> = match &m["content"] {
                Value::String(s) => vec![json!(["text", s])],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|b| {
                        // Anthropic blocks
                        match b["type"].as_str() {
                            Some("text") => return Some(json!(["text", b["text"]])),
                            Some("tool_use") => {
                                return Some(json!(["call", b["id"], b["name"], b["input"]]))
                            }
                            Some("tool_result") => {
                                return Some(json!([
                                    "result",
                                    b["tool_use_id"],
                                    as_json_or_text(&text_of(&b["content"]))
                                ]))
                            }
                            _ => {}
                        }
                        // Bedrock blocks
                        if let Some(t) = b["text"].as_str() {
                            return Some(json!(["text", t]));
                        }
                        if let Some(u) = b.get("toolUse") {
                            return Some(json!(["call", u["toolUseId"], u["name"], u["input"]]));
                        }
                        if let Some(r) = b.get("toolResult") {
                            let part = &r["content"][0];
                            let value = part.get("json").cloned().unwrap_or_else(|| {
                                as_json_or_text(part["text"].as_str().unwrap_or(""))
                            });
                            return Some(json!(["result", r["toolUseId"], value]));
                        }
                        None
                    })
                    .collect(),
                _ => Vec::new(),
            };
            json!([m["role"], content])
        })
        .collect()
}

fn system_text(body: &Value) -> String {
    text_of(&body["system"])
}

fn assert_same_conversation(sent: &[CapturedRequest], fixture_json: &str) {
    let recorded = recorded_requests(fixture_json);
    assert_eq!(sent.len(), recorded.len(), "number of model calls");
    for (turn, (ours, theirs)) in sent.iter().zip(&recorded).enumerate() {
        assert_eq!(
            blocks(&ours.body),
            blocks(theirs),
            "request #{} differs from the recording",
            turn + 1
        );
        assert_eq!(system_text(&ours.body), system_text(theirs));
    }
}

/// The first recorded request as the agent's input.
fn recorded_input(fixture_json: &str) -> (String, Vec<ChatMessage>) {
    let first = &recorded_requests(fixture_json)[0];
    let user = first["messages"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    (system_text(first), vec![ChatMessage::user(user)])
}

async fn replay(
    path: &str,
    model: impl Fn(String) -> CompletionModel,
    tools: &[ToolDef],
) -> (AgentResult, Vec<CapturedRequest>, String) {
    let json = fixture(path);
    let server = ScriptedServer::replay(&json).await;
    let model = model(server.base_url());
    let (system, messages) = recorded_input(&json);
    let options = AgentOptions::new().system_prompt(system);
    let result = run_agent(&model, messages, tools, options)
        .await
        .expect("replayed run");
    assert_eq!(server.served(), server.scripted());
    (result, server.requests().await, json)
}

#[tokio::test]
async fn anthropic_session_replays_turn_by_turn() {
    let path = "anthropic/default_max_turns__default_max_turns_allows_multi_step_tool_use.json";
    let model = |url: String| {
        CompletionModel::anthropic("test-key")
            .with_base_url(url)
            .with_model("claude-sonnet-4-6")
    };
    let (r, sent, json) = replay(path, model, &[add::tool(), divide::tool()]).await;
    assert_same_conversation(&sent, &json);
    assert_eq!(r.stop_reason, StopReason::Completed);
    assert_eq!(r.iterations, 2, "two tool-call rounds, then the answer");
    assert!(r.answer().unwrap().contains("The final result is **2**"));
    // Anthropic-native tool definitions: `input_schema`, not `parameters`.
    assert!(
        sent[0].body["tools"][0].get("input_schema").is_some(),
        "{}",
        sent[0].body["tools"]
    );
}

#[tokio::test]
async fn anthropic_streamed_session_replays_turn_by_turn() {
    let path = "anthropic/messages_sessions__sequential_tool_calls_streaming.json";
    let json = fixture(path);
    let server = ScriptedServer::replay(&json).await;
    let model = CompletionModel::anthropic("test-key")
        .with_base_url(server.base_url())
        .with_model("claude-sonnet-4-6");
    let (system, messages) = recorded_input(&json);
    let tools = [add::tool(), subtract::tool()];
    let events: Vec<AgentEvent> = run_agent_stream(
        &model,
        messages,
        &tools,
        AgentOptions::new().system_prompt(system),
    )
    .map(|e| e.expect("replayed stream"))
    .collect()
    .await;
    assert_same_conversation(&server.requests().await, &json);
    let calls: Vec<(String, Value)> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolCallFinished { run } => {
                Some((run.call.name.clone(), run.output.clone().unwrap()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("add".to_owned(), json!(7)),
            ("subtract".to_owned(), json!(2))
        ]
    );
    let Some(AgentEvent::Done(result)) = events.last() else {
        panic!("ends with Done");
    };
    assert_eq!(result.answer(), Some("The final number is **2**."));
    assert_eq!(result.iterations, 2);
}

#[tokio::test]
async fn bedrock_session_replays_turn_by_turn() {
    let path = "bedrock/agent__tool_roundtrip_smoke.json";
    let model = |url: String| {
        CompletionModel::bedrock("test-key", "us-east-1")
            .with_base_url(url)
            .with_model("amazon.nova-lite-v1:0")
    };
    let (r, sent, json) = replay(path, model, &[add::tool(), subtract_object::tool()]).await;
    assert_same_conversation(&sent, &json);
    assert_eq!(r.iterations, 1);
    assert!(r.answer().unwrap().ends_with("The result of 2 - 5 is -3."));
    assert_eq!(r.total_usage.total_tokens, 584 + 659);
}

// ---- reaching max_iterations: the last call, in each provider's wire format -----------------

/// A native provider at the scripted server, its "call `add`" and "answer" replies in its own
/// wire format, and how its request says "no tool calls".
struct Native {
    model: fn(String) -> CompletionModel,
    call: Value,
    answer: Value,
}

/// Runs `add` once (max_iterations 1) against a model that asks for it twice; returns the
/// result and the two requests.
async fn hit_the_limit(native: &Native) -> (AgentResult, Vec<CapturedRequest>) {
    let server =
        ScriptedServer::start(vec![Reply::json(&native.call), Reply::json(&native.answer)]).await;
    let model = (native.model)(server.base_url());
    let r = run_agent(
        &model,
        vec![ChatMessage::user("What is 1 + 2?")],
        &[add::tool()],
        AgentOptions::new().max_iterations(1),
    )
    .await
    .expect("run");
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
    assert_eq!(r.iterations, 1);
    assert_eq!(r.tool_runs.len(), 1);
    assert_eq!(r.answer(), Some("1 + 2 = 3."));
    assert_eq!(server.served(), 2);
    (r, server.requests().await)
}

#[tokio::test]
async fn anthropic_last_call_sends_tool_choice_none_with_the_tools() {
    let native = Native {
        model: |url| {
            CompletionModel::anthropic("test-key")
                .with_base_url(url)
                .with_model("claude-sonnet-4-6")
        },
        call: json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"x": 1, "y": 2}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 20, "output_tokens": 5}
        }),
        answer: json!({
            "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "1 + 2 = 3."}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 30, "output_tokens": 7}
        }),
    };
    let (r, sent) = hit_the_limit(&native).await;
    assert_eq!(sent[0].body.get("tool_choice"), None);
    assert_eq!(sent[1].body["tool_choice"], json!({"type": "none"}));
    assert_eq!(sent[1].body["tools"][0]["name"], "add");
    assert_eq!(
        r.total_usage.prompt_tokens, 50,
        "the last call's usage counts"
    );
}

#[tokio::test]
async fn gemini_last_call_sends_mode_none_with_the_tools() {
    let native = Native {
        model: |url| {
            CompletionModel::gemini("test-key")
                .with_base_url(url)
                .with_model("gemini-2.5-flash")
        },
        call: json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"name": "add", "args": {"x": 1, "y": 2}}}
            ]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 5, "totalTokenCount": 25}
        }),
        answer: json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "1 + 2 = 3."}]},
                "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 7, "totalTokenCount": 37}
        }),
    };
    let (r, sent) = hit_the_limit(&native).await;
    assert_eq!(sent[0].body.get("toolConfig"), None);
    assert_eq!(
        sent[1].body["toolConfig"]["functionCallingConfig"]["mode"], "NONE",
        "{}",
        sent[1].body
    );
    assert_eq!(
        sent[1].body["tools"][0]["functionDeclarations"][0]["name"],
        "add"
    );
    assert_eq!(r.total_usage.total_tokens, 25 + 37);
}

#[tokio::test]
async fn cohere_last_call_sends_tool_choice_none_with_the_tools() {
    let native = Native {
        model: |url| {
            CompletionModel::cohere("test-key")
                .with_base_url(url)
                .with_model("command-a-03-2025")
        },
        call: json!({
            "id": "c1", "finish_reason": "TOOL_CALL",
            "message": {"role": "assistant", "tool_calls": [
                {"id": "tc_1", "type": "function", "function": {"name": "add", "arguments": "{\"x\":1,\"y\":2}"}}
            ]},
            "usage": {"tokens": {"input_tokens": 20, "output_tokens": 5}}
        }),
        answer: json!({
            "id": "c2", "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": "1 + 2 = 3."}]},
            "usage": {"tokens": {"input_tokens": 30, "output_tokens": 7}}
        }),
    };
    let (_, sent) = hit_the_limit(&native).await;
    assert_eq!(sent[0].body.get("tool_choice"), None);
    assert_eq!(sent[1].body["tool_choice"], "NONE", "{}", sent[1].body);
    assert_eq!(sent[1].body["tools"][0]["function"]["name"], "add");
}

/// Bedrock's Converse API has no "none" tool choice, and rejects a history of tool calls
/// without `toolConfig`: the last call offers the tools with the default choice.
#[tokio::test]
async fn bedrock_last_call_keeps_the_tool_config_without_a_choice() {
    let native = Native {
        model: |url| {
            CompletionModel::bedrock("test-key", "us-east-1")
                .with_base_url(url)
                .with_model("amazon.nova-lite-v1:0")
        },
        call: json!({
            "output": {"message": {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "tooluse_1", "name": "add", "input": {"x": 1, "y": 2}}}
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 20, "outputTokens": 5, "totalTokens": 25}
        }),
        answer: json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "1 + 2 = 3."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 30, "outputTokens": 7, "totalTokens": 37}
        }),
    };
    let (_, sent) = hit_the_limit(&native).await;
    let config = &sent[1].body["toolConfig"];
    assert_eq!(
        config["tools"][0]["toolSpec"]["name"], "add",
        "{}",
        sent[1].body
    );
    assert_eq!(config.get("toolChoice"), None);
}
