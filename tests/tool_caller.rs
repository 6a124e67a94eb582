//! What a running tool asks of its caller (`blazen::tool::caller`): progress, log reports,
//! sampling and elicitation, with no host, with a host of the test's own, and across MCP (our
//! server and our client joined in process); and `ToolContent` results (images, audio,
//! resources) across MCP. The official peers' side of the same is in `tests/mcp_peers.rs`.

#[allow(dead_code)]
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen::prelude::*;
use blazen::tool::{
    caller, CallerBackend, CallerError, Content, Elicited, LogLevel, Sample, SampleRequest,
    ToolCaller, ToolContent,
};
use blazen_providers::{
    run_agent, run_agent_stream, AgentEvent, AgentOptions, ChatMessage, CompletionModel,
};
use futures::future::BoxFuture;
use futures::FutureExt;
use futures::StreamExt;
use serde_json::Value;
use support::mcp::{in_process, in_process_with};
use support::scripted_server::{sse_text, sse_tool_calls, text, tool_calls, ScriptedServer};

/// One progress report: progress, total, message.
type Report = (f64, Option<f64>, Option<String>);

/// A host that records what the tool reported and answers questions from a script.
#[derive(Default)]
struct Recorder {
    progress: Mutex<Vec<Report>>,
    logs: Mutex<Vec<(LogLevel, Value)>>,
    /// The answer to an elicitation.
    answer: Option<Value>,
}

impl CallerBackend for Recorder {
    fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> BoxFuture<'_, ()> {
        self.progress
            .lock()
            .unwrap()
            .push((progress, total, message));
        async {}.boxed()
    }

    fn log(&self, level: LogLevel, data: Value) -> BoxFuture<'_, ()> {
        self.logs.lock().unwrap().push((level, data));
        async {}.boxed()
    }

    fn sample(&self, request: SampleRequest) -> BoxFuture<'_, Result<Sample, CallerError>> {
        async move {
            Ok(Sample::new(
                format!("echo: {}", request.prompt()),
                "recorder",
            ))
        }
        .boxed()
    }

    fn elicit(
        &self,
        _message: String,
        _schema: Value,
    ) -> BoxFuture<'_, Result<Elicited<Value>, CallerError>> {
        let answer = self.answer.clone();
        async move { Ok(answer.map_or(Elicited::Declined, Elicited::Accepted)) }.boxed()
    }
}

/// Count to n, reporting progress and a log line.
#[tool]
async fn count(n: u32) -> u32 {
    let caller = caller();
    for i in 1..=n {
        caller
            .progress(
                f64::from(i),
                Some(f64::from(n)),
                Some(format!("{i} of {n}")),
            )
            .await;
    }
    caller.log(LogLevel::Warning, json!({"counted": n})).await;
    n
}

/// Ask the caller's model.
#[tool]
async fn ask(question: String) -> Result<String, ToolError> {
    Ok(caller().sample(SampleRequest::new(question)).await?.text)
}

/// A contact.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Contact {
    /// Their name.
    name: String,
    /// Their age.
    age: u32,
}

/// Ask the user for a contact.
#[tool]
async fn new_contact() -> Result<String, ToolError> {
    Ok(match caller().elicit::<Contact>("Who?").await? {
        Elicited::Accepted(contact) => format!("{} ({})", contact.name, contact.age),
        Elicited::Declined => "declined".to_owned(),
        Elicited::Cancelled => "cancelled".to_owned(),
    })
}

/// Draw a pixel.
#[tool]
fn pixel() -> ToolContent {
    ToolContent::new(vec![
        Content::text("a red pixel"),
        Content::image(b"\x89PNG fake bytes", "image/png"),
        Content::audio(b"RIFF fake", "audio/wav"),
        Content::resource_text("mem://note", "text/plain", "a note"),
    ])
    .with_structured(json!({"width": 1, "height": 1}))
}

