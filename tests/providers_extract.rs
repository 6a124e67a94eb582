//! Typed structured output (`CompletionModel::extract`): recorded structured answers replayed
//! (mistral, groq, openrouter), and scripted servers for each provider's own mechanism (the
//! request body asserted), repairs, the typed error and the usage summed over attempts.

#[allow(dead_code)]
mod support;

use std::collections::HashMap;

use blazen::prelude::*;
use blazen_providers::{
    BlazenError, ChatMessage, CompletionModel, CompletionRequest, ExtractOptions,
};
use serde_json::Value;
use support::scripted_server::{text, Reply, ScriptedServer};

const KEY: &str = "sk-test-0123456789abcdef";

fn fixture(path: &str) -> String {
    support::fixtures::text(path)
}

/// The release checks of the recorded sessions.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct StructuredChecks {
    compile: bool,
    replay: bool,
}

/// A release plan.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct StructuredReleasePlan {
    lane: String,
    checks: StructuredChecks,
    risk: String,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct ReleaseInfo {
    lane: String,
    risk: String,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct PlanCheck {
    name: String,
    required: bool,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct NestedPlan {
    release: ReleaseInfo,
    checks: Vec<PlanCheck>,
}

/// An invoice read from a document.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Invoice {
    /// The invoice number, as printed.
    number: String,
    total: f64,
    note: Option<String>,
}

fn ask() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("Return only the requested structured object."),
        ChatMessage::user(
            "Return lane=canary, risk=low, checks.compile=true, and checks.replay=true.",
        ),
    ]
}

fn plan() -> StructuredReleasePlan {
    StructuredReleasePlan {
        lane: "canary".into(),
        checks: StructuredChecks {
            compile: true,
            replay: true,
        },
        risk: "low".into(),
    }
}

/// The `response_format` blazen sent: strict JSON Schema named after the type.
fn assert_strict_format(body: &Value, name: &str) {
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema", "{body}");
    assert_eq!(format["json_schema"]["name"], name);
    assert_eq!(format["json_schema"]["strict"], true);
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
}

// ---------- recorded structured answers ----------

#[tokio::test]
async fn recorded_mistral_answer_decodes_into_the_type() {
    let server = ScriptedServer::replay(&fixture(
        "mistral/agent_tool_sessions__json_schema_structured_output_roundtrip.json",
    ))
    .await;
    let model = CompletionModel::mistral(KEY).with_base_url(server.base_url());
    let out = model
        .extract_with::<StructuredReleasePlan>(
            CompletionRequest::new(ask()),
            ExtractOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.value, plan());
    assert_eq!(out.attempts, 1);
    assert_eq!(out.usage.unwrap().prompt_tokens, 32);
    assert_eq!(out.usage.unwrap().completion_tokens, 29);
    let sent = &server.requests().await[0].body;
    assert_strict_format(sent, "StructuredReleasePlan");
    assert_eq!(
        sent["response_format"]["json_schema"]["schema"]["required"],
        json!(["lane", "checks", "risk"])
    );
    assert_eq!(
        sent["response_format"]["json_schema"]["description"],
        "A release plan."
    );
}

#[tokio::test]
async fn recorded_groq_answer_decodes_into_the_type() {
    let server = ScriptedServer::replay(&fixture(
        "groq/agent_tool_sessions__json_schema_structured_output_roundtrip.json",
    ))
    .await;
    let model = CompletionModel::groq(KEY).with_base_url(server.base_url());
    let value: StructuredReleasePlan = model.extract(&ask()).await.unwrap();
    assert_eq!(value, plan());
    assert_strict_format(&server.requests().await[0].body, "StructuredReleasePlan");
}

