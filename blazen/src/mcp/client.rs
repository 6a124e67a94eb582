//! [`McpClient`]: an MCP server's tools as `ToolDef`s.

use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, Tool};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::McpError;
use crate::{ToolDef, ToolError};

/// A connection to an MCP server, whose tools [`McpClient::tools`] gives as [`ToolDef`]s.
///
/// The tools keep the connection open: the server (a child process) stops when the client and
/// every tool from it are dropped, or at [`McpClient::close`].
#[derive(Clone)]
pub struct McpClient {
    service: Arc<RunningService<RoleClient, ()>>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("server", &self.server_name())
            .finish_non_exhaustive()
    }
}

impl McpClient {
    /// Starts `command` as a child process and speaks MCP over its stdin and stdout (its stderr
    /// is inherited), as MCP's stdio transport says.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), blazen::mcp::McpError> {
    /// use blazen::mcp::McpClient;
    /// let mut command = tokio::process::Command::new("npx");
    /// command.args(["-y", "@modelcontextprotocol/server-everything"]);
    /// let client = McpClient::spawn(command).await?;
    /// for tool in client.tools().await? {
    ///     println!("{}: {}", tool.name, tool.description);
    /// }
    /// # Ok(()) }
    /// # fn main() { let _ = demo; }
    /// ```
    pub async fn spawn(command: tokio::process::Command) -> Result<Self, McpError> {
        let transport = TokioChildProcess::new(command)?;
        let service = ().serve(transport).await.map_err(|e| McpError::Initialize(e.to_string()))?;
        Ok(McpClient {
            service: Arc::new(service),
        })
    }

    /// Connects to a server over MCP's streamable HTTP transport (`url` is the MCP endpoint,
    /// e.g. `http://127.0.0.1:8000/mcp`), with a new reqwest client.
    pub async fn connect_http(url: &str) -> Result<Self, McpError> {
        Self::connect_http_with(url, reqwest::Client::new(), None).await
    }

    /// [`McpClient::connect_http`] with your reqwest client (timeouts, proxies, TLS) and an
    /// optional bearer token sent as `Authorization`.
    pub async fn connect_http_with(
        url: &str,
        client: reqwest::Client,
        bearer_token: Option<String>,
    ) -> Result<Self, McpError> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
        if let Some(token) = bearer_token {
            config = config.auth_header(token);
        }
        let transport = StreamableHttpClientTransport::with_client(
            super::http_client::ReqwestClient(client),
            config,
        );
        let service = ().serve(transport).await.map_err(|e| McpError::Initialize(e.to_string()))?;
        Ok(McpClient {
            service: Arc::new(service),
        })
    }

    /// Speaks MCP over a byte stream (newline-delimited JSON-RPC, as MCP's stdio transport):
    /// a socket, a pipe, one half of [`tokio::io::duplex`].
    pub async fn connect_io<R, W>(read: R, write: W) -> Result<Self, McpError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let service =
            ().serve((read, write))
                .await
                .map_err(|e| McpError::Initialize(e.to_string()))?;
        Ok(McpClient {
            service: Arc::new(service),
        })
    }

    /// The server's name and version, as it gave them in `initialize`.
    pub fn server_name(&self) -> Option<(String, String)> {
        let info = self.service.peer_info()?;
        let server = info.server_info.as_ref()?;
        Some((server.name.clone(), server.version.clone()))
    }

    /// The server's tools (every page of `tools/list`) as [`ToolDef`]s.
    ///
    /// Each keeps the server's name, description and input schema as given (a provider gets
    /// them through [`ToolDef::parameters_for`] like local tools). Calling one sends
    /// `tools/call`: a structured result (`structuredContent`) is the call's value; otherwise a
    /// single text block is a string and several blocks are their JSON array. A result with
    /// `isError: true` is a [`ToolError::Failed`] with its text, and so is a failed request
    /// (the model reads it either way).
    pub async fn tools(&self) -> Result<Vec<ToolDef>, McpError> {
        let tools = self
            .service
            .list_all_tools()
            .await
            .map_err(|e| McpError::Request(e.to_string()))?;
        Ok(tools.into_iter().map(|tool| self.tool_def(tool)).collect())
    }

    /// Calls one tool by name, with the raw MCP result.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<CallToolResult, McpError> {
        call(&self.service, name.to_owned(), arguments).await
    }

    /// Ends the session (a child process gets its stdin closed and is stopped). Tools from
    /// this client fail afterwards.
    pub async fn close(&self) {
        // Another clone may still hold the service: cancel through the shared handle.
        self.service.cancellation_token().cancel();
    }

    fn tool_def(&self, tool: Tool) -> ToolDef {
        let service = Arc::clone(&self.service);
        let name = tool.name.to_string();
        let call_name = name.clone();
        ToolDef::new(
            name,
            tool.description.map(|d| d.to_string()).unwrap_or_default(),
            Value::Object((*tool.input_schema).clone()),
            move |args: Value| {
                let service = Arc::clone(&service);
                let name = call_name.clone();
                async move {
                    let result = call(&service, name, args)
                        .await
                        .map_err(|e| ToolError::new(e.to_string()))?;
                    into_value(result)
                }
            },
        )
    }
}

async fn call(
    service: &RunningService<RoleClient, ()>,
    name: String,
    arguments: Value,
) -> Result<CallToolResult, McpError> {
    let mut params = CallToolRequestParams::new(name);
    params.arguments = match arguments {
        Value::Object(map) => Some(map),
        Value::Null => None,
        other => {
            return Err(McpError::Request(format!(
                "tool arguments must be an object, not {other}"
            )))
        }
    };
    service
        .call_tool(params)
        .await
        .map_err(|e| McpError::Request(e.to_string()))
}

/// An MCP tool result as a tool call's value (or its error).
fn into_value(result: CallToolResult) -> Result<Value, ToolError> {
    if result.is_error == Some(true) {
        let text = texts(&result.content).join("\n");
        return Err(ToolError::new(if text.is_empty() {
            "the tool reported an error".to_owned()
        } else {
            text
        }));
    }
    if let Some(structured) = result.structured_content {
        return Ok(structured);
    }
    match result.content.as_slice() {
        [] => Ok(Value::Null),
        [ContentBlock::Text(text)] => Ok(Value::String(text.text.clone())),
        blocks => serde_json::to_value(blocks).map_err(|e| ToolError::Output {
            message: e.to_string(),
        }),
    }
}

fn texts(content: &[ContentBlock]) -> Vec<&str> {
    content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
        .collect()
}
