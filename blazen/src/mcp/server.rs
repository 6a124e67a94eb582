//! [`McpServer`]: `ToolDef`s served as MCP tools.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use super::caller::McpCaller;
use super::McpError;
use crate::tool::{LogLevel, ToolCaller, ToolContent};
use crate::ToolDef;

/// A set of [`ToolDef`]s served as MCP tools.
///
/// `tools/list` gives each tool's name, description and parameter schema as `#[tool]` made them
/// (standard JSON Schema); `tools/call` runs [`ToolDef::call`]. A result that is a JSON object
/// is sent as `structuredContent` (and as its JSON text in `content`, for older clients); any
/// other result as text (a string as itself, other values as JSON). A failed call (bad
/// arguments, a tool error, a panic) is a tool result with `isError: true` and the error's text,
/// so the model can read it; only an unknown tool name is a protocol error. A call the client
/// cancels stops running. A [`ToolContent`] result is sent as its blocks (images, audio,
/// resources). While a tool runs, its [`caller()`](crate::tool::caller) is the session:
/// progress goes out when the client sent a progress token, log messages at or above the
/// level the client set (`logging/setLevel`, `info` until then), and sampling and elicitation
/// requests go to the client when it declared those capabilities.
///
/// ```
/// use blazen::mcp::McpServer;
/// use blazen::prelude::*;
///
/// /// Greet someone.
/// #[tool]
/// fn greet(name: String) -> String {
///     format!("Hello, {name}!")
/// }
///
/// # fn main() {
/// let server = McpServer::new(&[greet::tool()]).with_name("greeter", "1.0.0");
/// assert!(format!("{server:?}").contains("greet"));
/// # }
/// ```
#[derive(Clone)]
pub struct McpServer {
    tools: Arc<Vec<ToolDef>>,
    by_name: Arc<HashMap<String, usize>>,
    name: String,
    version: String,
    instructions: Option<String>,
    /// The least severe log level sent to this session's client (`logging/setLevel`).
    log_level: Arc<AtomicU8>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.name)
            .field("version", &self.version)
            .field(
                "tools",
                &self
                    .tools
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// A server for these tools, named `blazen` with blazen's version (see
    /// [`McpServer::with_name`]). When two tools share a name, the first one is served.
    pub fn new(tools: &[ToolDef]) -> Self {
        let mut by_name = HashMap::new();
        let mut kept = Vec::new();
        for tool in tools {
            if !by_name.contains_key(&tool.name) {
                by_name.insert(tool.name.clone(), kept.len());
                kept.push(tool.clone());
            }
        }
        McpServer {
            tools: Arc::new(kept),
            by_name: Arc::new(by_name),
            name: "blazen".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            instructions: None,
            log_level: Arc::new(AtomicU8::new(LogLevel::Info as u8)),
        }
    }

    /// The same tools for a new session, with its own log level.
    fn for_session(&self) -> Self {
        McpServer {
            log_level: Arc::new(AtomicU8::new(LogLevel::Info as u8)),
            ..self.clone()
        }
    }

    /// The name and version the server gives clients in `initialize`.
    pub fn with_name(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.name = name.into();
        self.version = version.into();
        self
    }

    /// Instructions the server gives clients in `initialize` (how to use the tools).
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Serves one client over this process's stdin and stdout until the client disconnects.
    /// Write logs to stderr: stdout carries the protocol.
    pub async fn serve_stdio(self) -> Result<(), McpError> {
        self.serve_io(tokio::io::stdin(), tokio::io::stdout()).await
    }

    /// Serves one client over a byte stream (newline-delimited JSON-RPC, as MCP's stdio
    /// transport) until the client disconnects.
    pub async fn serve_io<R, W>(self, read: R, write: W) -> Result<(), McpError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let running = self
            .for_session()
            .serve((read, write))
            .await
            .map_err(|e| McpError::Initialize(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| McpError::Request(e.to_string()))?;
        Ok(())
    }

    /// Serves clients over MCP's streamable HTTP transport at the path `/mcp` of `listener`
    /// (other paths answer 404), with sessions, until the task is dropped.
    ///
    /// Requests whose `Host` is not `localhost`, `127.0.0.1` or `::1` are refused (rmcp's
    /// protection against DNS rebinding): use [`McpServer::http_service`] with your own
    /// [`StreamableHttpServerConfig`] to serve other host names.
    pub async fn serve_http(self, listener: TcpListener) -> Result<(), McpError> {
        let service = self.http_service(StreamableHttpServerConfig::default());
        loop {
            let (stream, _) = listener.accept().await?;
            let service = service.clone();
            tokio::spawn(async move {
                let route = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let service = service.clone();
                    async move {
                        if request.uri().path() == "/mcp" {
                            let response = service.handle(request).await;
                            Ok::<_, Infallible>(response)
                        } else {
                            let mut response =
                                Response::new(Full::new(Bytes::from_static(b"not found")).boxed());
                            *response.status_mut() = StatusCode::NOT_FOUND;
                            Ok(response)
                        }
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), route);
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "MCP HTTP connection ended with an error");
                }
            });
        }
    }

    /// rmcp's streamable-HTTP tower service for this server (one session per client), to mount
    /// in your own router (axum, hyper) with your own configuration.
    pub fn http_service(
        self,
        config: StreamableHttpServerConfig,
    ) -> StreamableHttpService<McpServer, LocalSessionManager> {
        StreamableHttpService::new(
            move || Ok(self.for_session()),
            Arc::new(LocalSessionManager::default()),
            config,
        )
    }

    fn tool_list(&self) -> Vec<Tool> {
        self.tools.iter().map(describe).collect()
    }

    async fn call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some(&index) = self.by_name.get(request.name.as_ref()) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool: {}", request.name),
                None,
            ));
        };
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let caller = ToolCaller::new(Arc::new(McpCaller::new(
            context.peer.clone(),
            context.meta.get_progress_token(),
            Arc::clone(&self.log_level),
        )));
        let call = caller.scope(self.tools[index].call(args));
        let result = tokio::select! {
            result = call => result,
            () = context.ct.cancelled() => {
                return Ok(CallToolResult::error(vec![ContentBlock::text("cancelled")]));
            }
        };
        Ok(match result {
            Ok(value) => tool_result(value),
            Err(error) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
        })
    }
}

