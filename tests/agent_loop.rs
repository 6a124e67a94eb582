//! `run_agent` against a scripted local OpenAI-compatible server: multi-turn tool use, parallel
//! calls, bad arguments, unknown tools, tool errors, the finish tool, `max_iterations`, cost.
//!
//! Iterations are tool-call rounds (the seed's meaning): a direct answer is 0, and reaching
//! `max_iterations` rounds ends with one last call that may not call tools.

#[allow(dead_code)]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use blazen::ToolDef;
use blazen_providers::{
    run_agent, AgentOptions, BlazenError, ChatMessage, CompletionModel, Role, StopReason,
    ToolCallError,
};
use serde_json::{json, Value};
use support::scripted_server::{error, text, tool_calls, ScriptedServer};

fn model(server: &ScriptedServer) -> CompletionModel {
    CompletionModel::openai_compatible(server.base_url(), "test-key").with_model("gpt-4o-mini")
}

fn weather() -> ToolDef {
    ToolDef::new(
        "weather",
        "Current weather for a city",
        json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }),
        |args: Value| async move {
            match args["city"].as_str() {
                Some("Atlantis") => Err("no such city: Atlantis".to_owned()),
                Some(city) => Ok(json!({"city": city, "celsius": city.len()})),
                None => Err("city must be a string".to_owned()),
            }
        },
    )
}

fn ask(question: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::user(question)]
}

async fn run(
    server: &ScriptedServer,
    tools: &[ToolDef],
    options: AgentOptions,
) -> Result<blazen_providers::AgentResult, BlazenError> {
    tokio::time::timeout(
        Duration::from_secs(20),
        run_agent(&model(server), ask("What's the weather?"), tools, options),
    )
    .await
    .expect("run_agent must not hang")
}

#[tokio::test]
async fn a_direct_answer_is_zero_iterations() {
    let server = ScriptedServer::start(vec![text("Hello!")]).await;
    let r = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.answer(), Some("Hello!"));
    assert_eq!(r.iterations, 0, "no tool-call round ran");
    assert_eq!(r.stop_reason, StopReason::Completed);
    assert!(!r.hit_max_iterations());
    assert!(r.tool_runs.is_empty());
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.messages[1].role, Role::Assistant);

    let requests = server.requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].tool_names(), vec!["weather"]);
    assert_eq!(
        requests[0].body.get("tool_choice"),
        None,
        "the model may call tools"
    );
}

#[tokio::test]
async fn system_prompt_temperature_and_max_tokens_reach_every_call() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "weather", r#"{"city":"Paris"}"#)]),
        text("Sunny."),
    ])
    .await;
    let options = AgentOptions::new()
        .system_prompt("Be brief.")
        .temperature(0.25)
        .max_tokens(64);
    let r = run(&server, &[weather()], options).await.unwrap();
    assert_eq!(r.messages[0].role, Role::System);
    assert_eq!(r.messages[0].content.as_deref(), Some("Be brief."));
    for req in server.requests().await {
        let messages = req.messages();
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(messages[0]["content"], "Be brief.");
        assert_eq!(req.body["temperature"], json!(0.25));
        let max = req
            .body
            .get("max_tokens")
            .or_else(|| req.body.get("max_completion_tokens"));
        assert_eq!(max, Some(&json!(64)), "{}", req.body);
    }
}

