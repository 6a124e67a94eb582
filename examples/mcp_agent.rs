//! An agent whose tools come from an MCP server: `run_agent` calls them like local ones.
//!
//! ```sh
//! cargo run --example mcp_agent        # no key: replays a recorded session
//! ```
//!
//! The four `#[tool]`s of the `agent_tools` scenario are served by an MCP server
//! (`McpServer`, here in this process over an in-memory pipe; `McpClient::spawn` or
//! `connect_http` reach one in another process the same way). The client lists the server's
//! tools as `ToolDef`s, schemas kept as the server gave them, and `run_agent` sends them to the
//! model; each call goes back over MCP. Without a key the model's answers come from the
//! recording of this conversation with gpt-4o through OpenRouter, and the replay checks that
//! every request matches it: the tools served over MCP look to the model exactly like the
//! local ones.

#[path = "support/replay.rs"]
mod replay;
#[path = "support/scenario.rs"]
mod scenario;

use blazen::mcp::{McpClient, McpServer};
use blazen_providers::{run_agent, AgentOptions, ChatMessage};

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
    println!("mcp_agent: {}", mode.describe());

    // The server side: any set of ToolDefs, here over one half of a pipe.
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_end);
    let server = McpServer::new(&scenario::tools()).with_name("scenario", "1.0.0");
    let serving = tokio::spawn(server.serve_io(server_read, server_write));

    // The client side: the server's tools as ToolDefs.
    let (client_read, client_write) = tokio::io::split(client_end);
    let client = McpClient::connect_io(client_read, client_write).await?;
    let tools = client.tools().await?;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    println!("tools from the MCP server: {names:?}");

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
    println!("\ntool calls over MCP:");
    for run in &result.tool_runs {
        println!(
            "  {}({}) -> {}",
            run.call.name,
            run.call.arguments,
            run.content()
        );
    }
    println!("\nanswer: {}", result.answer().unwrap_or("(no answer)"));
    if let Some(report) = mode.report() {
        println!("{report}");
    }
    client.close().await;
    serving.abort();
    Ok(())
}