#[tokio::test]
async fn recorded_openrouter_nested_answer_decodes_with_its_cost() {
    let server = ScriptedServer::replay(&fixture(
        "openrouter/agent_tool_sessions__nested_structured_output_schema_roundtrip.json",
    ))
    .await;
    let model = CompletionModel::openrouter(KEY).with_base_url(server.base_url());
    let out = model
        .extract_with::<NestedPlan>(
            CompletionRequest::new(vec![ChatMessage::user(
                "Create the OpenRouter cassette release validation plan.",
            )]),
            ExtractOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.value.release.lane, "canary");
    assert_eq!(out.value.checks.len(), 2);
    assert!(out.value.checks.iter().all(|c| c.required));
    assert!((out.cost.unwrap() - 0.000_196_1).abs() < 1e-9);
    let sent = &server.requests().await[0].body;
    assert_strict_format(sent, "NestedPlan");
    let schema = &sent["response_format"]["json_schema"]["schema"];
    assert_eq!(schema["properties"]["checks"]["type"], "array");
}

// ---------- each provider's own mechanism ----------

#[tokio::test]
async fn openai_sends_plain_schema_when_strict_mode_cannot_express_it() {
    #[derive(Debug, Deserialize, JsonSchema)]
    struct Labels {
        labels: HashMap<String, String>,
    }
    let server = ScriptedServer::start(vec![text(r#"{"labels": {"a": "b"}}"#)]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let out: Labels = model
        .extract(&[ChatMessage::user("label it")])
        .await
        .unwrap();
    assert_eq!(out.labels["a"], "b");
    let sent = &server.requests().await[0].body;
    assert_eq!(sent["response_format"]["json_schema"]["strict"], false);
    assert_eq!(
        sent["response_format"]["json_schema"]["schema"]["properties"]["labels"]["type"],
        "object"
    );
}

#[tokio::test]
async fn openai_strict_schema_makes_optional_fields_nullable() {
    let server = ScriptedServer::start(vec![text(
        r#"{"number": "A-17", "total": 99.5, "note": null}"#,
    )])
    .await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let invoice: Invoice = model
        .extract(&[ChatMessage::user("Invoice A-17, 99.50")])
        .await
        .unwrap();
    assert_eq!(
        invoice,
        Invoice {
            number: "A-17".into(),
            total: 99.5,
            note: None
        }
    );
    let sent = &server.requests().await[0].body;
    assert_strict_format(sent, "Invoice");
    let schema = &sent["response_format"]["json_schema"]["schema"];
    assert_eq!(schema["required"], json!(["number", "total", "note"]));
    assert_eq!(
        schema["properties"]["note"]["type"],
        json!(["string", "null"])
    );
}

#[tokio::test]
async fn anthropic_forces_a_tool_whose_input_is_the_answer() {
    let body = json!({
        "id": "msg_1", "model": "claude", "role": "assistant", "type": "message",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "json_response",
                     "input": {"number": "A-17", "total": 99.5}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}
    });
    let server = ScriptedServer::start(vec![Reply::json(&body)]).await;
    let model = CompletionModel::anthropic(KEY).with_base_url(server.base_url());
    let invoice: Invoice = model
        .extract(&[ChatMessage::user("invoice?")])
        .await
        .unwrap();
    assert_eq!(invoice.number, "A-17");
    let sent = &server.requests().await[0].body;
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "json_response"})
    );
    let tool = &sent["tools"][0];
    assert_eq!(tool["name"], "json_response");
    assert_eq!(tool["description"], "An invoice read from a document.");
    assert_eq!(tool["input_schema"]["required"], json!(["number", "total"]));
    assert!(sent.get("response_format").is_none());
}

#[tokio::test]
async fn bedrock_forces_a_tool_whose_input_is_the_answer() {
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "t1", "name": "json_response",
                         "input": {"number": "A-17", "total": 99.5}}}
        ]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}
    });
    let server = ScriptedServer::start(vec![Reply::json(&body)]).await;
    let model = CompletionModel::bedrock(KEY, "us-east-1").with_base_url(server.base_url());
    let invoice: Invoice = model
        .extract(&[ChatMessage::user("invoice?")])
        .await
        .unwrap();
    assert_eq!(invoice.total, 99.5);
    let sent = &server.requests().await[0].body;
    assert_eq!(
        sent["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "json_response"}})
    );
    let spec = &sent["toolConfig"]["tools"][0]["toolSpec"];
    assert_eq!(
        spec["inputSchema"]["json"]["required"],
        json!(["number", "total"])
    );
}