#[tokio::test]
async fn multi_turn_tool_use_links_results_by_call_id() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_a", "weather", r#"{"city":"Paris"}"#)]),
        tool_calls(&[("call_b", "weather", r#"{"city":"Lyon"}"#)]),
        text("Paris 5, Lyon 4."),
    ])
    .await;
    let r = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.iterations, 2, "two tool-call rounds, then the answer");
    assert_eq!(r.stop_reason, StopReason::Completed);
    assert_eq!(r.answer(), Some("Paris 5, Lyon 4."));
    let rounds: Vec<usize> = r.tool_runs.iter().map(|t| t.iteration).collect();
    assert_eq!(rounds, [1, 2]);
    // user, assistant(call_a), tool, assistant(call_b), tool, assistant
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Assistant,
            Role::Tool,
            Role::Assistant
        ]
    );

    let requests = server.requests().await;
    assert_eq!(requests.len(), 3);
    assert!(
        requests.iter().all(|r| r.body.get("tool_choice").is_none()),
        "below the limit every call may use tools"
    );
    assert_eq!(
        requests[1].tool_results(),
        vec![(
            "call_a".to_owned(),
            r#"{"celsius":5,"city":"Paris"}"#.to_owned()
        )]
    );
    // The assistant turn is replayed with its tool call before the result.
    let assistant = &requests[1].messages()[1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(assistant["tool_calls"][0]["id"], "call_a");
    assert_eq!(assistant["tool_calls"][0]["function"]["name"], "weather");
    assert_eq!(
        requests[2].tool_results(),
        vec![
            (
                "call_a".to_owned(),
                r#"{"celsius":5,"city":"Paris"}"#.to_owned()
            ),
            (
                "call_b".to_owned(),
                r#"{"celsius":4,"city":"Lyon"}"#.to_owned()
            ),
        ]
    );
}

/// Two tools that can only finish together: run one after the other, they would deadlock.
#[tokio::test]
async fn calls_of_one_turn_run_in_parallel_and_keep_their_order() {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let meet = |name: &'static str| {
        let barrier = Arc::clone(&barrier);
        ToolDef::new(
            name,
            "Waits for its partner",
            json!({"type": "object"}),
            move |_: Value| {
                let barrier = Arc::clone(&barrier);
                async move {
                    barrier.wait().await;
                    Ok::<_, String>(json!(name))
                }
            },
        )
    };
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "left", "{}"), ("call_2", "right", "{}")]),
        text("Both met."),
    ])
    .await;
    let options = AgentOptions::new().tool_timeout(Duration::from_secs(5));
    let r = run(&server, &[meet("left"), meet("right")], options)
        .await
        .unwrap();
    assert_eq!(r.answer(), Some("Both met."));
    assert!(
        r.tool_runs.iter().all(|t| t.output.is_ok()),
        "{:?}",
        r.tool_runs
    );
    let requests = server.requests().await;
    assert_eq!(
        requests[1].tool_results(),
        vec![
            ("call_1".to_owned(), "left".to_owned()),
            ("call_2".to_owned(), "right".to_owned())
        ]
    );
}

#[tokio::test]
async fn parallelism_is_bounded() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let slow = {
        let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
        ToolDef::new(
            "slow",
            "Takes a while",
            json!({"type": "object"}),
            move |_: Value| {
                let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, String>(json!("done"))
                }
            },
        )
    };
    let calls: Vec<(String, &str, &str)> = (1..=6)
        .map(|i| (format!("call_{i}"), "slow", "{}"))
        .collect();
    let calls: Vec<(&str, &str, &str)> =
        calls.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    let server = ScriptedServer::start(vec![tool_calls(&calls), text("ok")]).await;
    let r = run(&server, &[slow], AgentOptions::new().max_parallel_tools(2))
        .await
        .unwrap();
    assert_eq!(r.tool_runs.len(), 6);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "at most 2 at once, and 2 did run together"
    );
    let ids: Vec<String> = server.requests().await[1]
        .tool_results()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        ["call_1", "call_2", "call_3", "call_4", "call_5", "call_6"]
    );
}

