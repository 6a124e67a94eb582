//! blazen's MCP client as the official conformance suite's client mode drives it: the suite
//! starts a test server, runs this program with the server's URL as its last argument (and the
//! scenario's name in `MCP_CONFORMANCE_SCENARIO`), and checks what the client did.
//! `tests/mcp_peers.rs` runs it.
//!
//! ```sh
//! npx @modelcontextprotocol/conformance client --scenario tools_call \
//!     --command target/debug/examples/mcp_client_conformance
//! ```
//!
//! The client connects over streamable HTTP, lists the tools and calls each one; it answers a
//! form elicitation by accepting with nothing typed in, so the form's defaults apply.

use blazen::mcp::McpClient;
use blazen::prelude::*;
use blazen::tool::{CallerError, Elicited};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: mcp_client_conformance URL")?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    eprintln!("scenario {scenario:?} against {url}");
    let client = McpClient::builder()
        .elicitation(|message: String, _form: serde_json::Value| async move {
            eprintln!("elicitation: {message}");
            Ok::<_, CallerError>(Elicited::Accepted(json!({})))
        })
        .connect_http(&url)
        .await?;
    for tool in client.tools().await? {
        let arguments = match tool.name.as_str() {
            "add_numbers" => json!({"a": 5, "b": 3}),
            _ => json!({}),
        };
        match tool.call(arguments).await {
            Ok(value) => println!("{}: {value}", tool.name),
            Err(error) => println!("{}: error: {error}", tool.name),
        }
    }
    client.close().await;
    Ok(())
}
