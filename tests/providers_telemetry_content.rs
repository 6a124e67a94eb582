//! The opt-in message content of the GenAI spans (`gen_ai.system_instructions`,
//! `gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.tool.call.arguments` and
//! `gen_ai.tool.call.result`), exported through `tracing-opentelemetry` into the SDK's in-memory
//! exporter.
//!
//! The switch is process-wide, so these tests live in a binary of their own where every test
//! turns it on and none turns it off; `tests/providers_telemetry.rs` checks that it is off by
//! default.

#[allow(dead_code)]
mod support;

use blazen::prelude::*;
use blazen_providers::telemetry::set_capture_content;
use blazen_providers::{
    run_agent, AgentOptions, ChatMessage, CompletionModel, ContentPart, MediaType, ToolCall,
};
use futures::StreamExt;
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value;
use support::otel::{assert_attrs, attr, attr_str, collector, named, one, traced};
use support::scripted_server::{sse_text, sse_tool_calls, text, tool_calls, ScriptedServer};

const KEY: &str = "sk-test-0123456789abcdef";

/// The JSON of a content attribute, which must be a JSON string.
fn attr_json(span: &SpanData, key: &str) -> Value {
    let raw = attr_str(span, key).unwrap_or_else(|| panic!("no {key} on {}", span.name));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{key} is not JSON ({e}): {raw}"))
}

/// No attribute of any span holds the API key.
fn assert_no_key(spans: &[SpanData]) {
    for span in spans {
        for kv in &span.attributes {
            assert!(!kv.value.as_str().contains(KEY), "{kv:?}");
        }
    }
}

/// A conversation with instructions, a question, a tool call and its result.
fn conversation() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("You are terse."),
        ChatMessage::system("Answer in Celsius."),
        ChatMessage::user("Weather in Stone Town?"),
        ChatMessage::assistant_tool_calls(vec![ToolCall::new(
            "call_1",
            "weather",
            json!({"city": "Stone Town"}),
        )]),
        ChatMessage::tool_result("call_1", "sunny in Stone Town"),
    ]
}

#[tokio::test]
async fn a_chat_span_records_instructions_input_and_output_messages() {
    set_capture_content(true);
    let server = ScriptedServer::start(vec![text("Sunny, 31 °C.")]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let spans = traced(|| async {
        model.complete(&conversation()).await.unwrap();
    })
    .await;
    let chat = one(&spans, "chat gpt-4.1-mini");
    // Compact JSON, `type` first, the system messages only here.
    assert_eq!(
        attr_str(chat, "gen_ai.system_instructions").as_deref(),
        Some(
            r#"[{"type":"text","content":"You are terse."},{"type":"text","content":"Answer in Celsius."}]"#
        )
    );
    assert_eq!(
        attr_json(chat, "gen_ai.input.messages"),
        json!([
            {"role": "user", "parts": [{"type": "text", "content": "Weather in Stone Town?"}]},
            {"role": "assistant", "parts": [{
                "type": "tool_call", "id": "call_1", "name": "weather",
                "arguments": {"city": "Stone Town"},
            }]},
            {"role": "tool", "parts": [{
                "type": "tool_call_response", "id": "call_1", "response": "sunny in Stone Town",
            }]},
        ])
    );
    assert_eq!(
        attr_json(chat, "gen_ai.output.messages"),
        json!([{
            "role": "assistant",
            "parts": [{"type": "text", "content": "Sunny, 31 °C."}],
            "finish_reason": "stop",
        }])
    );
    assert!(attr(chat, "gen_ai.tool.call.arguments").is_none());
    assert_no_key(&spans);
}

#[tokio::test]
async fn a_streams_output_is_its_accumulated_text_recorded_when_it_ends() {
    set_capture_content(true);
    let server = ScriptedServer::start(vec![sse_text(&["Stone", " Town."])]).await;
    let model = CompletionModel::groq(KEY).with_base_url(server.base_url());
    let (exporter, _provider, _guard) = collector();
    let mut stream = model
        .stream(&[ChatMessage::user("Capital of Zanzibar?")])
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    assert!(exporter.get_finished_spans().unwrap().is_empty());
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
    }
    let spans = exporter.get_finished_spans().unwrap();
    let chat = one(&spans, "chat llama-3.3-70b-versatile");
    assert_eq!(
        attr_json(chat, "gen_ai.input.messages"),
        json!([{"role": "user", "parts": [{"type": "text", "content": "Capital of Zanzibar?"}]}])
    );
    assert!(attr(chat, "gen_ai.system_instructions").is_none());
    assert_eq!(
        attr_json(chat, "gen_ai.output.messages"),
        json!([{
            "role": "assistant",
            "parts": [{"type": "text", "content": "Stone Town."}],
            "finish_reason": "stop",
        }])
    );
}