#[tokio::test]
async fn bad_arguments_go_back_to_the_model_and_the_loop_continues() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[
            ("call_json", "weather", r#"{"city": "Par"#), // cut-off JSON
            ("call_type", "weather", r#"{"town": "Paris"}"#), // missing `city`
        ]),
        tool_calls(&[("call_ok", "weather", r#"{"city":"Paris"}"#)]),
        text("Paris is at 5."),
    ])
    .await;
    let r = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.answer(), Some("Paris is at 5."));
    assert_eq!(r.iterations, 2, "a round of failed calls is still a round");

    let results = server.requests().await[1].tool_results();
    assert_eq!(results[0].0, "call_json");
    assert!(results[0].1.starts_with("Error: "), "{}", results[0].1);
    assert!(results[0].1.contains("not valid JSON"), "{}", results[0].1);
    assert_eq!(results[1].0, "call_type");
    assert!(results[1].1.starts_with("Error: "), "{}", results[1].1);
    assert!(results[1].1.contains("city"), "{}", results[1].1);

    assert!(matches!(
        r.tool_runs[0].output,
        Err(ToolCallError::InvalidJson { .. })
    ));
    assert!(
        matches!(&r.tool_runs[1].output, Err(ToolCallError::Tool(e)) if e.is_invalid_arguments())
    );
    assert!(r.tool_runs[2].output.is_ok());
}

#[tokio::test]
async fn unknown_tool_goes_back_to_the_model() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "teleport", r#"{"to":"Mars"}"#)]),
        text("I cannot teleport."),
    ])
    .await;
    let r = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.answer(), Some("I cannot teleport."));
    let results = server.requests().await[1].tool_results();
    assert_eq!(
        results,
        vec![(
            "call_1".to_owned(),
            "Error: unknown tool `teleport`; the available tools are: weather".to_owned()
        )]
    );
}

#[tokio::test]
async fn tool_errors_panics_and_timeouts_go_back_to_the_model() {
    let panicking = ToolDef::new(
        "explode",
        "Panics",
        json!({"type": "object"}),
        |_: Value| -> Value { panic!("kaboom") },
    );
    let sleepy = ToolDef::new(
        "sleepy",
        "Never answers",
        json!({"type": "object"}),
        |_: Value| async {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            Ok::<_, String>(json!("late"))
        },
    );
    let server = ScriptedServer::start(vec![
        tool_calls(&[
            ("call_err", "weather", r#"{"city":"Atlantis"}"#),
            ("call_panic", "explode", "{}"),
            ("call_slow", "sleepy", "{}"),
        ]),
        text("Some tools failed."),
    ])
    .await;
    let options = AgentOptions::new().tool_timeout(Duration::from_millis(200));
    let r = run(&server, &[weather(), panicking, sleepy], options)
        .await
        .unwrap();
    assert_eq!(r.answer(), Some("Some tools failed."));
    let results = server.requests().await[1].tool_results();
    assert_eq!(results[0].1, "Error: no such city: Atlantis");
    assert!(
        results[1].1.starts_with("Error: ") && results[1].1.contains("kaboom"),
        "{}",
        results[1].1
    );
    assert!(
        results[2].1.starts_with("Error: ") && results[2].1.contains("200ms"),
        "{}",
        results[2].1
    );
    assert!(matches!(
        r.tool_runs[2].output,
        Err(ToolCallError::TimedOut { .. })
    ));
}

#[tokio::test]
async fn finish_tool_ends_the_loop_with_its_answer() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_w", "weather", r#"{"city":"Paris"}"#)]),
        tool_calls(&[(
            "call_f",
            "finish",
            r#"{"answer":"It is 5 degrees in Paris."}"#,
        )]),
        text("never requested"),
    ])
    .await;
    let r = run(
        &server,
        &[weather()],
        AgentOptions::new().add_finish_tool(true),
    )
    .await
    .unwrap();
    assert_eq!(r.stop_reason, StopReason::FinishTool);
    assert_eq!(r.answer(), Some("It is 5 degrees in Paris."));
    // The weather round and the finish round both ran tools; no answer call follows `finish`.
    assert_eq!(r.iterations, 2);
    assert_eq!(server.served(), 2);
    let requests = server.requests().await;
    assert_eq!(requests[0].tool_names(), vec!["weather", "finish"]);
    // The history stays valid: the finish call has its tool result.
    let last = r.messages.last().unwrap();
    assert_eq!(last.role, Role::Tool);
    assert_eq!(last.tool_call_id.as_deref(), Some("call_f"));
}

