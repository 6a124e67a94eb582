//! A scripted local OpenAI-compatible server for agent tests.
//!
//! The server answers the N-th request it receives with the N-th scripted [`Reply`], whatever
//! the path, and records every request so a test can assert what the client sent (messages,
//! tool results, tool definitions). A request beyond the script gets a 500 with an OpenAI error
//! envelope (code `script_exhausted`), so a client that calls too often fails loudly.
//!
//! Replies are built with [`text`], [`tool_calls`], [`sse_text`], [`sse_tool_calls`] and
//! [`error`], or taken in order from a recorded session with [`ScriptedServer::replay`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One canned HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    status: u16,
    content_type: String,
    body: String,
    delay: Option<Duration>,
}

impl Reply {
    /// A response with any status, content type and body.
    pub(crate) fn raw(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: content_type.to_owned(),
            body: body.into(),
            delay: None,
        }
    }

    /// A 200 JSON response.
    pub(crate) fn json(body: &Value) -> Self {
        Self::raw(200, "application/json", body.to_string())
    }

    /// Sends this reply after `delay`.
    pub(crate) fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Replaces the usage of a JSON chat completion.
    pub(crate) fn usage(self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.edit_json(|body| {
            body["usage"] = json!({
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            });
        })
    }

    /// Replaces the `model` of a JSON chat completion.
    pub(crate) fn model(self, model: &str) -> Self {
        self.edit_json(|body| body["model"] = json!(model))
    }

    /// The body, as sent.
    pub(crate) fn body(&self) -> &str {
        &self.body
    }

    fn edit_json(mut self, edit: impl FnOnce(&mut Value)) -> Self {
        let mut body: Value =
            serde_json::from_str(&self.body).expect("edit_json on a reply whose body is JSON");
        edit(&mut body);
        self.body = body.to_string();
        self
    }

    fn template(&self) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status)
            .set_body_raw(self.body.clone().into_bytes(), &self.content_type);
        if let Some(delay) = self.delay {
            t = t.set_delay(delay);
        }
        t
    }
}

/// A chat completion whose assistant message is `content` (finish reason `stop`).
pub(crate) fn text(content: &str) -> Reply {
    Reply::json(&completion(
        json!({"role": "assistant", "content": content}),
        "stop",
    ))
}

/// A chat completion that calls tools: `(id, name, arguments as raw JSON text)`.
///
/// The arguments are sent as given, so a test can script invalid JSON.
pub(crate) fn tool_calls(calls: &[(&str, &str, &str)]) -> Reply {
    tool_calls_with_text(None, calls)
}

/// Like [`tool_calls`], with assistant text beside the calls.
pub(crate) fn tool_calls_with_text(content: Option<&str>, calls: &[(&str, &str, &str)]) -> Reply {
    let calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(index, (id, name, arguments))| {
            json!({
                "index": index,
                "id": id,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            })
        })
        .collect();
    Reply::json(&completion(
        json!({"role": "assistant", "content": content, "tool_calls": calls}),
        "tool_calls",
    ))
}

fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    })
}

/// An error response with an OpenAI error envelope.
pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::raw(
        status,
        "application/json",
        json!({"error": {"message": message, "type": "scripted_error", "code": code}}).to_string(),
    )
}

/// A streamed chat completion: one content delta per item, then `stop`, usage and `[DONE]`.
pub(crate) fn sse_text(deltas: &[&str]) -> Reply {
    let mut frames = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    frames.extend(deltas.iter().map(|d| chunk(json!({"content": d}), None)));
    frames.push(chunk(json!({}), Some("stop")));
    sse(frames)
}

/// A streamed chat completion calling tools: `(id, name, argument fragments)`.
///
/// Each tool call's arguments arrive in the given fragments, the calls one after the other, then
/// finish reason `tool_calls`, usage and `[DONE]`.
pub(crate) fn sse_tool_calls(calls: &[(&str, &str, &[&str])]) -> Reply {
    let mut frames = vec![chunk(json!({"role": "assistant", "content": null}), None)];
    for (index, (id, name, fragments)) in calls.iter().enumerate() {
        frames.push(chunk(
            json!({"tool_calls": [{
                "index": index, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""},
            }]}),
            None,
        ));
        for fragment in *fragments {
            frames.push(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
                None,
            ));
        }
    }
    frames.push(chunk(json!({}), Some("tool_calls")));
    sse(frames)
}

fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
}

fn sse(mut frames: Vec<Value>) -> Reply {
    frames.push(json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }));
    let mut body = String::new();
    for frame in frames {
        body.push_str("data: ");
        body.push_str(&frame.to_string());
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    Reply::raw(200, "text/event-stream", body)
}

/// One request the server received.
#[derive(Debug, Clone)]
pub(crate) struct CapturedRequest {
    /// The request path, e.g. `/v1/chat/completions`.
    pub(crate) path: String,
    /// The JSON body (`Value::Null` if the body was not JSON).
    pub(crate) body: Value,
    /// The `authorization` header, if any.
    pub(crate) authorization: Option<String>,
}

impl CapturedRequest {
    /// The `messages` array of a chat completion request.
    pub(crate) fn messages(&self) -> Vec<Value> {
        self.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The names of the tools offered to the model.
    pub(crate) fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `role: tool` messages, as `(tool_call_id, content)`.
    pub(crate) fn tool_results(&self) -> Vec<(String, String)> {
        self.messages()
            .iter()
            .filter(|m| m["role"] == "tool")
            .map(|m| {
                (
                    m["tool_call_id"].as_str().unwrap_or_default().to_owned(),
                    content_text(&m["content"]),
                )
            })
            .collect()
    }
}

/// The text of a message `content`, whether a string or an array of text parts.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

struct Script {
    replies: Vec<Reply>,
    next: Arc<AtomicUsize>,
}

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        match self.replies.get(n) {
            Some(reply) => reply.template(),
            None => error(
                500,
                "script_exhausted",
                &format!(
                    "scripted server: request #{} but only {} replies were scripted",
                    n + 1,
                    self.replies.len()
                ),
            )
            .template(),
        }
    }
}

/// A local OpenAI-compatible server answering from a script.
#[derive(Debug)]
pub(crate) struct ScriptedServer {
    server: MockServer,
    served: Arc<AtomicUsize>,
    scripted: usize,
}

impl ScriptedServer {
    /// Starts a server answering the N-th request with `replies[N]`.
    pub(crate) async fn start(replies: Vec<Reply>) -> Self {
        let server = MockServer::start().await;
        let served = Arc::new(AtomicUsize::new(0));
        let scripted = replies.len();
        Mock::given(method("POST"))
            .respond_with(Script {
                replies,
                next: Arc::clone(&served),
            })
            .mount(&server)
            .await;
        Self {
            server,
            served,
            scripted,
        }
    }

    /// Starts a server replaying the responses of a recorded session (the JSON shape of
    /// `tests/fixtures/README.md`) in order, with their status, content type and body.
    pub(crate) async fn replay(fixture_json: &str) -> Self {
        Self::start(recorded_replies(fixture_json)).await
    }

    /// The base URL to give an OpenAI-compatible client (`http://127.0.0.1:PORT/v1`).
    pub(crate) fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// How many requests the server has answered (scripted or not).
    pub(crate) fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// How many replies were scripted.
    pub(crate) fn scripted(&self) -> usize {
        self.scripted
    }

    /// Every request received so far, in order.
    pub(crate) async fn requests(&self) -> Vec<CapturedRequest> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| CapturedRequest {
                path: r.url.path().to_owned(),
                body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                authorization: r
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            })
            .collect()
    }
}

/// The responses of a recorded session, in order.
pub(crate) fn recorded_replies(fixture_json: &str) -> Vec<Reply> {
    let fixture: Value = serde_json::from_str(fixture_json).expect("fixture is JSON");
    fixture["interactions"]
        .as_array()
        .expect("fixture has interactions")
        .iter()
        .map(|i| {
            let response = &i["response"];
            let content_type = response["headers"]["content-type"]
                .as_str()
                .unwrap_or("application/json");
            Reply::raw(
                u16::try_from(response["status"].as_u64().unwrap_or(200)).unwrap_or(200),
                content_type,
                response["body"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

/// The request bodies of a recorded session, in order.
pub(crate) fn recorded_requests(fixture_json: &str) -> Vec<Value> {
    let fixture: Value = serde_json::from_str(fixture_json).expect("fixture is JSON");
    fixture["interactions"]
        .as_array()
        .expect("fixture has interactions")
        .iter()
        .map(|i| {
            serde_json::from_str(i["request"]["body"].as_str().unwrap_or("null"))
                .unwrap_or(Value::Null)
        })
        .collect()
}
