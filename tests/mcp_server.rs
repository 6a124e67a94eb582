//! `examples/mcp_server.rs` on the wire: raw MCP JSON-RPC over stdio and over streamable HTTP,
//! checked message by message (tool listing as `#[tool]` makes it, `structuredContent` for an
//! object, `isError: true` for a failing tool, a protocol error only for an unknown tool).
//!
//! `cargo test` builds the examples before it runs the tests; these tests run the built binary.

#[path = "support/examples.rs"]
mod examples;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use examples::{example, listening};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw-test","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn call(id: u64, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
    .to_string()
}

/// The checks shared by both transports, on the answers to: initialize, tools/list, forecast,
/// divide by zero, divide, unknown tool.
fn check_answers(answers: &[Value]) {
    let init = &answers[0]["result"];
    assert_eq!(init["serverInfo"]["name"], "blazen-example", "{init}");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");

    let tools = answers[1]["result"]["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["forecast", "divide"]);
    let forecast = &tools[0];
    assert_eq!(
        forecast["description"],
        "Give tomorrow's weather forecast for a city."
    );
    let schema = &forecast["inputSchema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["city"]));
    assert_eq!(schema["properties"]["city"]["type"], "string");
    assert_eq!(
        schema["properties"]["city"]["description"],
        "The city, e.g. \"Paris\"."
    );

    let structured = &answers[2]["result"];
    assert_eq!(
        structured["structuredContent"],
        json!({"city": "Paris", "temperature": 15.0, "conditions": "clear"}),
        "{structured}"
    );
    assert_ne!(structured["isError"], json!(true));
    let text: Value =
        serde_json::from_str(structured["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, structured["structuredContent"]);

    let failed = &answers[3];
    assert!(
        failed.get("error").is_none(),
        "a tool error is a result: {failed}"
    );
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    assert_eq!(
        failed["result"]["content"][0]["text"],
        "cannot divide by zero"
    );

    let plain = &answers[4]["result"];
    assert_eq!(plain["content"][0]["text"], "2.5", "{plain}");
    assert!(plain.get("structuredContent").is_none(), "{plain}");

    let unknown = &answers[5];
    assert!(unknown["error"]["code"].is_i64(), "unknown tool: {unknown}");
    // JSON-RPC's "invalid params", naming the tool.
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert_eq!(
        unknown["error"]["message"], "unknown tool: no_such_tool",
        "{unknown}"
    );
}

fn requests() -> Vec<String> {
    vec![
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.to_owned(),
        call(3, "forecast", json!({"city": "Paris"})),
        call(4, "divide", json!({"a": 1, "b": 0})),
        call(5, "divide", json!({"a": 5, "b": 2})),
        call(6, "no_such_tool", json!({})),
    ]
}

#[tokio::test]
async fn stdio_server_answers_raw_json_rpc() {
    let mut child = Command::new(example("mcp_server"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the example");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answers = Vec::new();
    for message in std::iter::once(INITIALIZE.to_owned()).chain(requests()) {
        stdin.write_all(message.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        let line = next_line(&mut lines).await;
        answers.push(serde_json::from_str::<Value>(&line).unwrap());
        if answers.len() == 1 {
            stdin.write_all(INITIALIZED.as_bytes()).await.unwrap();
            stdin.write_all(b"\n").await.unwrap();
        }
    }
    check_answers(&answers);
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status}");
}

async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("an answer in time")
        .unwrap()
        .expect("the server answers")
}

/// The JSON-RPC message of a POST's answer: a JSON body, or the first `data:` of an SSE body
/// that holds a message.
async fn post(
    client: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &str,
) -> (reqwest::header::HeaderMap, Option<Value>) {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_owned());
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let message = if text.trim_start().starts_with('{') {
        Some(serde_json::from_str(&text).unwrap())
    } else {
        text.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim)
            .find(|data| data.starts_with('{'))
            .map(|data| serde_json::from_str(data).unwrap())
    };
    (headers, message)
}

#[tokio::test]
async fn streamable_http_server_answers_raw_json_rpc() {
    let (_child, url) =
        listening(Command::new(example("mcp_server")).args(["--http", "127.0.0.1:0"])).await;
    let client = reqwest::Client::new();
    let (headers, init) = post(&client, &url, None, INITIALIZE).await;
    let session = headers
        .get("mcp-session-id")
        .expect("a session id")
        .to_str()
        .unwrap()
        .to_owned();
    let mut answers = vec![init.expect("initialize answer")];
    post(&client, &url, Some(&session), INITIALIZED).await;
    for request in requests() {
        let (_, answer) = post(&client, &url, Some(&session), &request).await;
        answers.push(answer.expect("an answer"));
    }
    check_answers(&answers);

    // Another path is not the MCP endpoint.
    let other = url.replace("/mcp", "/other");
    let status = client.post(other).body("{}").send().await.unwrap().status();
    assert_eq!(status, 404);
}
