//! The OpenTelemetry GenAI spans of provider calls, tool calls and agent runs, exported through
//! `tracing-opentelemetry` into the OpenTelemetry SDK's in-memory exporter: names, attributes,
//! events and parent links.

#[allow(dead_code)]
mod support;

use std::time::Duration;

use blazen::prelude::*;
use blazen_providers::{
    run_agent, AgentOptions, CacheConfig, ChatMessage, CompletionModel, CompletionRequest,
    RetryConfig, ToolCall,
};
use futures::StreamExt;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value as OtelValue;
use opentelemetry_sdk::trace::SpanData;
use support::otel::{
    assert_attrs, attr, attr_i64, attr_str, collector, named, one, traced, CONTENT_ATTRIBUTES,
};
use support::scripted_server::{error, sse_text, text, tool_calls, ScriptedServer};

const KEY: &str = "sk-test-0123456789abcdef";
const PROMPT: &str = "a private question about Zanzibar";

/// No attribute or event of any span carries message content.
fn assert_no_content(spans: &[SpanData]) {
    for span in spans {
        for key in CONTENT_ATTRIBUTES {
            assert!(attr(span, key).is_none(), "{key} on {}", span.name);
        }
    }
    for span in spans {
        for kv in &span.attributes {
            assert!(!kv.value.as_str().contains("Zanzibar"), "{kv:?}");
        }
        for event in span.events.iter() {
            for kv in &event.attributes {
                assert!(!kv.value.as_str().contains("Zanzibar"), "{kv:?}");
            }
        }
    }
}

