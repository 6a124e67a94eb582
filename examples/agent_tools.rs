//! A tool-calling agent: typed `#[tool]` functions and `run_agent`.
//!
//! ```sh
//! cargo run --example agent_tools                        # no key: replays a recorded session
//! OPENAI_API_KEY=sk-... cargo run --example agent_tools  # the real OpenAI API
//! OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 \
//!     cargo run --example agent_tools                    # Ollama, llama.cpp, vLLM, ...
//! ```
//!
//! The model is asked to run a four-step "production-readiness" scenario, one tool at a time.
//! Each tool is a plain Rust function; `#[tool]` derives its JSON Schema from the signature
//! (nested structs included) and its description from the doc comment, and decodes the model's
//! arguments into the typed parameters. `run_agent` loops — model, tool calls, results back to
//! the model — until the model answers; each round of tool calls is one iteration, and at most
//! `max_iterations` rounds run before a last call without tools must answer. Without a key,
//! the answers come from a recording of this very conversation with gpt-4o through OpenRouter,
//! served by a local HTTP server.

#[path = "support/replay.rs"]
mod replay;

use blazen::prelude::*;
use blazen_providers::{run_agent, AgentOptions, ChatMessage, Role};

/// Return EMPTY-OK. This tool takes no arguments.
#[tool]
fn ping_empty() -> String {
    "EMPTY-OK".to_owned()
}

/// Flags of a deployment manifest.
#[derive(Debug, Deserialize, JsonSchema)]
struct Flags {
    /// Whether the deployment is critical.
    critical: bool,
    /// How many times to retry.
    retries: u32,
}

/// One step of a deployment.
#[derive(Debug, Deserialize, JsonSchema)]
struct DeployStep {
    /// The step's name.
    name: String,
    /// Its relative weight.
    weight: u32,
}

/// Validate a nested deployment manifest.
#[tool]
fn inspect_manifest(
    /// The project name.
    project: String,
    flags: Flags,
    steps: Vec<DeployStep>,
    /// A free-form note.
    note: String,
) -> Result<String, String> {
    if steps.is_empty() || steps.iter().any(|s| s.name.is_empty() || s.weight == 0) {
        return Err("every manifest needs steps, each with a name and a positive weight".into());
    }
    if flags.critical && flags.retries == 0 {
        return Err("a critical deployment needs at least one retry".into());
    }
    if note.trim().is_empty() {
        return Err("the note must not be empty".into());
    }
    Ok(format!(
        "MANIFEST-OK project={project} steps={} retries={}",
        steps.len(),
        flags.retries
    ))
}

/// Join label strings with the requested separator.
#[tool]
fn join_labels(labels: Vec<String>, separator: String) -> String {
    format!("LABELS-OK {}", labels.join(&separator))
}

/// Echo a string containing escaping-sensitive characters.
#[tool]
async fn escape_echo(text: String) -> String {
    format!("ESCAPE-OK {text}")
}

// The conversation of the recording, word for word, so that the replay matches it.
const SYSTEM: &str = "You are a deterministic OpenRouter tool orchestration test harness. Use the \
tools instead of inventing values. For the production-readiness scenario, call exactly one tool at \
a time in this order: 1. ping_empty with an empty JSON object. 2. inspect_manifest with project \
rig-openrouter, flags critical=true and retries=2, steps plan weight=1 and verify weight=2, and the \
exact note from the user. 3. join_labels with labels [north, beta gamma, quote:\"delta\", \
slash\\path] and separator |. 4. escape_echo with the exact escaped text from the user. After all \
tool results are available, answer in one short sentence that includes EMPTY-OK, MANIFEST-OK, \
LABELS-OK, and ESCAPE-OK.";
const USER: &str = "Run the production-readiness scenario. The manifest note is `line one; line \
two says \"hello\" and path C:\\rig\\openrouter`. The escaped text is `Line 1\nLine \"2\" with \
backslash \\ and unicode snowman ☃`.";

const RECORDING: &str = include_str!(
    "../tests/fixtures/openrouter/agent_tool_sessions__sequential_complex_tool_calls_nonstreaming.json"
);

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
    println!("agent_tools: {}", mode.describe());

    let tools = [
        ping_empty::tool(),
        inspect_manifest::tool(),
        join_labels::tool(),
        escape_echo::tool(),
    ];
    let options = AgentOptions::new().system_prompt(SYSTEM).max_iterations(8);
    let result = run_agent(&model, vec![ChatMessage::user(USER)], &tools, options).await?;

    println!("\ntool calls:");
    for run in &result.tool_runs {
        println!(
            "  round {}: {}({}) -> {}",
            run.iteration,
            run.call.name,
            run.call.arguments,
            run.content()
        );
    }
    println!("\nanswer: {}", result.answer().unwrap_or("(no answer)"));
    let cost = result
        .total_cost
        .map_or_else(|| "unknown".to_owned(), |c| format!("${c:.6}"));
    // Iterations are tool-call rounds; the answer took one more model call.
    let model_calls = result
        .messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .count();
    println!(
        "{} tool-call rounds ({model_calls} model calls), stopped: {:?}, {} tokens, cost {cost}",
        result.iterations, result.stop_reason, result.total_usage.total_tokens
    );
    if let Some(report) = mode.report() {
        println!("{report}");
    }
    Ok(())
}
