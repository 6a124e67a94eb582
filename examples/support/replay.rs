//! Picks the model the examples talk to, and serves a recorded session when there is none.
//!
//! - `OPENAI_API_KEY` set: OpenAI (or, with `OPENAI_BASE_URL`, any OpenAI-compatible server
//!   that wants a key); `OPENAI_MODEL` picks the model.
//! - only `OPENAI_BASE_URL` set: a local OpenAI-compatible server such as Ollama
//!   (`http://localhost:11434/v1`) or llama.cpp (`http://localhost:8080/v1`), no key;
//!   `OPENAI_MODEL` names the model (default `llama3.2`).
//! - neither: a local HTTP server replays a recorded session (real traffic, recorded by the rig
//!   project, MIT licence, see `tests/fixtures/README.md`): the N-th request gets the N-th
//!   recorded response, and each request is compared with the recorded one.

// Shared by two examples through `#[path]`; each uses a different part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use blazen_providers::CompletionModel;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Where the model's answers come from.
pub(crate) enum Mode {
    /// A real server.
    Live(String),
    /// The local replay of a recording.
    Replay(Replay),
}

/// The model to use: a real one from the environment, or the replay of `fixture_json`.
pub(crate) async fn model_or_replay(fixture_json: &'static str) -> (CompletionModel, Mode) {
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    let base_url = std::env::var("OPENAI_BASE_URL").unwrap_or_default();
    let model_name = std::env::var("OPENAI_MODEL").ok().filter(|m| !m.is_empty());
    if !key.is_empty() {
        let mut model = CompletionModel::openai(key);
        if !base_url.is_empty() {
            model = model.with_base_url(base_url.clone());
        }
        if let Some(name) = model_name {
            model = model.with_model(name);
        }
        let at = if base_url.is_empty() {
            "api.openai.com"
        } else {
            &base_url
        };
        let described = format!("live: model {} at {at}", model.model_id());
        return (model, Mode::Live(described));
    }
    if !base_url.is_empty() {
        let model = CompletionModel::openai_compatible(base_url.clone(), "")
            .with_model(model_name.unwrap_or_else(|| "llama3.2".to_owned()));
        let described = format!("live: model {} at {base_url}", model.model_id());
        return (model, Mode::Live(described));
    }
    let replay = Replay::start(fixture_json).await;
    let model = CompletionModel::openai_compatible(replay.base_url(), "replay")
        .with_model(replay.model.clone());
    (model, Mode::Replay(replay))
}

impl Mode {
    /// One line saying where the answers come from.
    pub(crate) fn describe(&self) -> String {
        match self {
            Mode::Live(described) => described.clone(),
            Mode::Replay(r) => format!(
                "no OPENAI_API_KEY or OPENAI_BASE_URL set: replaying a recorded {} session \
                 (model {}, {} responses) from {} on a local server",
                r.provider,
                r.model,
                r.recorded.len(),
                r.source
            ),
        }
    }

    /// After the run: how the replay went (nothing for a live run).
    pub(crate) fn report(&self) -> Option<String> {
        let Mode::Replay(r) = self else { return None };
        let served = r.served.load(Ordering::SeqCst);
        let differences = r.differences.lock().map(|d| d.clone()).unwrap_or_default();
        Some(if differences.is_empty() {
            format!(
                "replay: served {served} of {} recorded responses; every request matched the recording",
                r.recorded.len()
            )
        } else {
            format!(
                "replay: served {served} of {} recorded responses; requests that differ from the \
                 recording: {}",
                r.recorded.len(),
                differences.join("; ")
            )
        })
    }
}

/// A recorded interaction: the request body sent and the response received.
#[derive(Clone)]
struct Interaction {
    request: Value,
    status: u16,
    content_type: String,
    body: String,
}

/// A local server answering with a recorded session's responses, in order.
pub(crate) struct Replay {
    server: MockServer,
    provider: String,
    model: String,
    source: String,
    recorded: Arc<Vec<Interaction>>,
    served: Arc<AtomicUsize>,
    differences: Arc<Mutex<Vec<String>>>,
}

impl Replay {
    /// Starts the server for a recording in the JSON shape of `tests/fixtures/README.md`.
    pub(crate) async fn start(fixture_json: &str) -> Replay {
        let fixture: Value = serde_json::from_str(fixture_json).unwrap_or(Value::Null);
        let recorded: Vec<Interaction> = fixture["interactions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|i| Interaction {
                request: serde_json::from_str(i["request"]["body"].as_str().unwrap_or("null"))
                    .unwrap_or(Value::Null),
                status: u16::try_from(i["response"]["status"].as_u64().unwrap_or(500))
                    .unwrap_or(500),
                content_type: i["response"]["headers"]["content-type"]
                    .as_str()
                    .unwrap_or("application/json")
                    .to_owned(),
                body: i["response"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect();
        let model = recorded
            .first()
            .and_then(|i| i.request["model"].as_str())
            .unwrap_or("recorded-model")
            .to_owned();
        let replay = Replay {
            server: MockServer::start().await,
            provider: fixture["provider"]
                .as_str()
                .unwrap_or("recorded")
                .to_owned(),
            model,
            source: fixture["source"]
                .as_str()
                .unwrap_or("a recording")
                .to_owned(),
            recorded: Arc::new(recorded),
            served: Arc::new(AtomicUsize::new(0)),
            differences: Arc::new(Mutex::new(Vec::new())),
        };
        Mock::given(method("POST"))
            .respond_with(Responder {
                recorded: Arc::clone(&replay.recorded),
                served: Arc::clone(&replay.served),
                differences: Arc::clone(&replay.differences),
            })
            .mount(&replay.server)
            .await;
        replay
    }

    /// The base URL for an OpenAI-compatible client.
    pub(crate) fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }
}

struct Responder {
    recorded: Arc<Vec<Interaction>>,
    served: Arc<AtomicUsize>,
    differences: Arc<Mutex<Vec<String>>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        let Some(recorded) = self.recorded.get(n) else {
            let body = json!({"error": {
                "message": format!("the recording has only {} responses", self.recorded.len()),
                "type": "replay_exhausted",
            }});
            return ResponseTemplate::new(500).set_body_json(body);
        };
        let sent: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if conversation(&sent) != conversation(&recorded.request) {
            if let Ok(mut d) = self.differences.lock() {
                d.push(format!("#{}", n + 1));
            }
        }
        ResponseTemplate::new(recorded.status)
            .set_body_raw(recorded.body.clone().into_bytes(), &recorded.content_type)
    }
}

/// A request's messages reduced to what matters: role, text, tool calls and call ids.
fn conversation(body: &Value) -> Vec<Value> {
    let text = |content: &Value| match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    };
    body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let calls: Vec<Value> = m["tool_calls"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    let args = &c["function"]["arguments"];
                    let args = args
                        .as_str()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or_else(|| args.clone());
                    json!([c["id"], c["function"]["name"], args])
                })
                .collect();
            json!([m["role"], text(&m["content"]), calls, m.get("tool_call_id")])
        })
        .collect()
}
