//! No API key in any log line or span field, at every level down to TRACE: every provider's
//! calls (errors echoing the request's headers, retries, a stream cut by an error frame, an
//! agent run with message content recording on) are traced into one buffer of every event's
//! and span's fields, which must not hold the key. (`reqwest`'s own `log` records are not
//! `tracing` events and are not seen here.)

#[allow(dead_code)] // each test file uses a part of the shared support
mod support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen::ToolDef;
use blazen_providers::{run_agent, AgentOptions, ChatMessage, CompletionModel, RetryConfig};
use serde_json::{json, Value};
use support::chunks::first_stream_error;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A key no redaction pattern knows: only the exact-key scrubbing can catch it.
const KEY: &str = "zq-plain-7c1e4b9a2f6d8e0b3a5c7d9e1f2a4b6c";

/// Every field of every event and span, as text.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut line = format!(
            "\n{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&line);
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: Context<'_, S>,
    ) {
        let mut line = format!("\nspan {}", attrs.metadata().name());
        attrs.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&line);
    }

    fn on_record(
        &self,
        _id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: Context<'_, S>,
    ) {
        let mut line = "\nrecord".to_owned();
        values.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&line);
    }
}

/// Answers with the request's headers echoed in an error envelope.
struct Echo(u16);

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        ResponseTemplate::new(self.0).set_body_json(json!({
            "error": {"message": format!("bad request: {}", headers.join("; ")),
                      "type": "invalid_request_error", "code": KEY}
        }))
    }
}

async fn echoing(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Echo(status))
        .mount(&server)
        .await;
    server
}

fn models(base: &str) -> Vec<CompletionModel> {
    vec![
        CompletionModel::openai_compatible(base, KEY),
        CompletionModel::openai(KEY).with_base_url(base),
        CompletionModel::anthropic(KEY).with_base_url(base),
        CompletionModel::gemini(KEY).with_base_url(base),
        CompletionModel::cohere(KEY).with_base_url(base),
        CompletionModel::bedrock(KEY, "us-east-1").with_base_url(base),
        CompletionModel::fal(KEY).with_base_url(base),
        CompletionModel::groq(KEY).with_base_url(base),
        CompletionModel::mistral(KEY).with_base_url(base),
    ]
}

#[tokio::test(flavor = "current_thread")]
async fn no_log_line_or_span_field_holds_the_key_at_trace() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    blazen_providers::telemetry::set_capture_content(true);

    let unauthorized = echoing(401).await;
    let overloaded = echoing(503).await;
    let retry = RetryConfig {
        max_retries: 1,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    };
    for server in [&unauthorized, &overloaded] {
        for model in models(&server.uri()) {
            let model = model.with_retry(retry);
            let messages = [ChatMessage::system("be brief"), ChatMessage::user("hi")];
            assert!(model.complete(&messages).await.is_err());
            assert!(first_stream_error(&model).await.is_some());
        }
    }
    // An agent whose model fails after a tool ran: tool spans, agent span, errors.
    let tool = ToolDef::new(
        "lookup",
        "Look something up.",
        json!({"type": "object", "properties": {}}),
        |_args: Value| json!("found"),
    );
    let model = CompletionModel::openai_compatible(unauthorized.uri(), KEY);
    let outcome = run_agent(
        &model,
        vec![ChatMessage::user("look it up")],
        &[tool],
        AgentOptions::default(),
    )
    .await;
    assert!(outcome.is_err());

    let recorded = recorder.0.lock().unwrap().clone();
    // The test sees what it should: spans and events of the calls, retries, errors.
    assert!(recorded.contains("span chat"), "{recorded}");
    assert!(recorded.contains("retry"), "{recorded}");
    assert!(recorded.contains("error.type"), "{recorded}");
    assert!(recorded.contains("gen_ai.input.messages"), "{recorded}");
    assert!(
        !recorded.contains(KEY),
        "the key is in the trace:\n{}",
        recorded
            .lines()
            .filter(|l| l.contains(KEY))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
