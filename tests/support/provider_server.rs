//! Recorded provider traffic served from local servers.
//!
//! - [`load`] reads a fixture of `tests/fixtures/<provider>/<case>.json` (the JSON shape of
//!   `tests/fixtures/README.md`: `{source, provider, interactions: [{request, response}]}`).
//! - [`serve`] mounts one recorded response on a [`wiremock`] server at its recorded path and
//!   returns the base URL to give a model (`with_base_url`).
//! - [`recorded_stream`] reads what a recorded SSE body says, independently of the client under
//!   test: the text, the tool calls with their argument fragments joined, the usage.
//! - [`ChunkServer`] is a tiny HTTP/1.1 server over a raw `TcpListener` that writes a response
//!   body in the given pieces, flushing and pausing between them, so that each piece arrives in
//!   its own network read (wiremock sends a body at once). It can also cut the connection.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One recorded fixture file.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Fixture {
    /// Where the recording came from (rig's cassette path).
    pub(crate) source: String,
    /// The provider recorded.
    pub(crate) provider: String,
    /// The exchanges, in order.
    pub(crate) interactions: Vec<Interaction>,
}

/// One request and its response.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Interaction {
    /// What the recorder's client sent.
    pub(crate) request: RecordedRequest,
    /// What the provider answered.
    pub(crate) response: RecordedResponse,
}

/// A recorded request.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RecordedRequest {
    /// HTTP method.
    pub(crate) method: String,
    /// Path (e.g. `/v1/chat/completions`).
    pub(crate) path: String,
    /// Headers (secrets redacted).
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    /// JSON body text.
    #[serde(default)]
    pub(crate) body: String,
}

/// A recorded response.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RecordedResponse {
    /// HTTP status.
    pub(crate) status: u16,
    /// Headers.
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    /// Raw body (SSE included).
    #[serde(default)]
    pub(crate) body: String,
}

/// Loads `tests/fixtures/<provider>/<case>.json`.
pub(crate) fn load(provider: &str, case: &str) -> Fixture {
    let file: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        provider,
        &format!("{case}.json"),
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad fixture {}: {e}", file.display()))
}

impl Fixture {
    /// The first interaction whose request streams (or not).
    pub(crate) fn first(&self, streaming: bool) -> &Interaction {
        self.interactions
            .iter()
            .find(|i| i.is_stream() == streaming)
            .unwrap_or_else(|| panic!("{}: no interaction with stream={streaming}", self.source))
    }
}

impl Interaction {
    /// Whether the recorded request asked for a stream.
    pub(crate) fn is_stream(&self) -> bool {
        self.request_json()
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The request body as JSON.
    pub(crate) fn request_json(&self) -> Value {
        serde_json::from_str(&self.request.body).unwrap_or(Value::Null)
    }

    /// The recorded path without its endpoint (`/openai/v1/chat/completions` → `/openai/v1`).
    pub(crate) fn base_path(&self) -> &str {
        let p = self.request.path.as_str();
        for endpoint in ["/chat/completions", "/embeddings"] {
            if let Some(base) = p.strip_suffix(endpoint) {
                return base;
            }
        }
        p
    }

    /// The response body as JSON (non-streaming responses).
    pub(crate) fn response_json(&self) -> Value {
        serde_json::from_str(&self.response.body).unwrap_or(Value::Null)
    }
}

/// Serves `interaction`'s response at its recorded path; returns the server (keep it alive)
/// and the base URL for `with_base_url`.
pub(crate) async fn serve(interaction: &Interaction) -> (MockServer, String) {
    let server = MockServer::start().await;
    let content_type = interaction
        .response
        .headers
        .get("content-type")
        .cloned()
        .unwrap_or_else(|| "application/json".to_owned());
    let mut template = ResponseTemplate::new(interaction.response.status).set_body_raw(
        interaction.response.body.clone().into_bytes(),
        &content_type,
    );
    for (k, v) in &interaction.response.headers {
        if k != "content-type" {
            template = template.insert_header(k.as_str(), v.as_str());
        }
    }
    Mock::given(method(interaction.request.method.as_str()))
        .and(path(interaction.request.path.as_str()))
        .respond_with(template)
        .mount(&server)
        .await;
    let base = format!("{}{}", server.uri(), interaction.base_path());
    (server, base)
}

/// What a recorded SSE body of the Chat Completions API says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RecordedStream {
    /// The text deltas of choice 0, joined.
    pub(crate) text: String,
    /// Tool calls of choice 0 by index: (id, name, argument fragments joined).
    pub(crate) tool_calls: Vec<(String, String, String)>,
    /// The last finish reason of choice 0.
    pub(crate) finish_reason: Option<String>,
    /// The last usage (prompt, completion, total).
    pub(crate) usage: Option<(u64, u64, u64)>,
    /// The cost the provider reported with the usage (OpenRouter's `usage.cost`).
    pub(crate) cost: Option<f64>,
}

