//! Anthropic server-side tools (web search, web fetch, code execution, the MCP connector) in
//! streams and full answers: surfaced as server tool calls, their results and citations, never
//! as client tool calls; a block of an unknown type is skipped and kept raw, never fatal.
//!
//! The fixtures are scripted from the shapes of the public Anthropic API reference (see
//! `tests/fixtures/README.md`).

#[allow(dead_code)]
#[path = "support/fixtures.rs"]
mod fixtures;

use blazen_providers::{ChatMessage, CompletionModel, StreamChunk};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> String {
    fixtures::text(&format!("anthropic/{name}"))
}

async fn serve(body: String, content_type: &str) -> (MockServer, CompletionModel) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, content_type))
        .mount(&server)
        .await;
    let model = CompletionModel::anthropic("k").with_base_url(server.uri());
    (server, model)
}

#[tokio::test]
async fn a_stream_with_server_tools_is_understood_not_fatal() {
    let (_server, model) = serve(
        fixture("scripted_server_tools_stream.sse"),
        "text/event-stream",
    )
    .await;
    let chunks: Vec<StreamChunk> = model
        .stream(&[ChatMessage::user("When was Claude Shannon born?")])
        .await
        .unwrap()
        .map(|c| c.expect("no chunk of this stream is an error"))
        .collect()
        .await;
    let r = model
        .stream_with(
            &[ChatMessage::user("When was Claude Shannon born?")],
            |_| {},
        )
        .await
        .expect("the whole stream folds into an answer");

    // Only the client's tool is a tool call.
    assert_eq!(r.tool_calls.len(), 1, "{:?}", r.tool_calls);
    assert_eq!(r.tool_calls[0].name, "get_weather");
    assert_eq!(r.tool_calls[0].arguments, json!({"city": "Petoskey"}));

    let calls: Vec<(&str, &Value, Option<&str>)> = r
        .server_tool_calls
        .iter()
        .map(|c| (c.name.as_str(), &c.input, c.server_name.as_deref()))
        .collect();
    assert_eq!(
        calls,
        vec![
            (
                "web_search",
                &json!({"query": "claude shannon birth date"}),
                None
            ),
            (
                "bash_code_execution",
                &json!({"command": "python -c 'print(2025-1916)'"}),
                None
            ),
            ("echo", &json!({"param1": "value1"}), Some("example-mcp")),
        ]
    );
    let results: Vec<(&str, &str, bool)> = r
        .server_tool_results
        .iter()
        .map(|t| (t.kind.as_str(), t.tool_use_id.as_str(), t.is_error))
        .collect();
    assert_eq!(
        results,
        vec![
            (
                "web_search_tool_result",
                "srvtoolu_014hJH82Qum7Td6UV8gDXThB",
                false
            ),
            ("bash_code_execution_tool_result", "srvtoolu_01Bash", false),
            ("mcp_tool_result", "mcptoolu_01Echo", false),
        ]
    );
    assert_eq!(
        r.server_tool_results[0].content[0]["title"],
        "Claude Shannon - Wikipedia"
    );
    assert_eq!(r.server_tool_results[1].content["stdout"], "109\n");

    assert_eq!(r.citations.len(), 1);
    assert_eq!(
        r.citations[0].url.as_deref(),
        Some("https://en.wikipedia.org/wiki/Claude_Shannon")
    );
    assert_eq!(r.citations[0].kind, "web_search_result_location");
    assert_eq!(
        r.content.as_deref(),
        Some("I'll search for that.Claude Shannon was born on April 30, 1916.")
    );

    // The unknown block is kept as sent, and its deltas did not end the stream.
    assert_eq!(r.skipped_blocks.len(), 1);
    assert_eq!(r.skipped_blocks[0]["type"], "future_widget_use");
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(chunks.last().unwrap().usage.unwrap().completion_tokens, 510);
}

#[tokio::test]
async fn a_full_answer_with_server_tools_is_understood() {
    let (_server, model) = serve(
        fixture("scripted_server_tools_full.json"),
        "application/json",
    )
    .await;
    let r = model
        .complete(&[ChatMessage::user("Summarise the article")])
        .await
        .expect("an answer with server tools is an answer");
    assert!(r.tool_calls.is_empty(), "{:?}", r.tool_calls);
    let names: Vec<&str> = r
        .server_tool_calls
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["web_fetch", "web_search", "code_execution", "echo"]);
    assert_eq!(
        r.server_tool_calls[0].input,
        json!({"url": "https://example.com/article"})
    );
    assert_eq!(
        r.server_tool_calls[3].server_name.as_deref(),
        Some("example-mcp")
    );
    let results: Vec<(&str, bool)> = r
        .server_tool_results
        .iter()
        .map(|t| (t.kind.as_str(), t.is_error))
        .collect();
    assert_eq!(
        results,
        [
            ("web_fetch_tool_result", false),
            // A result whose content is of an `*_error` type, and one with `is_error`.
            ("web_search_tool_result", true),
            ("code_execution_tool_result", false),
            ("mcp_tool_result", true),
        ]
    );
    assert_eq!(
        r.server_tool_results[0].content["content"]["title"],
        "Article Title"
    );
    assert_eq!(r.content.as_deref(), Some("The article says hello."));
    assert_eq!(r.citations.len(), 1);
    assert_eq!(r.citations[0].kind, "char_location");
    assert_eq!(
        r.citations[0].cited_text.as_deref(),
        Some("Full text content")
    );
    assert_eq!(r.citations[0].title.as_deref(), Some("Article Title"));
    let skipped: Vec<&str> = r
        .skipped_blocks
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["redacted_thinking", "container_upload"]);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
}
