//! MCP: our server and our client joined in process.

use blazen::mcp::{McpClient, McpClientBuilder, McpServer};
use blazen::ToolDef;

/// Our server of `tools` and our client, joined by an in-memory byte stream.
pub(crate) async fn in_process(tools: &[ToolDef]) -> McpClient {
    in_process_with(McpClient::builder(), tools).await
}

/// [`in_process`] with a client configured by `builder` (its sampling and elicitation).
pub(crate) async fn in_process_with(builder: McpClientBuilder, tools: &[ToolDef]) -> McpClient {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let server = McpServer::new(tools);
    tokio::spawn(async move {
        let (read, write) = tokio::io::split(server_end);
        let _ = server.serve_io(read, write).await;
    });
    let (read, write) = tokio::io::split(client_end);
    builder.connect_io(read, write).await.expect("connect")
}
