//! `run_agent_stream` against a scripted local server: text deltas, tool-call events, errors
//! sent back to the model, the finish tool, errors of the model call, cancellation on drop.

#[allow(dead_code)]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use blazen::ToolDef;
use blazen_providers::{
    run_agent, run_agent_stream, AgentEvent, AgentOptions, AgentResult, BlazenError, ChatMessage,
    CompletionModel, StopReason,
};
use futures::StreamExt;
use serde_json::{json, Value};
use support::scripted_server::{error, sse_text, sse_tool_calls, ScriptedServer};

fn model(server: &ScriptedServer) -> CompletionModel {
    CompletionModel::openai_compatible(server.base_url(), "test-key").with_model("gpt-4o-mini")
}

fn weather() -> ToolDef {
    ToolDef::new(
        "weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args: Value| json!(format!("sunny in {}", args["city"].as_str().unwrap_or("?"))),
    )
}

async fn collect(
    server: &ScriptedServer,
    tools: &[ToolDef],
    options: AgentOptions,
) -> Vec<Result<AgentEvent, BlazenError>> {
    let m = model(server);
    let stream = run_agent_stream(&m, vec![ChatMessage::user("go")], tools, options);
    tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends")
}

fn done(events: &[Result<AgentEvent, BlazenError>]) -> &AgentResult {
    match events.last() {
        Some(Ok(AgentEvent::Done(result))) => result,
        other => panic!("the last event is Done, got {other:?}"),
    }
}

#[tokio::test]
async fn text_deltas_arrive_in_order_and_add_up_to_the_answer() {
    let server = ScriptedServer::start(vec![sse_text(&["Hel", "lo", " world"])]).await;
    let events = collect(&server, &[], AgentOptions::default()).await;
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Ok(AgentEvent::TextDelta { text, iteration: 1 }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, ["Hel", "lo", " world"]);
    assert!(matches!(
        &events[3],
        Ok(AgentEvent::TurnCompleted { iteration: 1, response }) if response.content.as_deref() == Some("Hello world")
    ));
    let result = done(&events);
    assert_eq!(result.answer(), Some("Hello world"));
    assert_eq!(result.total_usage.total_tokens, 15);
    assert_eq!(events.len(), 5);
    assert_eq!(server.requests().await[0].body["stream"], json!(true));
}

