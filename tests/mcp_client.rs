//! `McpClient`: an MCP server's tools as `ToolDef`s, round trips with our own server (in
//! process over a byte stream, and `examples/mcp_server.rs` as a child process over stdio), and
//! `run_agent` calling MCP tools like local ones.

#[allow(dead_code)]
mod support;

use std::time::Duration;

use blazen::mcp::McpClient;
use blazen::prelude::*;
use blazen_providers::{run_agent, AgentOptions, ChatMessage, CompletionModel};
use support::examples::{example, listening};
use support::mcp::in_process;
use support::scripted_server::{text, tool_calls, ScriptedServer};

/// A city's coordinates.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Place {
    /// Latitude in degrees.
    lat: f64,
    /// Longitude in degrees.
    lon: f64,
}

/// Find a city's coordinates.
#[tool]
fn locate(
    /// The city.
    city: String,
    /// Also give the country.
    with_country: Option<bool>,
) -> Result<Place, String> {
    let _ = with_country;
    match city.as_str() {
        "Paris" => Ok(Place {
            lat: 48.86,
            lon: 2.35,
        }),
        other => Err(format!("unknown city: {other}")),
    }
}

/// Count the words of a text.
#[tool]
async fn count_words(text: String) -> usize {
    text.split_whitespace().count()
}

#[tokio::test]
async fn tools_round_trip_in_process_with_their_schemas_as_given() {
    let local = [locate::tool(), count_words::tool()];
    let client = in_process(&local).await;
    let (name, _version) = client.server_name().expect("server info");
    assert_eq!(name, "blazen");
    let remote = client.tools().await.unwrap();
    assert_eq!(remote.len(), 2);
    for (local, remote) in local.iter().zip(&remote) {
        assert_eq!(remote.name, local.name);
        assert_eq!(remote.description, local.description);
        assert_eq!(remote.parameters, local.parameters, "{}", local.name);
    }

    // Structured result: the object itself.
    let place = remote[0].call(json!({"city": "Paris"})).await.unwrap();
    assert_eq!(place, json!({"lat": 48.86, "lon": 2.35}));
    // A tool error arrives as a tool error with its text.
    let err = remote[0]
        .call(json!({"city": "Atlantis"}))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown city: Atlantis");
    // Bad arguments: caught locally by the schema's top level (required) before sending...
    let err = remote[0].call(json!({})).await.unwrap_err();
    assert_eq!(err.arguments(), vec!["city"]);
    // ...and deeper problems by the server's validation, returned as a tool error.
    let err = remote[0].call(json!({"city": 7})).await.unwrap_err();
    assert!(err.to_string().contains("city"), "{err}");
    // A non-object result is text.
    let count = remote[1]
        .call(json!({"text": "one two three"}))
        .await
        .unwrap();
    assert_eq!(count, json!("3"));
}

#[tokio::test]
async fn example_server_round_trip_over_stdio() {
    let client = McpClient::spawn(tokio::process::Command::new(example("mcp_server")))
        .await
        .expect("spawn and initialize");
    assert_eq!(client.server_name().unwrap().0, "blazen-example");
    let tools = client.tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["forecast", "divide"]);
    let forecast = &tools[0];
    assert_eq!(forecast.parameters["required"], json!(["city"]));
    assert_eq!(
        forecast.call(json!({"city": "Paris"})).await.unwrap(),
        json!({"city": "Paris", "temperature": 15.0, "conditions": "clear"})
    );
    let divide = &tools[1];
    assert_eq!(
        divide
            .call(json!({"a": 1, "b": 0}))
            .await
            .unwrap_err()
            .to_string(),
        "cannot divide by zero"
    );
    assert_eq!(
        divide.call(json!({"a": 5, "b": 2})).await.unwrap(),
        json!("2.5")
    );
    // The raw result is there too.
    let raw = client
        .call_tool("divide", json!({"a": 1, "b": 0}))
        .await
        .unwrap();
    assert_eq!(raw.is_error, Some(true));

    // After close, calls fail as tool errors (the model reads them), they do not hang.
    client.close().await;
    let after = tokio::time::timeout(
        Duration::from_secs(10),
        divide.call(json!({"a": 1, "b": 1})),
    )
    .await
    .expect("no hang after close");
    assert!(after.is_err(), "{after:?}");
}

#[tokio::test]
async fn run_agent_calls_mcp_tools_like_local_ones() {
    let client = in_process(&[locate::tool(), count_words::tool()]).await;
    let tools = client.tools().await.unwrap();
    let server = ScriptedServer::start(vec![
        tool_calls(&[
            ("call_1", "locate", r#"{"city":"Paris"}"#),
            ("call_2", "locate", r#"{"city":"Atlantis"}"#),
        ]),
        text("Paris is at 48.86, 2.35."),
    ])
    .await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "test-key").with_model("gpt-4o-mini");
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        run_agent(
            &model,
            vec![ChatMessage::user("Where are Paris and Atlantis?")],
            &tools,
            AgentOptions::default(),
        ),
    )
    .await
    .expect("no hang")
    .unwrap();
    assert_eq!(result.answer(), Some("Paris is at 48.86, 2.35."));
    assert_eq!(result.tool_runs.len(), 2);
    assert_eq!(
        result.tool_runs[0].output.as_ref().unwrap(),
        &json!({"lat": 48.86, "lon": 2.35})
    );
    assert!(result.tool_runs[1].output.is_err());

    let requests = server.requests().await;
    assert_eq!(requests[0].tool_names(), vec!["locate", "count_words"]);
    // The MCP schema is rendered for the provider like a local tool's.
    let sent = &requests[0].body["tools"][0]["function"]["parameters"];
    let expected = locate::tool().parameters_for(blazen::SchemaDialect::OpenAi);
    assert_eq!(sent, &expected);
    let results = requests[1].tool_results();
    assert_eq!(results[0].0, "call_1");
    assert_eq!(results[1].1, "Error: unknown city: Atlantis");
}

#[tokio::test]
async fn example_server_round_trip_over_streamable_http() {
    let (_server, url) = listening(
        tokio::process::Command::new(example("mcp_server")).args(["--http", "127.0.0.1:0"]),
    )
    .await;

    let client = tokio::time::timeout(Duration::from_secs(10), McpClient::connect_http(&url))
        .await
        .expect("initialize in time")
        .expect("connect over HTTP");
    assert_eq!(client.server_name().unwrap().0, "blazen-example");
    let tools = client.tools().await.unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(
        tools[0].call(json!({"city": "Paris"})).await.unwrap(),
        json!({"city": "Paris", "temperature": 15.0, "conditions": "clear"})
    );
    assert_eq!(
        tools[1]
            .call(json!({"a": 1, "b": 0}))
            .await
            .unwrap_err()
            .to_string(),
        "cannot divide by zero"
    );
    // Calls in parallel over one session.
    let calls = (1..=5).map(|b| tools[1].call(json!({"a": 10, "b": b})));
    let results = futures::future::join_all(calls).await;
    assert_eq!(results[1].as_ref().unwrap(), &json!("5.0"));
    for (b, result) in (1..=5).zip(&results) {
        let quotient = serde_json::to_string(&(10.0 / f64::from(b))).unwrap();
        assert_eq!(result.as_ref().unwrap(), &json!(quotient), "10 / {b}");
    }
    client.close().await;

    // Nothing listens there: initialization fails with an error, no hang.
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        McpClient::connect_http("http://127.0.0.1:9/mcp"),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(matches!(err, blazen::mcp::McpError::Initialize(_)), "{err}");
}
