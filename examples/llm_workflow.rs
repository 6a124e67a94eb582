//! An LLM workflow: plan → parallel tool calls (fan-out) → synthesize → Stop, with the model's
//! tokens streamed to the workflow's event stream.
//!
//! ```sh
//! cargo run --example llm_workflow                        # no key: replays a recorded session
//! OPENAI_API_KEY=sk-... cargo run --example llm_workflow  # the real OpenAI API
//! OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 \
//!     cargo run --example llm_workflow                    # Ollama, llama.cpp, vLLM, ...
//! ```
//!
//! - `plan` asks the model which tools to call; each tool call becomes a `ToolRequest` event.
//! - `call_tool` runs once per `ToolRequest`, up to four at a time, and emits a `ToolResult`.
//! - `synthesize` waits for every `ToolResult` (`ctx.collect_events`), gives the results to the
//!   model and streams its answer; the run ends with a `StopEvent` holding the answer.
//!
//! The steps are `#[step]` functions and `workflow!` checks the graph at compile time. The
//! workflow holds the model and the tools as resources (`with_resource`), which the steps read
//! with `ctx.resource::<T>()`. `stream_to_workflow` writes the model's text deltas to the run's stream as `LlmDelta` events,
//! which `main` prints as they arrive. Without a key, the answers come from a recording of this
//! very conversation with gpt-4o through OpenRouter (streamed), served by a local HTTP server.

#[path = "support/replay.rs"]
mod replay;

use std::io::Write;

use blazen::prelude::*;
use blazen_providers::{
    stream_to_workflow, ChatMessage, CompletionModel, CompletionRequest, LlmDelta, ToolCall,
    ToolChoice,
};
use futures::StreamExt;

/// One tool call the plan asked for.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct ToolRequest {
    call: ToolCall,
    /// Position in the plan, so results can be put back in order.
    order: usize,
    /// How many calls the plan made.
    total: usize,
}

/// The result of one tool call.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct ToolResult {
    call_id: String,
    name: String,
    content: String,
    order: usize,
    total: usize,
}

/// Return the alpha signal marker.
#[tool]
fn lookup_harbor_label() -> String {
    "crimson-harbor".to_owned()
}

/// Return the beta signal marker.
#[tool]
async fn lookup_orchard_label() -> String {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await; // a slow lookup
    "silver-orchard".to_owned()
}

// The conversation of the recording, word for word, so that the replay matches it.
const SYSTEM: &str = "You are a precise assistant. When tools are available, you must use them \
instead of guessing. Call both `lookup_harbor_label` and `lookup_orchard_label` before writing any \
normal text. Never call the same tool twice once you already have its result.";
const USER: &str =
    "Call `lookup_harbor_label` and `lookup_orchard_label` exactly once each before \
answering. After both tool results are available, stop calling tools and respond in one short \
sentence that includes both exact tool outputs.";

const RECORDING: &str = include_str!(
    "../tests/fixtures/openrouter/agent_tool_sessions__parallel_tool_calls_single_turn_streaming.json"
);

/// What `plan` decides: the tool calls to make, or the answer when none is needed.
#[derive(Debug, Event)]
#[event(one_of)]
enum Planned {
    Call(ToolRequest),
    Answer(StopEvent),
}

/// The tools the workflow offers (held as a resource beside the model).
struct Tools(Vec<ToolDef>);

/// `plan`: StartEvent → one `ToolRequest` per tool call (or straight to Stop if none).
#[step]
async fn plan(ctx: &Context, start: StartEvent) -> Result<Vec<Planned>, WorkflowError> {
    let model = ctx.resource::<CompletionModel>()?;
    let Tools(tools) = ctx.resource::<Tools>()?;
    let question = start
        .get("question")
        .and_then(|q| q.as_str())
        .unwrap_or(USER);
    let messages = vec![ChatMessage::system(SYSTEM), ChatMessage::user(question)];
    let request = CompletionRequest::new(messages.clone()).tools(tools);
    let response = stream_to_workflow(ctx, model, request, "plan").await?;
    if response.tool_calls.is_empty() {
        let stop = StopEvent::new(json!({ "answer": response.content, "tool_calls": 0 }));
        return Ok(vec![Planned::Answer(stop)]);
    }
    // The conversation so far, for `synthesize`.
    let mut history = messages;
    history.push(response.to_message());
    ctx.set("history", &history)?;
    ctx.set("plan_cost", &response.cost)?;
    let total = response.tool_calls.len();
    Ok(response
        .tool_calls
        .into_iter()
        .enumerate()
        .map(|(order, call)| Planned::Call(ToolRequest { call, order, total }))
        .collect())
}