#[tokio::test]
async fn a_call_is_one_client_span_with_the_gen_ai_attributes() {
    let server = ScriptedServer::start(vec![text("Stone Town.")]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let spans = traced(|| async {
        let request = CompletionRequest::new(vec![ChatMessage::user(PROMPT)])
            .temperature(0.5)
            .top_p(0.9)
            .max_tokens(64);
        model.complete_with(request).await.unwrap();
    })
    .await;
    let caller = one(&spans, "caller");
    let chat = one(&spans, "chat gpt-4.1-mini");
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(chat.parent_span_id, caller.span_context.span_id());
    assert_attrs(
        chat,
        &[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4.1-mini"),
        ],
    );
    assert_eq!(
        attr(chat, "gen_ai.request.temperature"),
        Some(&OtelValue::F64(0.5))
    );
    assert!(
        matches!(attr(chat, "gen_ai.request.top_p"), Some(OtelValue::F64(p)) if (p - 0.9).abs() < 1e-6)
    );
    assert_eq!(attr_i64(chat, "gen_ai.request.max_tokens"), Some(64));
    assert_attrs(
        chat,
        &[
            ("gen_ai.output.type", "text"),
            ("gen_ai.response.model", "gpt-4o-mini"),
            ("gen_ai.response.finish_reasons", "stop"),
        ],
    );
    assert_eq!(attr_i64(chat, "gen_ai.usage.input_tokens"), Some(10));
    assert_eq!(attr_i64(chat, "gen_ai.usage.output_tokens"), Some(5));
    assert!(attr(chat, "error.type").is_none());
    assert_eq!(chat.status, Status::Unset);
    assert_no_content(&spans);
}

/// Message content is opt-in (`tests/providers_telemetry_content.rs` opts in): by default a
/// conversation with instructions, a tool call and its result records none of it.
#[tokio::test]
async fn message_content_is_not_recorded_by_default() {
    assert!(
        !blazen_providers::telemetry::capture_content(),
        "run these tests without OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true"
    );
    let server = ScriptedServer::start(vec![sse_text(&["Stone", " Town."]), text("Done.")]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let messages = vec![
        ChatMessage::system("Answer about Zanzibar only."),
        ChatMessage::user(PROMPT),
        ChatMessage::assistant_tool_calls(vec![ToolCall::new(
            "call_1",
            "weather",
            json!({"city": "Zanzibar"}),
        )]),
        ChatMessage::tool_result("call_1", "sunny in Zanzibar"),
    ];
    let spans = traced(|| async {
        let mut stream = model.stream(&messages).await.unwrap();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
        model.complete(&messages).await.unwrap();
    })
    .await;
    assert_eq!(named(&spans, "chat gpt-4.1-mini").len(), 2);
    assert_no_content(&spans);
}

#[tokio::test]
async fn a_failed_call_has_error_type_and_error_status() {
    let server = ScriptedServer::start(vec![error(401, "invalid_api_key", "bad key")]).await;
    let model = CompletionModel::anthropic(KEY)
        .with_model("claude-haiku-4-5")
        .with_base_url(server.base_url());
    let spans = traced(|| async {
        model
            .complete(&[ChatMessage::user(PROMPT)])
            .await
            .unwrap_err();
    })
    .await;
    let chat = one(&spans, "chat claude-haiku-4-5");
    assert_eq!(
        chat.parent_span_id,
        one(&spans, "caller").span_context.span_id()
    );
    assert_attrs(
        chat,
        &[
            ("gen_ai.provider.name", "anthropic"),
            ("error.type", "auth"),
        ],
    );
    assert!(
        matches!(chat.status, Status::Error { .. }),
        "{:?}",
        chat.status
    );
}

#[tokio::test]
async fn a_stream_span_ends_with_its_last_chunk() {
    let server = ScriptedServer::start(vec![sse_text(&["Stone", " Town."])]).await;
    let model = CompletionModel::groq(KEY).with_base_url(server.base_url());
    let (exporter, _provider, _guard) = collector();
    let mut stream = model.stream(&[ChatMessage::user(PROMPT)]).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.delta.as_deref(), Some("Stone"));
    assert!(
        exporter.get_finished_spans().unwrap().is_empty(),
        "the span is open while chunks remain"
    );
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
    }
    let spans = exporter.get_finished_spans().unwrap();
    let chat = one(&spans, "chat llama-3.3-70b-versatile");
    assert_attrs(
        chat,
        &[
            ("gen_ai.provider.name", "groq"),
            ("gen_ai.response.finish_reasons", "stop"),
        ],
    );
    assert!(attr_i64(chat, "gen_ai.usage.output_tokens").is_some());
    assert_no_content(&spans);
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
async fn an_agent_run_is_invoke_agent_with_its_chat_and_tool_spans_as_children() {
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
            vec![ChatMessage::user(PROMPT)],
            &[weather::tool()],
            AgentOptions::default(),
        )
        .await
        .unwrap();
    })
    .await;
    let agent = one(&spans, "invoke_agent");
    let agent_id = agent.span_context.span_id();
    assert_attrs(
        agent,
        &[
            ("gen_ai.operation.name", "invoke_agent"),
            ("gen_ai.provider.name", "openai"),
        ],
    );
    assert_eq!(attr_i64(agent, "gen_ai.usage.input_tokens"), Some(20));

    let chats = named(&spans, "chat gpt-4.1-mini");
    assert_eq!(chats.len(), 2);
    assert!(chats.iter().all(|c| c.parent_span_id == agent_id));
    assert_eq!(
        attr_str(chats[0], "gen_ai.response.finish_reasons").as_deref(),
        Some("tool_calls")
    );

    let tools = named(&spans, "execute_tool weather");
    assert_eq!(tools.len(), 2);
    assert!(tools.iter().all(|t| t.parent_span_id == agent_id));
    assert!(tools.iter().all(|t| t.span_kind == SpanKind::Internal));
    let mut ids: Vec<String> = tools
        .iter()
        .map(|t| attr_str(t, "gen_ai.tool.call.id").unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["call_1", "call_2"]);
    let failed = tools
        .iter()
        .find(|t| attr_str(t, "gen_ai.tool.call.id").as_deref() == Some("call_2"))
        .unwrap();
    assert_attrs(
        failed,
        &[
            ("error.type", "tool_error"),
            ("gen_ai.tool.name", "weather"),
            ("gen_ai.tool.type", "function"),
        ],
    );
    assert_no_content(&spans);
}

#[tokio::test]
async fn each_retry_attempt_has_its_span_and_the_caller_a_retry_event_with_the_delay() {
    let server = ScriptedServer::start(vec![
        error(503, "overloaded", "try later"),
        text("Stone Town."),
    ])
    .await;
    let model = CompletionModel::openai(KEY)
        .with_base_url(server.base_url())
        .with_retry(RetryConfig {
            max_retries: 2,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        });
    let spans = traced(|| async {
        model.complete(&[ChatMessage::user(PROMPT)]).await.unwrap();
    })
    .await;
    let caller = one(&spans, "caller");
    let chats = named(&spans, "chat gpt-4.1-mini");
    assert_eq!(chats.len(), 2);
    assert_eq!(
        attr_str(chats[0], "error.type").as_deref(),
        Some("provider")
    );
    assert!(attr(chats[1], "error.type").is_none());
    assert!(chats
        .iter()
        .all(|c| c.parent_span_id == caller.span_context.span_id()));
    let retry = caller
        .events
        .iter()
        .find(|e| e.name == "retry")
        .expect("a retry event");
    let delay = retry
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "blazen.retry.delay_ms")
        .expect("the delay");
    assert!(
        matches!(delay.value, OtelValue::I64(ms) if (0..=5).contains(&ms)),
        "{delay:?}"
    );
    assert!(retry
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "error.type" && kv.value.as_str() == "provider"));
}