#[tokio::test]
async fn without_a_host_reports_are_dropped_and_questions_fail_clearly() {
    assert!(!caller().is_connected());
    assert_eq!(count::tool().call(json!({"n": 2})).await.unwrap(), json!(2));
    let err = ask::tool()
        .call(json!({"question": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the tool's caller does not offer sampling");
    let err = new_contact::tool().call(json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the tool's caller does not offer elicitation"
    );
}

#[tokio::test]
async fn a_host_receives_progress_logs_and_answers_questions() {
    let recorder = Arc::new(Recorder {
        answer: Some(json!({"name": "Ada", "age": 36})),
        ..Recorder::default()
    });
    let host = ToolCaller::new(recorder.clone());
    let out = host
        .clone()
        .scope(count::tool().call(json!({"n": 3})))
        .await
        .unwrap();
    assert_eq!(out, json!(3));
    assert_eq!(
        *recorder.progress.lock().unwrap(),
        [
            (1.0, Some(3.0), Some("1 of 3".to_owned())),
            (2.0, Some(3.0), Some("2 of 3".to_owned())),
            (3.0, Some(3.0), Some("3 of 3".to_owned())),
        ]
    );
    assert_eq!(
        *recorder.logs.lock().unwrap(),
        [(LogLevel::Warning, json!({"counted": 3}))]
    );
    let answer = host
        .clone()
        .scope(ask::tool().call(json!({"question": "why?"})))
        .await
        .unwrap();
    assert_eq!(answer, json!("echo: why?"));
    let contact = host
        .scope(new_contact::tool().call(json!({})))
        .await
        .unwrap();
    assert_eq!(contact, json!("Ada (36)"));
}

#[tokio::test]
async fn an_elicited_answer_of_the_wrong_shape_names_the_field() {
    let declined = ToolCaller::new(Arc::new(Recorder::default()));
    let out = declined
        .scope(new_contact::tool().call(json!({})))
        .await
        .unwrap();
    assert_eq!(out, json!("declined"));

    let wrong = ToolCaller::new(Arc::new(Recorder {
        answer: Some(json!({"name": "Ada", "age": "old"})),
        ..Recorder::default()
    }));
    let err = wrong
        .scope(new_contact::tool().call(json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.arguments(), vec!["age"], "{err}");
}

#[tokio::test]
async fn progress_crosses_mcp_to_the_callers_host() {
    let client = in_process(&[count::tool()]).await;
    let remote = client.tools().await.unwrap().remove(0);
    let recorder = Arc::new(Recorder::default());
    let out = ToolCaller::new(recorder.clone())
        .scope(remote.call(json!({"n": 4})))
        .await
        .unwrap();
    assert_eq!(out, json!("4"));
    // Every report is passed on before the call returns (nothing can arrive after it).
    let progress = recorder.progress.lock().unwrap().clone();
    assert_eq!(
        progress.iter().map(|p| p.0).collect::<Vec<_>>(),
        [1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(progress[3], (4.0, Some(4.0), Some("4 of 4".to_owned())));
    client.close().await;
}

#[tokio::test]
async fn questions_to_a_client_without_the_capability_are_tool_errors() {
    // Our client offers neither sampling nor elicitation: the tool's question fails, and the
    // failure is a tool result the model can read, not a protocol error.
    let client = in_process(&[ask::tool(), new_contact::tool()]).await;
    let tools = client.tools().await.unwrap();
    let err = tools[0].call(json!({"question": "hi"})).await.unwrap_err();
    assert_eq!(err.to_string(), "the tool's caller does not offer sampling");
    let raw = client.call_tool("new_contact", json!({})).await.unwrap();
    assert_eq!(raw.is_error, Some(true));
    client.close().await;
}

#[tokio::test]
async fn rich_content_crosses_mcp_block_by_block() {
    let local = pixel::tool().call(json!({})).await.unwrap();
    let client = in_process(&[pixel::tool()]).await;

    // On the wire: MCP content blocks, and the structured value beside them.
    let raw = client.call_tool("pixel", json!({})).await.unwrap();
    let wire = serde_json::to_value(&raw).unwrap();
    assert_eq!(
        wire["content"][0],
        json!({"type": "text", "text": "a red pixel"})
    );
    assert_eq!(wire["content"][1]["type"], "image");
    assert_eq!(wire["content"][1]["mimeType"], "image/png");
    assert_eq!(wire["content"][2]["type"], "audio");
    assert_eq!(wire["content"][3]["resource"]["uri"], "mem://note");
    assert_eq!(wire["structuredContent"], json!({"width": 1, "height": 1}));

    // Through the client's ToolDef: the same ToolContent as the local call.
    let remote = client.tools().await.unwrap().remove(0);
    let value = remote.call(json!({})).await.unwrap();
    let content = ToolContent::from_value(&value).expect("a ToolContent");
    assert_eq!(content, ToolContent::from_value(&local).unwrap());
    assert_eq!(content.text(), "a red pixel\na note");
    match &content.content[1] {
        Content::Image { data, mime_type } => {
            assert_eq!(mime_type, "image/png");
            assert_eq!(data, "iVBORyBmYWtlIGJ5dGVz");
        }
        other => panic!("{other:?}"),
    }
    client.close().await;
}

#[tokio::test]
async fn an_agent_sends_a_tools_text_as_its_answer_and_its_images_after() {
    // Through MCP, as an agent using a remote tool would.
    let client = in_process(&[pixel::tool()]).await;
    let tools = client.tools().await.unwrap();
    let server = ScriptedServer::start(vec![
        tool_calls(&[("call_1", "pixel", "{}")]),
        text("It is a red pixel."),
    ])
    .await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "test-key").with_model("gpt-4o-mini");
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        run_agent(
            &model,
            vec![ChatMessage::user("Draw a pixel and describe it.")],
            &tools,
            AgentOptions::default(),
        ),
    )
    .await
    .expect("no hang")
    .unwrap();
    assert_eq!(result.answer(), Some("It is a red pixel."));

    let requests = server.requests().await;
    let results = requests[1].tool_results();
    assert_eq!(
        results[0].1,
        "a red pixel\n[image/png image: attached below]\n[audio/wav audio: not shown]\n\
         [resource mem://note]\na note"
    );
    // The image follows the tool message, as a user message the model can see.
    let messages = requests[1].body["messages"].as_array().unwrap();
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user", "{last}");
    assert_eq!(last["content"][1]["type"], "image_url", "{last}");
    assert_eq!(
        last["content"][1]["image_url"]["url"],
        "data:image/png;base64,iVBORyBmYWtlIGJ5dGVz"
    );
    client.close().await;
}

/// Counts its drops: a tool future holding one was stopped (or finished).
struct DropCount(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_call_its_caller_abandons_is_cancelled_on_the_server() {
    let stopped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let held = Arc::clone(&stopped);
    let slow = ToolDef::new(
        "slow",
        "Take a long time.",
        json!({"type": "object", "properties": {}}),
        move |_args: Value| {
            let guard = DropCount(Arc::clone(&held));
            async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(guard);
                json!("done")
            }
        },
    );
    let client = in_process(&[slow]).await;
    let remote = client.tools().await.unwrap().remove(0);
    // The caller gives up (an agent's tool timeout does this).
    let gave_up = tokio::time::timeout(Duration::from_millis(100), remote.call(json!({}))).await;
    assert!(gave_up.is_err());
    // notifications/cancelled reaches the server, which drops the running tool.
    tokio::time::timeout(Duration::from_secs(5), async {
        while stopped.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the server stops the abandoned call");
    client.close().await;
}

#[tokio::test]
async fn a_servers_tool_asks_the_clients_model_and_user() {
    // The client answers sampling with a real CompletionModel (against a scripted OpenAI-
    // compatible server) and elicitation with a closure standing for its interface.
    let server = ScriptedServer::start(vec![text("Because it is.")]).await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "test-key").with_model("gpt-4o-mini");
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&asked);
    let builder = blazen::mcp::McpClient::builder()
        .sampling(model)
        .elicitation(move |message: String, form: Value| {
            seen.lock().unwrap().push((message, form));
            async move { Ok(Elicited::Accepted(json!({"name": "Ada", "age": 36}))) }
        });
    let client = in_process_with(builder, &[ask::tool(), new_contact::tool()]).await;
    let tools = client.tools().await.unwrap();

    let answer = tools[0].call(json!({"question": "Why?"})).await.unwrap();
    assert_eq!(answer, json!("Because it is."));
    let requests = server.requests().await;
    let messages = &requests[0].body["messages"];
    assert_eq!(messages[0]["role"], "user", "{messages}");
    assert_eq!(messages[0]["content"], "Why?", "{messages}");
    assert_eq!(requests[0].body["max_tokens"], 1024);

    let contact = tools[1].call(json!({})).await.unwrap();
    assert_eq!(contact, json!("Ada (36)"));
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked[0].0, "Who?");
    // The form is the struct's schema, as MCP elicitation wants it.
    assert_eq!(asked[0].1["type"], "object");
    assert_eq!(asked[0].1["properties"]["age"]["type"], "integer");
    assert_eq!(asked[0].1["required"], json!(["name", "age"]));
    client.close().await;
}

#[tokio::test]
async fn a_streaming_agent_passes_an_mcp_tools_progress_on_as_events() {
    let client = in_process(&[count::tool()]).await;
    let tools = client.tools().await.unwrap();
    let server = ScriptedServer::start(vec![
        sse_tool_calls(&[("call_1", "count", &[r#"{"n": 3}"#])]),
        sse_text(&["Counted."]),
    ])
    .await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "test-key").with_model("gpt-4o-mini");
    let stream = run_agent_stream(
        &model,
        vec![ChatMessage::user("Count to 3.")],
        &tools,
        AgentOptions::default(),
    );
    let events = tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends");
    let kinds: Vec<String> = events
        .iter()
        .filter_map(|e| match e.as_ref().unwrap() {
            AgentEvent::ToolCallStarted { call, .. } => Some(format!("started {}", call.id)),
            AgentEvent::ToolProgress {
                iteration,
                call_id,
                progress,
                total,
                message,
            } => Some(format!(
                "{iteration} {call_id} {progress}/{total:?} {message:?}"
            )),
            AgentEvent::ToolCallFinished { run } => Some(format!("finished {}", run.call.id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "started call_1",
            "1 call_1 1/Some(3.0) Some(\"1 of 3\")",
            "1 call_1 2/Some(3.0) Some(\"2 of 3\")",
            "1 call_1 3/Some(3.0) Some(\"3 of 3\")",
            "finished call_1",
        ]
    );
    client.close().await;
}