/// `call_tool`: one `ToolRequest` → its `ToolResult`; up to four run at once.
#[step(max_concurrency = 4)]
async fn call_tool(ctx: &Context, request: ToolRequest) -> Result<ToolResult, WorkflowError> {
    let ToolRequest { call, order, total } = request;
    let Tools(tools) = ctx.resource::<Tools>()?;
    let content = match tools.iter().find(|t| t.name == call.name) {
        Some(tool) => match tool.call(call.arguments.clone()).await {
            Ok(serde_json::Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(e) => format!("Error: {e}"),
        },
        None => format!("Error: unknown tool `{}`", call.name),
    };
    let result = ToolResult {
        call_id: call.id,
        name: call.name,
        content,
        order,
        total,
    };
    ctx.write_event_to_stream(result.clone()); // let the caller watch progress
    Ok(result)
}

/// `synthesize`: every `ToolResult` → the model's streamed answer → Stop.
#[step]
async fn synthesize(ctx: &Context, result: ToolResult) -> Result<Option<StopEvent>, WorkflowError> {
    let total = result.total;
    let Some(mut results) = ctx.collect_events(result, total) else {
        return Ok(None); // not all results are in yet
    };
    results.sort_by_key(|r| r.order);
    let mut history: Vec<ChatMessage> = ctx.get("history")?.unwrap_or_default();
    for r in &results {
        history.push(ChatMessage::tool_result(
            r.call_id.clone(),
            r.content.clone(),
        ));
    }
    // Tools stay listed (the history refers to them) but may not be called again.
    let Tools(tools) = ctx.resource::<Tools>()?;
    let request = CompletionRequest::new(history)
        .tools(tools)
        .tool_choice(ToolChoice::None);
    let model = ctx.resource::<CompletionModel>()?;
    let response = stream_to_workflow(ctx, model, request, "synthesize").await?;
    let plan_cost: Option<f64> = ctx.get("plan_cost")?.flatten();
    let cost = match (plan_cost, response.cost) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    };
    Ok(Some(StopEvent::new(json!({
        "answer": response.content,
        "tool_calls": results.len(),
        "cost_usd": cost,
    }))))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (model, mode) = replay::model_or_replay(RECORDING).await;
    println!("llm_workflow: {}", mode.describe());

    // The graph is checked at compile time; the model and the tools are resources the steps
    // read with `ctx.resource::<T>()`.
    let tools = vec![lookup_harbor_label::tool(), lookup_orchard_label::tool()];
    let workflow = workflow!(
        "llm_workflow",
        [plan, call_tool, synthesize],
        timeout = std::time::Duration::from_secs(120)
    )
    .with_resource(model)
    .with_resource(Tools(tools));

    let handler = workflow.run(json!({ "question": USER })).await?;
    let mut events = handler.stream_events();
    let mut source = String::new();
    while let Some(event) = events.next().await {
        if let Some(delta) = event.downcast_ref::<LlmDelta>() {
            if delta.source != source {
                print!("\n[{}] ", delta.source);
                source.clone_from(&delta.source);
            }
            print!("{}", delta.text);
            std::io::stdout().flush()?;
        } else if let Some(result) = event.downcast_ref::<ToolResult>() {
            println!("\n[tool] {} -> {}", result.name, result.content);
            source.clear();
        }
    }
    let stop = handler.result().await?;
    println!("\n\nresult: {}", stop.result);
    if let Some(report) = mode.report() {
        println!("{report}");
    }
    Ok(())
}