#[tokio::test]
async fn finish_without_answer_goes_back_to_the_model() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "finish", "{}")]),
        tool_calls(&[("call_2", "finish", r#"{"answer":"done"}"#)]),
    ])
    .await;
    let r = run(&server, &[], AgentOptions::new().add_finish_tool(true))
        .await
        .unwrap();
    assert_eq!(r.answer(), Some("done"));
    assert_eq!(r.iterations, 2);
    let results = server.requests().await[1].tool_results();
    assert!(
        results[0].1.contains("needs an `answer`"),
        "{}",
        results[0].1
    );
}

#[tokio::test]
async fn without_add_finish_tool_finish_is_an_unknown_tool() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "finish", r#"{"answer":"x"}"#)]),
        text("ok"),
    ])
    .await;
    let r = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::Completed);
    assert_eq!(r.answer(), Some("ok"));
    assert!(server.requests().await[0].tool_names() == vec!["weather"]);
}

#[tokio::test]
async fn reaching_max_iterations_ends_with_a_call_that_cannot_use_tools() {
    let call = |id: &str| tool_calls(&[(id, "weather", r#"{"city":"Paris"}"#)]).usage(100, 10);
    let server = ScriptedServer::start(vec![
        call("call_1"),
        call("call_2"),
        text("Paris is at 5 degrees.").usage(400, 40),
        text("unreached"),
    ])
    .await;
    let r = run(&server, &[weather()], AgentOptions::new().max_iterations(2))
        .await
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
    assert!(r.hit_max_iterations());
    assert_eq!(r.iterations, 2, "two tool-call rounds ran");
    assert_eq!(r.tool_runs.len(), 2);
    assert_eq!(server.served(), 3, "two rounds and the last call");
    // The last call's answer is the response.
    assert_eq!(r.answer(), Some("Paris is at 5 degrees."));
    assert!(r.response.tool_calls.is_empty());
    assert_eq!(r.messages.last().unwrap().role, Role::Assistant);
    // Its usage and cost are in the totals.
    assert_eq!(r.total_usage.prompt_tokens, 100 + 100 + 400);
    assert_eq!(r.total_usage.completion_tokens, 10 + 10 + 40);
    let last_cost = r.response.cost.expect("gpt-4o-mini is priced");
    assert!(last_cost > 0.0);
    assert!(r.total_cost.unwrap() > last_cost);

    let requests = server.requests().await;
    for req in &requests[..2] {
        assert_eq!(req.body.get("tool_choice"), None, "{}", req.body);
    }
    // The last request may not call tools: `tool_choice: "none"`, the definitions still sent
    // (providers want them beside a history of tool calls), both rounds' results included.
    let last = &requests[2];
    assert_eq!(last.body["tool_choice"], json!("none"), "{}", last.body);
    assert_eq!(last.tool_names(), vec!["weather"]);
    let ids: Vec<String> = last.tool_results().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["call_1", "call_2"]);
}

#[tokio::test]
async fn a_model_ignoring_the_last_tool_choice_gets_its_calls_refused() {
    let call = |id: &str| tool_calls(&[(id, "weather", r#"{"city":"Paris"}"#)]);
    let server = ScriptedServer::start(vec![call("call_1"), call("call_2")]).await;
    let r = run(&server, &[weather()], AgentOptions::new().max_iterations(1))
        .await
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
    assert_eq!(r.iterations, 1);
    assert_eq!(server.served(), 2);
    assert_eq!(
        r.tool_runs.len(),
        1,
        "the call made after the limit did not run"
    );
    assert_eq!(r.response.tool_calls[0].id, "call_2");
    assert_eq!(r.answer(), None);
    // The history stays valid: the refused call has a result that says why.
    let last = r.messages.last().unwrap();
    assert_eq!(last.role, Role::Tool);
    assert_eq!(last.tool_call_id.as_deref(), Some("call_2"));
    let text = last.content.as_deref().unwrap();
    assert!(text.starts_with("Error: not run"), "{text}");
    assert!(text.contains("max_iterations"), "{text}");
}

#[tokio::test]
async fn without_tools_the_last_call_sends_no_tool_choice() {
    // A model that calls a tool it was never offered: the round reports the unknown tool,
    // and the last call has no tools to disable (OpenAI rejects tool_choice without tools).
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "teleport", "{}")]),
        text("I cannot."),
    ])
    .await;
    let r = run(&server, &[], AgentOptions::new().max_iterations(1))
        .await
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
    assert_eq!(r.iterations, 1);
    assert_eq!(r.answer(), Some("I cannot."));
    let last = &server.requests().await[1];
    assert_eq!(last.body.get("tool_choice"), None, "{}", last.body);
    assert!(last.tool_names().is_empty());
}

