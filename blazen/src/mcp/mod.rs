//! MCP (Model Context Protocol) both ways, on the official `rmcp` SDK (cargo feature `mcp`).
//!
//! - [`McpServer`] serves any set of [`ToolDef`]s (so any `#[tool]` functions) to MCP clients,
//!   over stdio ([`McpServer::serve_stdio`]), over any byte stream ([`McpServer::serve_io`]) or
//!   over streamable HTTP at `/mcp` ([`McpServer::serve_http`]).
//! - [`McpClient`] connects to an MCP server (a child process over stdio, a streamable-HTTP
//!   URL, or any byte stream) and gives its tools as [`ToolDef`]s that agents and steps call
//!   like local ones; [`McpClient::builder`] lets the server's tools sample your model and
//!   elicit from your user. Its HTTP transport is rmcp's, over the reqwest 0.12 blazen's providers
//!   use (rmcp's own HTTP client is built on reqwest 0.13).
//!
//! ```no_run
//! use blazen::mcp::{McpClient, McpServer};
//! use blazen::prelude::*;
//!
//! /// Add two numbers.
//! #[tool]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! # fn main() { let _ = demo; }
//! # async fn demo() -> Result<(), blazen::mcp::McpError> {
//! // Serve: this process becomes an MCP server on its stdin/stdout.
//! McpServer::new(&[add::tool()]).serve_stdio().await?;
//!
//! // Use: the tools of a server started as a child process.
//! let client = McpClient::spawn(tokio::process::Command::new("my-mcp-server")).await?;
//! let tools: Vec<ToolDef> = client.tools().await?;
//! # let _ = tools;
//! # Ok(()) }
//! ```

mod caller;
mod client;
mod client_handler;
mod http_client;
mod sampling;
mod server;

pub use client::{McpClient, McpClientBuilder};
pub use server::McpServer;

#[cfg(doc)]
use crate::ToolDef;

/// Why an MCP connection could not be made or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// Reading, writing, binding or spawning failed.
    #[error("MCP I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The MCP session could not be initialized (the peer is not an MCP peer, or it closed).
    #[error("MCP initialization failed: {0}")]
    Initialize(String),
    /// A request to the peer failed (closed connection, protocol error, timeout).
    #[error("MCP request failed: {0}")]
    Request(String),
}