#[tokio::test]
async fn a_cache_hit_is_a_chat_span_marked_as_a_hit() {
    let server = ScriptedServer::start(vec![text("Stone Town.")]).await;
    let model = CompletionModel::openai(KEY)
        .with_base_url(server.base_url())
        .with_cache(CacheConfig::default());
    let spans = traced(|| async {
        model.complete(&[ChatMessage::user(PROMPT)]).await.unwrap();
        model.complete(&[ChatMessage::user(PROMPT)]).await.unwrap();
    })
    .await;
    assert_eq!(server.served(), 1);
    let chats = named(&spans, "chat gpt-4.1-mini");
    assert_eq!(chats.len(), 2);
    assert!(attr(chats[0], "blazen.cache.hit").is_none());
    assert_eq!(
        attr(chats[1], "blazen.cache.hit"),
        Some(&OtelValue::Bool(true))
    );
    assert_eq!(attr_i64(chats[1], "gen_ai.usage.input_tokens"), Some(10));
}

#[tokio::test]
async fn a_cache_hit_span_carries_the_requests_own_attributes() {
    let server = ScriptedServer::start(vec![text("Stone Town.")]).await;
    let model = CompletionModel::openai(KEY)
        .with_base_url(server.base_url())
        .with_cache(CacheConfig::default());
    let request = CompletionRequest::new(vec![ChatMessage::user(PROMPT)])
        .model("gpt-4o-mini")
        .temperature(0.5)
        .max_tokens(64);
    let spans = traced(|| async {
        model.complete_with(request.clone()).await.unwrap();
        model.complete_with(request.clone()).await.unwrap();
    })
    .await;
    assert_eq!(server.served(), 1);
    let chats = named(&spans, "chat gpt-4o-mini");
    assert_eq!(chats.len(), 2);
    let hit = chats[1];
    assert_eq!(attr(hit, "blazen.cache.hit"), Some(&OtelValue::Bool(true)));
    assert_attrs(hit, &[("gen_ai.request.model", "gpt-4o-mini")]);
    assert_eq!(
        attr(hit, "gen_ai.request.temperature"),
        Some(&OtelValue::F64(0.5))
    );
    assert_eq!(attr_i64(hit, "gen_ai.request.max_tokens"), Some(64));
}

#[tokio::test]
async fn a_fallback_is_the_next_providers_span() {
    let down = ScriptedServer::start(vec![error(404, "model_not_found", "no such model")]).await;
    let up = ScriptedServer::start(vec![text("Stone Town.")]).await;
    let model = CompletionModel::with_fallback(vec![
        CompletionModel::openai(KEY).with_base_url(down.base_url()),
        CompletionModel::mistral(KEY).with_base_url(up.base_url()),
    ]);
    let spans = traced(|| async {
        model.complete(&[ChatMessage::user(PROMPT)]).await.unwrap();
    })
    .await;
    let first = one(&spans, "chat gpt-4.1-mini");
    assert_attrs(first, &[("error.type", "model_not_found")]);
    let second = one(&spans, "chat mistral-small-latest");
    assert_attrs(second, &[("gen_ai.provider.name", "mistral_ai")]);
    assert!(attr(second, "error.type").is_none());
    let caller = one(&spans, "caller");
    assert!(caller.events.iter().any(|e| e.name == "fallback"));
}

/// A city read by the model.
#[derive(Debug, Deserialize, JsonSchema)]
struct City {
    name: String,
}

/// A step with the model as a resource asks for a typed answer.
#[step]
async fn capital(ctx: &Context, _ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    let model = ctx.resource::<CompletionModel>()?;
    let city: City = model
        .extract(&[ChatMessage::user(PROMPT)])
        .await
        .map_err(WorkflowError::other)?;
    Ok(StopEvent::new(json!(city.name)))
}

#[tokio::test]
async fn a_step_span_is_the_parent_of_the_calls_its_step_makes() {
    let server = ScriptedServer::start(vec![text(r#"{"name": "Stone Town"}"#)]).await;
    let model = CompletionModel::openai(KEY).with_base_url(server.base_url());
    let wf = Workflow::builder("capital")
        .step(capital::step())
        .resource(model)
        .build()
        .unwrap();
    let spans = traced(|| async {
        let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
        assert_eq!(stop.result, json!("Stone Town"));
    })
    .await;
    let step = one(&spans, "blazen.step");
    let chat = one(&spans, "chat gpt-4.1-mini");
    assert_eq!(chat.parent_span_id, step.span_context.span_id());
    assert_eq!(
        attr_str(chat, "gen_ai.output.type").as_deref(),
        Some("json")
    );
    let run = one(&spans, "blazen.run");
    assert_eq!(step.span_context.trace_id(), run.span_context.trace_id());
}