#[tokio::test]
async fn gemini_sends_the_standard_schema_as_response_json_schema() {
    let body = json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "{\"number\": \"A-17\", \"total\": 99.5}"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 7, "totalTokenCount": 19},
        "modelVersion": "gemini-2.5-flash"
    });
    let server = ScriptedServer::start(vec![Reply::json(&body)]).await;
    let model = CompletionModel::gemini("AIza-test").with_base_url(server.base_url());
    let invoice: Invoice = model
        .extract(&[ChatMessage::user("invoice?")])
        .await
        .unwrap();
    assert_eq!(invoice.number, "A-17");
    let config = &server.requests().await[0].body["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    let schema = &config["responseJsonSchema"];
    assert_eq!(schema["required"], json!(["number", "total"]));
    assert_eq!(schema["additionalProperties"], false);
    assert!(config.get("responseSchema").is_none());
}

#[tokio::test]
async fn cohere_sends_its_json_mode_with_the_schema() {
    let body = json!({
        "id": "c1", "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [
            {"type": "text", "text": "{\"number\": \"A-17\", \"total\": 99.5}"}]},
        "usage": {"billed_units": {"input_tokens": 4, "output_tokens": 6},
                  "tokens": {"input_tokens": 4, "output_tokens": 6}}
    });
    let server = ScriptedServer::start(vec![Reply::json(&body)]).await;
    let model = CompletionModel::cohere(KEY).with_base_url(server.base_url());
    let invoice: Invoice = model
        .extract(&[ChatMessage::user("invoice?")])
        .await
        .unwrap();
    assert_eq!(invoice.number, "A-17");
    let format = &server.requests().await[0].body["response_format"];
    assert_eq!(format["type"], "json_object");
    assert_eq!(
        format["json_schema"]["required"],
        json!(["number", "total"])
    );
}