#[tokio::test]
async fn a_streams_tool_calls_are_output_parts_with_the_joined_arguments() {
    set_capture_content(true);
    let server = ScriptedServer::start(vec![sse_tool_calls(&[(
        "call_1",
        "weather",
        &[r#"{"city": "#, r#""Paris"}"#],
    )])])
    .await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let (exporter, _provider, _guard) = collector();
    let mut stream = model
        .stream(&[ChatMessage::user("Weather in Paris?")])
        .await
        .unwrap();
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
    }
    let spans = exporter.get_finished_spans().unwrap();
    let chat = one(&spans, "chat gpt-4.1-mini");
    assert_eq!(
        attr_json(chat, "gen_ai.output.messages"),
        json!([{
            "role": "assistant",
            "parts": [{
                "type": "tool_call", "id": "call_1", "name": "weather",
                "arguments": {"city": "Paris"},
            }],
            "finish_reason": "tool_call",
        }])
    );
}

/// Look up the weather of a city.
#[tool]
fn weather(city: String) -> Result<String, ToolError> {
    if city == "Atlantis" {
        Err(ToolError::new("no such city"))
    } else {
        Ok(format!("sunny in {city}"))
    }
}

#[tokio::test]
async fn an_agent_run_records_tool_arguments_and_results_and_the_turns_messages() {
    set_capture_content(true);
    let server = ScriptedServer::start(vec![
        tool_calls(&[
            ("call_1", "weather", r#"{"city": "Paris"}"#),
            ("call_2", "weather", r#"{"city": "Atlantis"}"#),
        ]),
        text("Sunny in Paris."),
    ])
    .await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let spans = traced(|| async {
        run_agent(
            &model,
            vec![ChatMessage::user("Weather in Paris and Atlantis?")],
            &[weather::tool()],
            AgentOptions::new().system_prompt("Use the weather tool."),
        )
        .await
        .unwrap();
    })
    .await;

    let tools = named(&spans, "execute_tool weather");
    assert_eq!(tools.len(), 2);
    let tool = |id: &str| {
        *tools
            .iter()
            .find(|t| attr_str(t, "gen_ai.tool.call.id").as_deref() == Some(id))
            .unwrap()
    };
    let paris = tool("call_1");
    assert_eq!(
        attr_str(paris, "gen_ai.tool.call.arguments").as_deref(),
        Some(r#"{"city":"Paris"}"#)
    );
    // The tool's value as JSON: here a JSON string.
    assert_eq!(
        attr_str(paris, "gen_ai.tool.call.result").as_deref(),
        Some(r#""sunny in Paris""#)
    );
    let atlantis = tool("call_2");
    assert_eq!(
        attr_str(atlantis, "gen_ai.tool.call.arguments").as_deref(),
        Some(r#"{"city":"Atlantis"}"#)
    );
    assert!(attr(atlantis, "gen_ai.tool.call.result").is_none());
    assert_attrs(atlantis, &[("error.type", "tool_error")]);

    let chats = named(&spans, "chat gpt-4.1-mini");
    assert_eq!(chats.len(), 2);
    let instructions = json!([{"type": "text", "content": "Use the weather tool."}]);
    for chat in &chats {
        assert_eq!(attr_json(chat, "gen_ai.system_instructions"), instructions);
    }
    let calls = json!([
        {"type": "tool_call", "id": "call_1", "name": "weather", "arguments": {"city": "Paris"}},
        {"type": "tool_call", "id": "call_2", "name": "weather", "arguments": {"city": "Atlantis"}},
    ]);
    assert_eq!(
        attr_json(chats[0], "gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": calls, "finish_reason": "tool_call"}])
    );
    assert_eq!(
        attr_json(chats[1], "gen_ai.input.messages"),
        json!([
            {"role": "user", "parts": [
                {"type": "text", "content": "Weather in Paris and Atlantis?"},
            ]},
            {"role": "assistant", "parts": calls},
            {"role": "tool", "parts": [
                {"type": "tool_call_response", "id": "call_1", "response": "sunny in Paris"},
            ]},
            {"role": "tool", "parts": [
                {"type": "tool_call_response", "id": "call_2", "response": "Error: no such city"},
            ]},
        ])
    );
    assert_eq!(
        attr_json(chats[1], "gen_ai.output.messages"),
        json!([{
            "role": "assistant",
            "parts": [{"type": "text", "content": "Sunny in Paris."}],
            "finish_reason": "stop",
        }])
    );
    assert!(attr(one(&spans, "invoke_agent"), "gen_ai.input.messages").is_none());
    assert_no_key(&spans);
}

#[tokio::test]
async fn media_is_recorded_by_url_or_as_modality_and_mime_type_never_inline() {
    set_capture_content(true);
    let data = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ";
    let server = ScriptedServer::start(vec![text("Two pixels.")]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let spans = traced(|| async {
        let message = ChatMessage::user_parts(vec![
            ContentPart::text("What are these?"),
            ContentPart::image_url("https://example.com/cat.jpg", MediaType::JPEG),
            ContentPart::image_base64(data, MediaType::PNG),
            ContentPart::ImageUrl {
                url: format!("data:image/png;base64,{data}"),
                media_type: None,
            },
        ]);
        model.complete(&[message]).await.unwrap();
    })
    .await;
    let chat = one(&spans, "chat gpt-4.1-mini");
    assert_eq!(
        attr_json(chat, "gen_ai.input.messages"),
        json!([{"role": "user", "parts": [
            {"type": "text", "content": "What are these?"},
            {"type": "uri", "modality": "image", "mime_type": "image/jpeg",
             "uri": "https://example.com/cat.jpg"},
            {"type": "blob", "modality": "image", "mime_type": "image/png"},
            {"type": "blob", "modality": "image", "mime_type": "image/png"},
        ]}])
    );
    for span in &spans {
        for kv in &span.attributes {
            assert!(!kv.value.as_str().contains(&data[..16]), "{kv:?}");
        }
    }
}

/// Render a chart (a `ToolContent`: text and an image).
#[tool]
fn chart() -> blazen::tool::ToolContent {
    use blazen::tool::{Content, ToolContent};
    ToolContent::new(vec![
        Content::text("one bar"),
        Content::image(b"PNG bytes of the chart", "image/png"),
        Content::resource_blob("mem://chart.pdf", "application/pdf", b"PDF bytes"),
    ])
}

#[tokio::test]
async fn a_tool_results_images_and_blobs_are_recorded_without_their_bytes() {
    set_capture_content(true);
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "chart", "{}")]),
        text("A chart of one bar."),
    ])
    .await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let spans = traced(|| async {
        run_agent(
            &model,
            vec![ChatMessage::user("Chart it.")],
            &[chart::tool()],
            AgentOptions::default(),
        )
        .await
        .unwrap();
    })
    .await;
    let tool = one(&spans, "execute_tool chart");
    assert_eq!(
        attr_json(tool, "gen_ai.tool.call.result"),
        json!({"content": [
            {"type": "text", "text": "one bar"},
            {"type": "image", "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "mem://chart.pdf", "mimeType": "application/pdf"}},
        ]})
    );
    // Nowhere in the trace: not the tool span, not the image message the agent sent after it.
    let encoded = "UE5HIGJ5dGVzIG9mIHRoZSBjaGFydA==";
    for span in &spans {
        for kv in &span.attributes {
            assert!(
                !kv.value.as_str().contains(encoded),
                "{}: {}",
                span.name,
                kv.key
            );
        }
    }
    assert_no_key(&spans);
}
