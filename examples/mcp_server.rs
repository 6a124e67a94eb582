//! `#[tool]` functions served to any MCP client (Claude Desktop, IDEs, other agents).
//!
//! ```sh
//! cargo run --example mcp_server                          # MCP over stdin/stdout
//! cargo run --example mcp_server -- --http 127.0.0.1:8000 # streamable HTTP at /mcp
//! ```
//!
//! `forecast` returns an object, sent as `structuredContent`; `divide` fails on a zero divisor,
//! which the client receives as a tool result with `isError: true`. `examples/mcp_conformance.rs`
//! shows the rest: images, audio, resources, progress, logging, sampling and elicitation.

use blazen::mcp::McpServer;
use blazen::prelude::*;

/// A day's weather forecast.
#[derive(Debug, Serialize, JsonSchema)]
struct Forecast {
    /// The city asked about.
    city: String,
    /// Degrees Celsius.
    temperature: f64,
    /// Clear, cloudy, rain…
    conditions: String,
}

/// Give tomorrow's weather forecast for a city.
#[tool]
fn forecast(
    /// The city, e.g. "Paris".
    city: String,
) -> Forecast {
    let temperature = 10.0 + (city.len() % 12) as f64;
    Forecast {
        city,
        temperature,
        conditions: "clear".to_owned(),
    }
}

/// Divide a by b.
#[tool]
fn divide(a: f64, b: f64) -> Result<f64, String> {
    if b == 0.0 {
        Err("cannot divide by zero".to_owned())
    } else {
        Ok(a / b)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = McpServer::new(&[forecast::tool(), divide::tool()])
        .with_name("blazen-example", env!("CARGO_PKG_VERSION"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => server.serve_stdio().await?,
        [flag, addr] if flag == "--http" => {
            let listener = tokio::net::TcpListener::bind(addr.as_str()).await?;
            // stdout is free here (HTTP carries the protocol): say where the server listens.
            println!("MCP server at http://{}/mcp", listener.local_addr()?);
            server.serve_http(listener).await?;
        }
        _ => return Err("usage: mcp_server [--http ADDR]".into()),
    }
    Ok(())
}
