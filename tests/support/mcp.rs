//! MCP: our server and our client joined in process.

use blazen::mcp::{McpClient, McpServer};
use blazen::ToolDef;

/// Our server of `tools` and our client, joined by an in-memory byte stream.
pub(crate) async fn in_process(tools: &[ToolDef]) -> McpClient {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let server = McpServer::new(tools);
    tokio::spawn(async move {
        let (read, write) = tokio::io::split(server_end);
        let _ = server.serve_io(read, write).await;
    });
    let (read, write) = tokio::io::split(client_end);
    McpClient::connect_io(read, write).await.expect("connect")
}
