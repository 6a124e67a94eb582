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

use blazen_providers::{run_agent, AgentOptions, ChatMessage, Role};

#[path = "support/scenario.rs"]
mod scenario;

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
    let (model, mode) = replay::model_or_replay(scenario::RECORDING).await;
    println!("agent_tools: {}", mode.describe());

    let tools = scenario::tools();
    let options = AgentOptions::new()
        .system_prompt(scenario::SYSTEM)
        .max_iterations(8);
    let result = run_agent(
        &model,
        vec![ChatMessage::user(scenario::USER)],
        &tools,
        options,
    )
    .await?;

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