#[tokio::test]
async fn deepseek_gets_json_mode_and_the_schema_in_the_prompt() {
    let server = ScriptedServer::start(vec![text(
        "```json\n{\"number\": \"A-17\", \"total\": 99.5}\n```",
    )])
    .await;
    let model = CompletionModel::deepseek(KEY).with_base_url(server.base_url());
    let invoice: Invoice = model
        .extract(&[
            ChatMessage::system("Be exact."),
            ChatMessage::user("invoice?"),
        ])
        .await
        .unwrap();
    assert_eq!(invoice.total, 99.5);
    let request = &server.requests().await[0];
    assert_eq!(
        request.body["response_format"],
        json!({"type": "json_object"})
    );
    let messages = request.messages();
    assert_eq!(messages[0]["content"], "Be exact.");
    assert_eq!(messages[1]["role"], "system");
    let prompt = messages[1]["content"].as_str().unwrap();
    assert!(prompt.contains("JSON Schema"), "{prompt}");
    assert!(
        prompt.contains("An invoice read from a document."),
        "{prompt}"
    );
    assert!(
        prompt.contains(r#""required":["number","total"]"#),
        "{prompt}"
    );
    assert_eq!(messages[2]["role"], "user");
}

#[tokio::test]
async fn schema_in_prompt_option_replaces_the_native_mechanism() {
    let server = ScriptedServer::start(vec![text(r#"{"number": "1", "total": 2}"#)]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let options = ExtractOptions {
        schema_in_prompt: true,
        ..ExtractOptions::default()
    };
    let out = model
        .extract_with::<Invoice>(
            CompletionRequest::new(vec![ChatMessage::user("?")]),
            options,
        )
        .await
        .unwrap();
    assert_eq!(out.value.total, 2.0);
    let request = &server.requests().await[0];
    assert_eq!(
        request.body["response_format"],
        json!({"type": "json_object"})
    );
    assert_eq!(request.messages()[0]["role"], "system");
}

#[tokio::test]
async fn a_type_that_is_not_a_struct_travels_under_value() {
    let server = ScriptedServer::start(vec![text(r#"{"value": ["red", "green"]}"#)]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let colours: Vec<String> = model
        .extract(&[ChatMessage::user("two colours")])
        .await
        .unwrap();
    assert_eq!(colours, ["red", "green"]);
    let schema = &server.requests().await[0].body["response_format"]["json_schema"]["schema"];
    assert_eq!(schema["required"], json!(["value"]));
    assert_eq!(schema["properties"]["value"]["type"], "array");
}

// ---------- repairs and the typed error ----------

#[tokio::test]
async fn a_mismatch_is_sent_back_once_and_the_repair_is_used() {
    let server = ScriptedServer::start(vec![
        text(r#"{"number": "A-17", "total": "99.50 EUR"}"#).usage(10, 4),
        text(r#"{"number": "A-17", "total": 99.5}"#).usage(30, 5),
    ])
    .await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let out = model
        .extract_with::<Invoice>(
            CompletionRequest::new(vec![ChatMessage::user("Invoice A-17, 99.50 EUR")]),
            ExtractOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.value.total, 99.5);
    assert_eq!(out.attempts, 2);
    let usage = out.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (40, 9));
    assert_eq!(out.response.usage.unwrap().prompt_tokens, 30);

    let requests = server.requests().await;
    assert_eq!(requests.len(), 2);
    let messages = requests[1].messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[1]["content"],
        r#"{"number": "A-17", "total": "99.50 EUR"}"#
    );
    let repair = messages[2]["content"].as_str().unwrap();
    assert!(repair.contains("`total`"), "{repair}");
    assert!(
        repair.contains("does not match the required JSON Schema"),
        "{repair}"
    );
    // The repair asks with the same schema.
    assert_eq!(
        requests[1].body["response_format"],
        requests[0].body["response_format"]
    );
}

#[tokio::test]
async fn after_the_repairs_the_error_names_the_field_and_keeps_the_answer() {
    let server = ScriptedServer::start(vec![
        text(r#"{"number": "A-17"}"#).usage(10, 4),
        text(r#"{"number": "A-17", "totl": 99.5}"#).usage(20, 6),
    ])
    .await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let err = model
        .extract::<Invoice>(&[ChatMessage::user("Invoice A-17")])
        .await
        .unwrap_err();
    let BlazenError::StructuredOutput {
        problems,
        usage,
        cost,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.argument.as_str()).collect();
    assert_eq!(fields, ["totl", "total"]);
    let usage = usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (30, 10));
    assert!(cost.is_some(), "gpt-4.1 is priced");
    assert_eq!(err.raw_body(), Some(r#"{"number": "A-17", "totl": 99.5}"#));
    assert_eq!(err.attempts(), Some(2));
    assert_eq!(err.provider(), Some("openai"));
    assert!(!err.is_retryable());
    let shown = err.to_string();
    assert!(
        shown.starts_with("structured output does not match the schema: unknown argument `totl`"),
        "{shown}"
    );
    assert!(
        shown.contains("missing required argument `total`"),
        "{shown}"
    );
    assert!(shown.ends_with("[openai, after 2 attempts]"), "{shown}");
}

#[tokio::test]
async fn no_repairs_fails_at_once_on_an_answer_that_is_not_json() {
    let server = ScriptedServer::start(vec![text("Sure! The invoice is A-17.")]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let err = model
        .extract_with::<Invoice>(
            CompletionRequest::new(vec![ChatMessage::user("?")]),
            ExtractOptions {
                repairs: 0,
                ..ExtractOptions::default()
            },
        )
        .await
        .unwrap_err();
    let BlazenError::StructuredOutput { problems, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].argument, "");
    assert!(
        err.to_string().contains("the answer is not valid JSON"),
        "{err}"
    );
    assert_eq!(err.raw_body(), Some("Sure! The invoice is A-17."));
    assert_eq!(server.served(), 1);
}

#[tokio::test]
async fn provider_errors_pass_through_unchanged() {
    let server = ScriptedServer::start(vec![support::scripted_server::error(
        401,
        "invalid_api_key",
        "no",
    )])
    .await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let err = model
        .extract::<Invoice>(&[ChatMessage::user("?")])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    assert_eq!(server.served(), 1);
}
