//! What a provider did on its own side during a completion: tools it ran itself (Anthropic's
//! web search, web fetch, code execution, the MCP connector), their results, the citations of
//! the answer, and the content blocks this crate does not know (kept raw, never fatal).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tool the provider ran itself (`server_tool_use`, `mcp_tool_use`): not a call for the
/// client to answer, so it is never among [`CompletionResponse::tool_calls`](crate::CompletionResponse::tool_calls).
///
/// ```
/// use blazen_providers::ServerToolCall;
/// let call = ServerToolCall { id: "srvtoolu_1".into(), name: "web_search".into(),
///     input: serde_json::json!({"query": "rust"}), server_name: None };
/// assert_eq!(call.name, "web_search");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerToolCall {
    /// The provider's id of the call; its result names it in [`ServerToolResult::tool_use_id`].
    pub id: String,
    /// The tool (`web_search`, `web_fetch`, `code_execution`, or an MCP server's tool).
    pub name: String,
    /// The input the model gave the tool.
    #[serde(default)]
    pub input: Value,
    /// The MCP server the tool belongs to (MCP connector calls only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// The result of a [`ServerToolCall`] (a `*_tool_result` block), as the provider sent it.
///
/// ```
/// use blazen_providers::ServerToolResult;
/// let result = ServerToolResult { tool_use_id: "srvtoolu_1".into(),
///     kind: "web_search_tool_result".into(), content: serde_json::json!([]), is_error: false };
/// assert!(!result.is_error);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerToolResult {
    /// The id of the call this answers.
    pub tool_use_id: String,
    /// The block type (`web_search_tool_result`, `web_fetch_tool_result`,
    /// `code_execution_tool_result`, `mcp_tool_result`, ...).
    pub kind: String,
    /// The result itself (search results, a fetched document, stdout and stderr, ...).
    #[serde(default)]
    pub content: Value,
    /// Whether the tool failed (`is_error`, or a content of an `*_error` type).
    #[serde(default)]
    pub is_error: bool,
}

/// A source the answer's text cites (a search result, a fetched page, a document passage).
///
/// ```
/// use blazen_providers::Citation;
/// let c = Citation { url: Some("https://example.com".into()), ..Citation::default() };
/// assert_eq!(c.url.as_deref(), Some("https://example.com"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Citation {
    /// The citation type (`web_search_result_location`, `char_location`, ...).
    pub kind: String,
    /// The cited passage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cited_text: Option<String>,
    /// The cited page, for web sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The title of the cited page or document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The citation as the provider sent it.
    #[serde(default)]
    pub raw: Value,
}

impl Citation {
    /// A citation from the provider's object (unknown fields stay in `raw`).
    pub(crate) fn from_raw(raw: Value) -> Citation {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
        Citation {
            kind: text("type").unwrap_or_default(),
            cited_text: text("cited_text"),
            url: text("url"),
            title: text("title").or_else(|| text("document_title")),
            raw,
        }
    }
}