#[tokio::test]
async fn finish_within_the_limit_ends_the_run_without_an_extra_call() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_f", "finish", r#"{"answer":"Done."}"#)]),
        text("unreached"),
    ])
    .await;
    let options = AgentOptions::new().add_finish_tool(true).max_iterations(1);
    let r = run(&server, &[weather()], options).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::FinishTool);
    assert_eq!(r.iterations, 1);
    assert_eq!(r.answer(), Some("Done."));
    assert_eq!(server.served(), 1);
}

#[tokio::test]
async fn with_the_finish_tool_the_limit_still_ends_with_a_tool_less_answer() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "weather", r#"{"city":"Paris"}"#)]),
        text("Paris is at 5."),
    ])
    .await;
    let options = AgentOptions::new().add_finish_tool(true).max_iterations(1);
    let r = run(&server, &[weather()], options).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
    assert_eq!(r.iterations, 1);
    assert_eq!(r.answer(), Some("Paris is at 5."));
    let last = &server.requests().await[1];
    assert_eq!(last.body["tool_choice"], json!("none"));
    assert_eq!(last.tool_names(), vec!["weather", "finish"]);
}

#[tokio::test]
async fn invalid_options_are_validation_errors() {
    let server = ScriptedServer::start(vec![]).await;
    let err = run(&server, &[weather()], AgentOptions::new().max_iterations(0))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");

    let err = run(&server, &[weather(), weather()], AgentOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("weather"), "{err}");

    let own_finish = ToolDef::new("finish", "mine", json!({"type": "object"}), |_: Value| {
        json!(1)
    });
    let err = run(
        &server,
        &[own_finish],
        AgentOptions::new().add_finish_tool(true),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert_eq!(server.served(), 0);
}

#[tokio::test]
async fn model_errors_end_the_run() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "weather", r#"{"city":"Paris"}"#)]),
        error(401, "invalid_api_key", "Incorrect API key provided"),
    ])
    .await;
    let err = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn usage_and_cost_are_summed_over_the_run() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "weather", r#"{"city":"Paris"}"#)]).usage(1_000, 100),
        tool_calls(&[("call_2", "weather", r#"{"city":"Rome"}"#)]).usage(2_000, 200),
        text("Done.").usage(3_000, 300),
    ])
    .await;
    let m = model(&server);
    let r = run_agent(&m, ask("weather?"), &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.total_usage.prompt_tokens, 6_000);
    assert_eq!(r.total_usage.completion_tokens, 600);
    assert_eq!(r.total_usage.total_tokens, 6_600);

    // The same three answers priced one by one.
    let single = ScriptedServer::start(vec![
        text("a").usage(1_000, 100),
        text("b").usage(2_000, 200),
        text("c").usage(3_000, 300),
    ])
    .await;
    let one = model(&single);
    let mut expected = 0.0;
    for _ in 0..3 {
        expected += one
            .complete(&ask("x"))
            .await
            .unwrap()
            .cost
            .expect("gpt-4o-mini is priced");
    }
    let total = r.total_cost.expect("priced model: the run has a cost");
    assert!(expected > 0.0);
    assert!((total - expected).abs() < 1e-12, "{total} vs {expected}");
}