#[tokio::test]
async fn streamed_tool_calls_report_start_and_finish_and_feed_the_next_turn() {
    let server = ScriptedServer::start(vec![
        sse_tool_calls(&[
            ("call_1", "weather", &[r#"{"ci"#, r#"ty":"Pa"#, r#"ris"}"#]),
            ("call_2", "weather", &[r#"{"city":"Rome"}"#]),
        ]),
        sse_text(&["Both sunny."]),
    ])
    .await;
    let events = collect(&server, &[weather()], AgentOptions::default()).await;
    let started: Vec<(usize, String, Value)> = events
        .iter()
        .filter_map(|e| match e {
            Ok(AgentEvent::ToolCallStarted { iteration, call }) => {
                Some((*iteration, call.id.clone(), call.arguments.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        [
            (1, "call_1".to_owned(), json!({"city": "Paris"})),
            (1, "call_2".to_owned(), json!({"city": "Rome"}))
        ]
    );
    let finished: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Ok(AgentEvent::ToolCallFinished { run }) => Some(run.content()),
            _ => None,
        })
        .collect();
    assert_eq!(finished, ["sunny in Paris", "sunny in Rome"]);
    assert_eq!(
        server.requests().await[1].tool_results(),
        [
            ("call_1".to_owned(), "sunny in Paris".to_owned()),
            ("call_2".to_owned(), "sunny in Rome".to_owned())
        ]
    );
    let result = done(&events);
    assert_eq!(result.iterations, 1, "one round of two calls");
    assert_eq!(result.answer(), Some("Both sunny."));
}

#[tokio::test]
async fn streamed_bad_calls_go_back_to_the_model() {
    let server = ScriptedServer::start(vec![
        sse_tool_calls(&[
            ("call_1", "weather", &[r#"{"city": "Pa"#]), // never closed
            ("call_2", "forecast", &["{}"]),
        ]),
        sse_text(&["Sorry."]),
    ])
    .await;
    let events = collect(&server, &[weather()], AgentOptions::default()).await;
    let errors = events
        .iter()
        .filter(|e| matches!(e, Ok(AgentEvent::ToolCallFinished { run }) if run.output.is_err()))
        .count();
    assert_eq!(errors, 2);
    let results = server.requests().await[1].tool_results();
    assert!(results[0].1.starts_with("Error: ") && results[0].1.contains("not valid JSON"));
    assert!(results[1].1.starts_with("Error: unknown tool `forecast`"));
    assert_eq!(done(&events).answer(), Some("Sorry."));
}

#[tokio::test]
async fn streamed_finish_tool_ends_the_run() {
    let server = ScriptedServer::start(vec![sse_tool_calls(&[(
        "call_f",
        "finish",
        &[r#"{"answer":"#, r#""forty-two"}"#],
    )])])
    .await;
    let events = collect(&server, &[], AgentOptions::new().add_finish_tool(true)).await;
    let result = done(&events);
    assert_eq!(result.stop_reason, StopReason::FinishTool);
    assert_eq!(result.answer(), Some("forty-two"));
    assert_eq!(result.iterations, 1, "the finish round ran");
    assert_eq!(server.served(), 1);
}

#[tokio::test]
async fn streamed_direct_answer_is_zero_iterations() {
    let server = ScriptedServer::start(vec![sse_text(&["Hi."])]).await;
    let events = collect(&server, &[weather()], AgentOptions::default()).await;
    let result = done(&events);
    assert_eq!(result.iterations, 0);
    assert_eq!(result.stop_reason, StopReason::Completed);
}

#[tokio::test]
async fn streamed_limit_ends_with_a_streamed_call_that_cannot_use_tools() {
    let server = ScriptedServer::start(vec![
        sse_tool_calls(&[("call_1", "weather", &[r#"{"city":"Oslo"}"#])]),
        sse_text(&["Sunny ", "in Oslo."]),
    ])
    .await;
    let events = collect(&server, &[weather()], AgentOptions::new().max_iterations(1)).await;
    let result = done(&events);
    assert_eq!(result.stop_reason, StopReason::MaxIterations);
    assert_eq!(result.iterations, 1);
    assert_eq!(result.answer(), Some("Sunny in Oslo."));
    // The last call is model call 2: its deltas and its turn carry that number.
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Ok(AgentEvent::TextDelta { text, iteration: 2 }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, ["Sunny ", "in Oslo."]);
    let turns: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Ok(AgentEvent::TurnCompleted { iteration, .. }) => Some(*iteration),
            _ => None,
        })
        .collect();
    assert_eq!(turns, [1, 2]);
    let requests = server.requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body.get("tool_choice"), None);
    assert_eq!(requests[1].body["tool_choice"], json!("none"));
    assert_eq!(requests[1].body["stream"], json!(true));
    assert_eq!(requests[1].tool_names(), vec!["weather"]);
}

#[tokio::test]
async fn a_failed_model_call_ends_the_stream_with_an_error() {
    let server = ScriptedServer::start(vec![
        sse_tool_calls(&[("call_1", "weather", &[r#"{"city":"Oslo"}"#])]),
        error(429, "budget_exhausted", "Budget exhausted"),
    ])
    .await;
    let events = collect(&server, &[weather()], AgentOptions::default()).await;
    let last = events.last().expect("events");
    let err = last.as_ref().expect_err("the stream ends with the error");
    assert_eq!(err.status(), Some(429));
    assert!(!err.is_retryable());
    assert!(events[..events.len() - 1].iter().all(Result::is_ok));
}

#[tokio::test]
async fn the_stream_and_the_blocking_run_agree() {
    let script = || {
        vec![
            sse_tool_calls(&[("call_1", "weather", &[r#"{"city":"Oslo"}"#])]),
            sse_text(&["Sunny ", "in Oslo."]),
        ]
    };
    let streamed_server = ScriptedServer::start(script()).await;
    let events = collect(&streamed_server, &[weather()], AgentOptions::default()).await;
    let streamed = done(&events);

    // The blocking run reads the same turns as JSON.
    let blocking_server = ScriptedServer::start(vec![
        support::scripted_server::tool_calls(&[("call_1", "weather", r#"{"city":"Oslo"}"#)]),
        support::scripted_server::text("Sunny in Oslo."),
    ])
    .await;
    let m = model(&blocking_server);
    let blocking = run_agent(
        &m,
        vec![ChatMessage::user("go")],
        &[weather()],
        AgentOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(streamed.answer(), blocking.answer());
    assert_eq!(streamed.iterations, blocking.iterations);
    assert_eq!(streamed.tool_runs, blocking.tool_runs);
    assert_eq!(streamed.messages.len(), blocking.messages.len());
}

#[tokio::test]
async fn dropping_the_stream_stops_the_agent_and_its_tools() {
    let finished = Arc::new(AtomicBool::new(false));
    let slow = {
        let finished = Arc::clone(&finished);
        ToolDef::new(
            "slow",
            "Slow",
            json!({"type": "object"}),
            move |_: Value| {
                let finished = Arc::clone(&finished);
                async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    finished.store(true, Ordering::SeqCst);
                    Ok::<_, String>(json!("done"))
                }
            },
        )
    };
    let server = ScriptedServer::start(vec![
        sse_tool_calls(&[("call_1", "slow", &["{}"])]),
        sse_text(&["never"]),
    ])
    .await;
    let m = model(&server);
    let tools = [slow];
    let mut stream = run_agent_stream(
        &m,
        vec![ChatMessage::user("go")],
        &tools,
        AgentOptions::default(),
    );
    while let Some(event) = stream.next().await {
        if matches!(event, Ok(AgentEvent::ToolCallStarted { .. })) {
            break;
        }
    }
    drop(stream);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the tool's task was aborted"
    );
    assert_eq!(server.served(), 1, "no further model call");
}

#[test]
fn futures_and_streams_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let m = CompletionModel::openai_compatible("http://127.0.0.1:9/v1", "");
    let tools = [weather()];
    let run = run_agent(&m, Vec::new(), &tools, AgentOptions::default());
    assert_send(&run);
    let stream = run_agent_stream(&m, Vec::new(), &tools, AgentOptions::default());
    assert_send(&stream);
}