/// Reads a recorded SSE body with plain line splitting and `serde_json::Value`.
pub(crate) fn recorded_stream(body: &str) -> RecordedStream {
    let mut out = RecordedStream::default();
    let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data == "[DONE]" || data.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(data).expect("recorded chunk is JSON");
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            out.usage = Some((
                n("prompt_tokens"),
                n("completion_tokens"),
                n("total_tokens"),
            ));
            // A number (OpenRouter) or `{"total_cost": ..}` (Perplexity).
            let cost = u.get("cost");
            let cost = cost.and_then(Value::as_f64).or_else(|| {
                cost.and_then(|c| c.get("total_cost"))
                    .and_then(Value::as_f64)
            });
            out.cost = cost.or(out.cost);
        }
        for choice in v["choices"].as_array().into_iter().flatten() {
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            if let Some(t) = choice.pointer("/delta/content").and_then(Value::as_str) {
                out.text.push_str(t);
            }
            if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
                out.finish_reason = Some(r.to_owned());
            }
            for (pos, tc) in choice
                .pointer("/delta/tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let index = tc
                    .get("index")
                    .and_then(Value::as_u64)
                    .unwrap_or(pos as u64);
                let entry = calls.entry(index).or_default();
                if let Some(id) = tc.get("id").and_then(Value::as_str) {
                    entry.0 = id.to_owned();
                }
                if let Some(name) = tc.pointer("/function/name").and_then(Value::as_str) {
                    entry.1 = name.to_owned();
                }
                match tc.pointer("/function/arguments") {
                    Some(Value::String(s)) => entry.2.push_str(s),
                    Some(Value::Null) | None => {}
                    Some(other) => entry.2.push_str(&other.to_string()),
                }
            }
        }
    }
    out.tool_calls = calls.into_values().collect();
    out
}

/// A JSON value from joined argument text, the way a correct client must read it (empty text:
/// no arguments).
pub(crate) fn parse_arguments(joined: &str) -> Value {
    if joined.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(joined).expect("recorded arguments are JSON")
    }
}

/// A raw HTTP/1.1 server writing a body in pieces, one network write (and flush) per piece with
/// a pause between them, then closing the connection (so a body that stops mid-event is a
/// truncated stream). Every connection gets the same response.
#[derive(Debug)]
pub(crate) struct ChunkServer {
    /// `http://127.0.0.1:port`
    pub(crate) url: String,
    /// How many requests were answered.
    pub(crate) hits: Arc<AtomicUsize>,
}

impl ChunkServer {
    /// Starts a server answering `status` with `content_type` and `pieces`.
    pub(crate) async fn start(status: u16, content_type: &str, pieces: Vec<Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n"
        );
        let pieces = Arc::new(pieces);
        let counter = hits.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let head = head.clone();
                let pieces = pieces.clone();
                tokio::spawn(async move {
                    read_request(&mut socket).await;
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let _ = socket.flush().await;
                    for piece in pieces.iter() {
                        tokio::time::sleep(Duration::from_millis(15)).await;
                        if socket.write_all(piece).await.is_err() {
                            return;
                        }
                        let _ = socket.flush().await;
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
        ChunkServer { url, hits }
    }
}

/// Reads one request (headers and a `content-length` body).
async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut tmp).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                match socket.read(&mut tmp).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&tmp[..n]),
                }
            }
            return;
        }
    }
}
