//! [`McpClient`]: an MCP server's tools as `ToolDef`s.

use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, CancelledNotificationParam,
    ClientRequest, ContentBlock, RequestId, ServerResult, Tool,
};
use rmcp::service::{PeerRequestOptions, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{Peer, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::client_handler::ClientSide;
use super::McpError;
use crate::tool::{caller, ElicitationHandler, SamplingHandler};
use crate::{ToolDef, ToolError};

type Service = RunningService<RoleClient, ClientSide>;

/// How long [`McpClient::connect_http`] waits for the session's standalone stream to open.
const STANDALONE_STREAM_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// An [`McpClient`] before it connects: the handlers it offers servers (see
/// [`McpClient::builder`]). Without them the client declares neither capability, and servers
/// do not ask.
#[derive(Default)]
pub struct McpClientBuilder {
    sampling: Option<Arc<dyn SamplingHandler>>,
    elicitation: Option<Arc<dyn ElicitationHandler>>,
}

impl std::fmt::Debug for McpClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClientBuilder")
            .field("sampling", &self.sampling.is_some())
            .field("elicitation", &self.elicitation.is_some())
            .finish()
    }
}

impl McpClientBuilder {
    /// Answers the servers' sampling requests (`sampling/createMessage`) with `handler`: a
    /// model. Declares the `sampling` capability.
    pub fn sampling(mut self, handler: impl SamplingHandler) -> Self {
        self.sampling = Some(Arc::new(handler));
        self
    }

    /// Answers the servers' form elicitations (`elicitation/create`) with `handler`: a person,
    /// through your interface. Declares the `elicitation` capability (forms; URL elicitations
    /// are declined).
    pub fn elicitation(mut self, handler: impl ElicitationHandler) -> Self {
        self.elicitation = Some(Arc::new(handler));
        self
    }

    /// [`McpClient::spawn`] with these handlers.
    pub async fn spawn(self, command: tokio::process::Command) -> Result<McpClient, McpError> {
        let transport = TokioChildProcess::new(command)?;
        self.start(transport).await
    }

    /// [`McpClient::connect_http`] with these handlers.
    pub async fn connect_http(self, url: &str) -> Result<McpClient, McpError> {
        self.connect_http_with(url, reqwest::Client::new(), None)
            .await
    }

    /// [`McpClient::connect_http_with`] with these handlers.
    pub async fn connect_http_with(
        self,
        url: &str,
        client: reqwest::Client,
        bearer_token: Option<String>,
    ) -> Result<McpClient, McpError> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
        if let Some(token) = bearer_token {
            config = config.auth_header(token);
        }
        let (client, mut stream_tried) = super::http_client::ReqwestClient::new(client);
        let transport = StreamableHttpClientTransport::with_client(client, config);
        let mcp = self.start(transport).await?;
        // The session's standalone stream opens in a task of rmcp's own: a server request sent
        // on it right after our first call would find no stream yet (and be lost) if we did not
        // wait for it (at most `STANDALONE_STREAM_WAIT`, for a server that neither opens nor
        // refuses it).
        let _ = tokio::time::timeout(STANDALONE_STREAM_WAIT, stream_tried.wait_for(|t| *t)).await;
        Ok(mcp)
    }

    /// [`McpClient::connect_io`] with these handlers.
    pub async fn connect_io<R, W>(self, read: R, write: W) -> Result<McpClient, McpError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        self.start((read, write)).await
    }

    async fn start<T, E, A>(self, transport: T) -> Result<McpClient, McpError>
    where
        T: rmcp::transport::IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let side = ClientSide {
            sampling: self.sampling,
            elicitation: self.elicitation,
            ..ClientSide::default()
        };
        let service = side
            .serve(transport)
            .await
            .map_err(|e| McpError::Initialize(e.to_string()))?;
        Ok(McpClient {
            service: Arc::new(service),
        })
    }
}

/// A connection to an MCP server, whose tools [`McpClient::tools`] gives as [`ToolDef`]s.
///
/// The tools keep the connection open: the server (a child process) stops when the client and
/// every tool from it are dropped, or at [`McpClient::close`].
#[derive(Clone)]
pub struct McpClient {
    service: Arc<Service>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("server", &self.server_name())
            .finish_non_exhaustive()
    }
}