#[tokio::test]
async fn total_cost_is_none_when_no_response_has_a_cost() {
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "weather", r#"{"city":"Paris"}"#)]).model("my-local-model"),
        text("Done.").model("my-local-model"),
    ])
    .await;
    let m = CompletionModel::openai_compatible(server.base_url(), "k").with_model("my-local-model");
    let r = run_agent(&m, ask("weather?"), &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.total_cost, None);
    assert_eq!(r.total_usage.total_tokens, 30);
}

#[tokio::test]
async fn script_exhaustion_is_an_error_not_a_hang() {
    let server = ScriptedServer::start(vec![tool_calls(&[(
        "call_1",
        "weather",
        r#"{"city":"Paris"}"#,
    )])])
    .await;
    let err = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
}

#[tokio::test]
async fn text_beside_tool_calls_stays_in_the_history() {
    let server = ScriptedServer::start(vec![
        support::scripted_server::tool_calls_with_text(
            Some("Let me check."),
            &[("call_1", "weather", r#"{"city":"Oslo"}"#)],
        ),
        text("Cold."),
    ])
    .await;
    let r = run(&server, &[weather()], AgentOptions::default())
        .await
        .unwrap();
    assert_eq!(r.messages[1].content.as_deref(), Some("Let me check."));
    assert_eq!(r.messages[1].tool_calls.len(), 1);
    let replayed = &server.requests().await[1].messages()[1];
    assert_eq!(replayed["content"], "Let me check.");
    assert_eq!(replayed["tool_calls"][0]["id"], "call_1");
}

#[tokio::test]
async fn a_slow_model_is_waited_for() {
    let server = ScriptedServer::start(vec![
        text("Slow but sure.").delayed(Duration::from_millis(300))
    ])
    .await;
    let r = run(&server, &[], AgentOptions::default()).await.unwrap();
    assert_eq!(r.answer(), Some("Slow but sure."));
    assert!(r
        .response
        .timing
        .and_then(|t| t.total_ms)
        .is_some_and(|ms| ms >= 300));
}

/// `MAX_CONTINUATIONS` counts paused turns in a row: a tool round in between starts again.
#[tokio::test]
async fn paused_turns_are_counted_per_round() {
    use blazen_providers::{ToolCall, MAX_CONTINUATIONS};
    use support::scripted_provider::{answer, ScriptedProvider};

    let paused = || {
        let mut r = answer("m", "");
        r.content = None;
        r.finish_reason = Some("pause_turn".into());
        Ok(r)
    };
    let mut replies: Vec<_> = (0..MAX_CONTINUATIONS).map(|_| paused()).collect();
    let mut call = answer("m", "");
    call.content = None;
    call.finish_reason = Some("tool_calls".into());
    call.tool_calls = vec![ToolCall::new("call_1", "weather", json!({"city": "Oslo"}))];
    replies.push(Ok(call));
    replies.extend((0..MAX_CONTINUATIONS).map(|_| paused()));
    replies.push(Ok(answer("m", "It is 4 degrees in Oslo.")));
    let provider = ScriptedProvider::new("scripted", replies);

    let result = run_agent(
        &provider.model(),
        ask("What's the weather?"),
        &[weather()],
        AgentOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(result.answer(), Some("It is 4 degrees in Oslo."));
    assert_eq!(result.stop_reason, StopReason::Completed);
    assert_eq!(result.iterations, 1);
    assert_eq!(provider.calls(), 2 * MAX_CONTINUATIONS + 2);
}