/// The MCP description of a tool: name, description and the parameter schema as given.
fn describe(tool: &ToolDef) -> Tool {
    let schema = match &tool.parameters {
        Value::Object(map) => map.clone(),
        // MCP requires an object schema; a tool without parameters takes `{}`.
        _ => {
            let mut map = serde_json::Map::new();
            map.insert("type".into(), Value::String("object".into()));
            map
        }
    };
    Tool::new(
        tool.name.clone(),
        tool.description.clone(),
        Arc::new(schema),
    )
}

/// A successful call's value as an MCP tool result.
fn tool_result(value: Value) -> CallToolResult {
    if let Some(content) = ToolContent::from_value(&value) {
        // The blocks have MCP's JSON shape: rmcp reads them back as its own.
        if let Ok(blocks) = serde_json::to_value(&content.content)
            .and_then(serde_json::from_value::<Vec<ContentBlock>>)
        {
            let mut result = CallToolResult::success(blocks);
            result.structured_content = content.structured;
            return result;
        }
    }
    match value {
        Value::Object(_) => {
            let text = value.to_string();
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            result.structured_content = Some(value);
            result
        }
        Value::String(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
        other => CallToolResult::success(vec![ContentBlock::text(other.to_string())]),
    }
}

/// The MCP side: what `rmcp` calls (use it with rmcp directly if you need another transport).
impl ServerHandler for McpServer {
    // Logging (deprecated by SEP-2577, see `set_level`) is offered for the 2025 protocols.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .build();
        let mut config = ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(self.name.clone(), self.version.clone()));
        if let Some(instructions) = &self.instructions {
            config = config.with_instructions(instructions.clone());
        }
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tool_list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.call(request, context).await.map(Into::into)
    }

    // Logging is deprecated by the 2026-07-28 protocol (SEP-2577), still in the 2025 ones the
    // clients of today speak.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let level = super::caller::from_mcp_level(request.level);
        self.log_level.store(level as u8, Ordering::Relaxed);
        Ok(())
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let index = *self.by_name.get(name)?;
        Some(describe(&self.tools[index]))
    }
}