impl McpClient {
    /// A client to configure before connecting: what it answers when a server's tools ask
    /// for sampling or elicitation.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), blazen::mcp::McpError> {
    /// use blazen::mcp::McpClient;
    /// use blazen::tool::{CallerError, Elicited, Sample, SampleRequest};
    ///
    /// let client = McpClient::builder()
    ///     // The server's tools may ask a model (blazen-providers' CompletionModel is one).
    ///     .sampling(|request: SampleRequest| async move {
    ///         Ok::<_, CallerError>(Sample::new(format!("you said {}", request.prompt()), "echo"))
    ///     })
    ///     // ...and the user, through your interface.
    ///     .elicitation(|_message: String, _form: serde_json::Value| async move {
    ///         Ok::<_, CallerError>(Elicited::Declined)
    ///     })
    ///     .spawn(tokio::process::Command::new("my-mcp-server"))
    ///     .await?;
    /// # let _ = client; Ok(()) }
    /// # fn main() { let _ = demo; }
    /// ```
    pub fn builder() -> McpClientBuilder {
        McpClientBuilder::default()
    }

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
        Self::builder().spawn(command).await
    }

    /// Connects to a server over MCP's streamable HTTP transport (`url` is the MCP endpoint,
    /// e.g. `http://127.0.0.1:8000/mcp`), with a new reqwest client.
    pub async fn connect_http(url: &str) -> Result<Self, McpError> {
        Self::builder().connect_http(url).await
    }

    /// [`McpClient::connect_http`] with your reqwest client (timeouts, proxies, TLS) and an
    /// optional bearer token sent as `Authorization`.
    pub async fn connect_http_with(
        url: &str,
        client: reqwest::Client,
        bearer_token: Option<String>,
    ) -> Result<Self, McpError> {
        Self::builder()
            .connect_http_with(url, client, bearer_token)
            .await
    }

    /// Speaks MCP over a byte stream (newline-delimited JSON-RPC, as MCP's stdio transport):
    /// a socket, a pipe, one half of [`tokio::io::duplex`].
    pub async fn connect_io<R, W>(read: R, write: W) -> Result<Self, McpError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        Self::builder().connect_io(read, write).await
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
    /// `tools/call`: a structured result (`structuredContent`) alone is the call's value, a
    /// single text block is a string, and any other result (images, audio, resources, several
    /// blocks) is a [`ToolContent`](crate::tool::ToolContent). Progress the server reports goes
    /// to the calling tool's [`caller`](crate::tool::caller). A result with
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
    service: &Service,
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
    // rmcp gives every request a progress token: follow this one's, and pass its progress on
    // to whoever called this tool (an MCP client of ours, a `tracing` event otherwise).
    let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
    let handle = service
        .send_request_with_option(request, PeerRequestOptions::no_options())
        .await
        .map_err(|e| McpError::Request(e.to_string()))?;
    let mut abandoned = Abandoned {
        peer: service.peer().clone(),
        id: Some(handle.id.clone()),
    };
    let mut progress = service
        .service()
        .progress
        .subscribe(handle.progress_token.clone())
        .await;
    let caller = caller();
    let response = handle.await_response();
    tokio::pin!(response);
    let result = loop {
        tokio::select! {
            result = &mut response => break result,
            Some(update) = progress.next() => {
                caller.progress(update.progress, update.total, update.message).await;
            }
        }
    };
    abandoned.id = None;
    // rmcp handles each notification in a task of its own (spawned before the result is
    // delivered), so reports sent before the result may still be on their way to the
    // subscription: let those tasks run, then pass them on. On a current-thread runtime the
    // yields run them all; on a multi-threaded one a report whose task another worker has not
    // finished yet is dropped (progress is advisory; the result is never lost).
    for _ in 0..8 {
        tokio::task::yield_now().await;
        while let Some(Some(update)) = progress.next().now_or_never() {
            caller
                .progress(update.progress, update.total, update.message)
                .await;
        }
    }
    match result.map_err(|e| McpError::Request(e.to_string()))? {
        ServerResult::CallToolResult(result) => Ok(result),
        // `{}`: a result without content.
        ServerResult::EmptyResult(_) => Ok(CallToolResult::success(Vec::new())),
        _ => Err(McpError::Request(
            "the server answered tools/call with another kind of result".to_owned(),
        )),
    }
}

/// Sends `notifications/cancelled` for a `tools/call` whose caller went away before its
/// result (a timeout, a lost `select!`), so the server stops working on it. rmcp's own
/// `call_tool` does the same; this client sends the request itself to follow its progress.
struct Abandoned {
    peer: Peer<RoleClient>,
    /// The request, until its result arrived.
    id: Option<RequestId>,
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else {
            return;
        };
        let peer = self.peer.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let reason = "request abandoned by the caller".to_owned();
                let params = CancelledNotificationParam::new(Some(id), Some(reason));
                // Best effort: a closed session has nothing left to cancel.
                let _ = peer.notify_cancelled(params).await;
            });
        }
    }
}

/// An MCP tool result as a tool call's value (or its error).
fn into_value(mut result: CallToolResult) -> Result<Value, ToolError> {
    if result.is_error == Some(true) {
        let text = texts(&result.content).join("\n");
        return Err(ToolError::new(if text.is_empty() {
            "the tool reported an error".to_owned()
        } else {
            text
        }));
    }
    let only_text = result.content.iter().all(|block| block.as_text().is_some());
    if let Some(structured) = result.structured_content.take() {
        if only_text {
            return Ok(structured);
        }
        result.structured_content = Some(structured);
    }
    match result.content.as_slice() {
        [] => Ok(Value::Null),
        [ContentBlock::Text(text)] => Ok(Value::String(text.text.clone())),
        _ => {
            let blocks = serde_json::to_value(&result.content).map_err(|e| ToolError::Output {
                message: e.to_string(),
            })?;
            let mut object = serde_json::Map::new();
            object.insert("content".to_owned(), blocks);
            if let Some(structured) = result.structured_content {
                object.insert("structuredContent".to_owned(), structured);
            }
            // Blocks blazen does not know (a future content type) stay as MCP gave them.
            Ok(Value::Object(object))
        }
    }
}

fn texts(content: &[ContentBlock]) -> Vec<&str> {
    content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
        .collect()
}
