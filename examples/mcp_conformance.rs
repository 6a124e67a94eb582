//! The tools the official MCP conformance suite (`@modelcontextprotocol/conformance`) calls by
//! name, served over streamable HTTP: every kind of tool result (text, image, audio, embedded
//! resource, several blocks, an error) and every request a tool can make of its caller
//! (progress, log messages, sampling, elicitation). `tests/mcp_peers.rs` runs the suite against
//! it.
//!
//! ```sh
//! cargo run --example mcp_conformance -- 127.0.0.1:8000   # then, in another shell:
//! npx @modelcontextprotocol/conformance server --url http://127.0.0.1:8000/mcp
//! ```

use std::time::Duration;

use blazen::mcp::McpServer;
use blazen::prelude::*;
use blazen::tool::{caller, Content, Elicited, LogLevel, SampleRequest, ToolContent};

/// A 1×1 red PNG.
const RED_PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A WAV file of 0.01 s of silence (8 kHz, 8-bit mono).
fn silence_wav() -> Vec<u8> {
    let samples = 80u32;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    wav.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&samples.to_le_bytes());
    wav.extend(std::iter::repeat_n(0x80u8, samples as usize));
    wav
}

/// Return a simple text.
#[tool]
fn test_simple_text() -> String {
    "This is a simple text response for testing.".to_owned()
}

/// Return an image (a 1×1 red PNG).
#[tool]
fn test_image_content() -> ToolContent {
    ToolContent::new(vec![Content::image(RED_PIXEL_PNG, "image/png")])
}

/// Return audio (a short WAV of silence).
#[tool]
fn test_audio_content() -> ToolContent {
    ToolContent::new(vec![Content::audio(&silence_wav(), "audio/wav")])
}

/// Return an embedded text resource.
#[tool]
fn test_embedded_resource() -> ToolContent {
    ToolContent::new(vec![Content::resource_text(
        "test://embedded-resource",
        "text/plain",
        "This is an embedded resource content.",
    )])
}

/// Return text, an image and a resource together.
#[tool]
fn test_multiple_content_types() -> ToolContent {
    ToolContent::new(vec![
        Content::text("Multiple content types test:"),
        Content::image(RED_PIXEL_PNG, "image/png"),
        Content::resource_text(
            "test://mixed-content-resource",
            "application/json",
            r#"{"test":"data","value":123}"#,
        ),
    ])
}

/// Send three log messages while running.
#[tool]
async fn test_tool_with_logging() -> String {
    let caller = caller();
    for message in [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ] {
        caller.log(LogLevel::Info, json!(message)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    "Tool with logging executed successfully".to_owned()
}

/// Report progress at 0, 50 and 100 of 100.
#[tool]
async fn test_tool_with_progress() -> String {
    let caller = caller();
    for step in [0.0, 50.0, 100.0] {
        caller
            .progress(step, Some(100.0), Some(format!("{step}% done")))
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    "Progress reported".to_owned()
}

/// Ask the client's model about the prompt.
#[tool]
async fn test_sampling(
    /// What to ask the model.
    prompt: String,
) -> Result<String, ToolError> {
    let sample = caller()
        .sample(SampleRequest::new(prompt).max_tokens(100))
        .await?;
    Ok(format!("LLM response: {}", sample.text))
}

/// The user's details.
#[derive(Debug, Deserialize, JsonSchema)]
struct UserInfo {
    /// Your user name.
    username: String,
    /// Your email address.
    email: String,
}

/// Ask the user for their details.
#[tool]
async fn test_elicitation(
    /// What to tell the user.
    message: String,
) -> Result<String, ToolError> {
    Ok(match caller().elicit::<UserInfo>(message).await? {
        Elicited::Accepted(user) => format!(
            "User response: action=accept, username={}, email={}",
            user.username, user.email
        ),
        Elicited::Declined => "User response: action=decline".to_owned(),
        Elicited::Cancelled => "User response: action=cancel".to_owned(),
    })
}

/// An account's status.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Status {
    Active,
    Inactive,
    Pending,
}

/// A profile whose every field has a default the form shows (SEP-1034).
#[derive(Debug, Deserialize, JsonSchema)]
struct Profile {
    #[serde(default = "default_name")]
    name: String,
    #[serde(default = "default_age")]
    age: i64,
    #[serde(default = "default_score")]
    score: f64,
    #[serde(default = "default_status")]
    status: Status,
    #[serde(default = "default_verified")]
    verified: bool,
}

fn default_name() -> String {
    "John Doe".to_owned()
}
fn default_age() -> i64 {
    30
}
fn default_score() -> f64 {
    95.5
}
fn default_status() -> Status {
    Status::Active
}
fn default_verified() -> bool {
    true
}

/// Ask the user for a profile, every field with a default.
#[tool]
async fn test_elicitation_sep1034_defaults() -> Result<String, ToolError> {
    Ok(match caller().elicit::<Profile>("Check your profile").await? {
        Elicited::Accepted(p) => format!(
            "Elicitation completed: action=accept, content={{name: {}, age: {}, score: {}, status: {:?}, verified: {}}}",
            p.name, p.age, p.score, p.status, p.verified
        ),
        Elicited::Declined => "Elicitation completed: action=decline".to_owned(),
        Elicited::Cancelled => "Elicitation completed: action=cancel".to_owned(),
    })
}

/// Always fail.
#[tool]
fn test_error_handling() -> Result<String, String> {
    Err("This tool intentionally returns an error for testing".to_owned())
}

/// A tool whose hand-written schema uses JSON Schema 2020-12 keywords (`$schema`, `$defs`,
/// `$ref`), listed as given.
fn json_schema_2020_12_tool() -> ToolDef {
    ToolDef::new(
        "json_schema_2020_12_tool",
        "Tool with JSON Schema 2020-12 features",
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "type": "object",
                    "properties": {
                        "street": { "type": "string" },
                        "city": { "type": "string" }
                    }
                }
            },
            "properties": {
                "name": { "type": "string" },
                "address": { "$ref": "#/$defs/address" }
            },
            "additionalProperties": false
        }),
        |args: serde_json::Value| json!({ "received": args }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let server = McpServer::new(&[
        test_simple_text::tool(),
        test_image_content::tool(),
        test_audio_content::tool(),
        test_embedded_resource::tool(),
        test_multiple_content_types::tool(),
        test_tool_with_logging::tool(),
        test_tool_with_progress::tool(),
        test_sampling::tool(),
        test_elicitation::tool(),
        test_elicitation_sep1034_defaults::tool(),
        test_error_handling::tool(),
        json_schema_2020_12_tool(),
    ])
    .with_name("blazen-conformance", env!("CARGO_PKG_VERSION"));
    let listener = tokio::net::TcpListener::bind(addr.as_str()).await?;
    println!("MCP server at http://{}/mcp", listener.local_addr()?);
    server.serve_http(listener).await?;
    Ok(())
}
