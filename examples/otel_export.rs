//! LLM calls in your traces: the `agent_tools` scenario exported over OTLP as OpenTelemetry
//! GenAI spans (`invoke_agent`, `chat {model}`, `execute_tool {name}`).
//!
//! ```sh
//! # a collector or Jaeger listening for OTLP/HTTP on localhost:4318, then:
//! cargo run --example otel_export --features otlp
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 cargo run --example otel_export --features otlp
//! ```
//!
//! No key needed: the model's answers replay the recorded session. The spans come from
//! `tracing`; `tracing-opentelemetry` turns them into OpenTelemetry spans and the OTLP
//! exporter sends them. Without a collector the export fails and the example says so.

#[path = "support/replay.rs"]
mod replay;
#[path = "support/scenario.rs"]
mod scenario;

use blazen_providers::{run_agent, AgentOptions, ChatMessage};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .unwrap_or_else(|_| "http://localhost:4318".to_owned());
    // The few lines a service needs: an OTLP exporter, a tracer provider, a tracing layer.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("blazen-example"));
    let subscriber = tracing_subscriber::registry().with(layer);
    let _guard = tracing::subscriber::set_default(subscriber);

    let (model, mode) = replay::model_or_replay(scenario::RECORDING).await;
    println!("otel_export: {}; spans to {endpoint}", mode.describe());
    let options = AgentOptions::new()
        .system_prompt(scenario::SYSTEM)
        .max_iterations(8);
    let result = run_agent(
        &model,
        vec![ChatMessage::user(scenario::USER)],
        &scenario::tools(),
        options,
    )
    .await?;
    println!("answer: {}", result.answer().unwrap_or("(no answer)"));
    let flushed = provider.force_flush();
    let _ = provider.shutdown();
    match (flushed, collector_listens(&endpoint).await) {
        (Ok(()), true) => {
            println!("spans exported to {endpoint} (invoke_agent, chat, execute_tool)")
        }
        (Ok(()), false) => println!("no collector listens at {endpoint}: the spans were dropped"),
        (Err(e), _) => println!("spans not exported: {e}"),
    }
    Ok(())
}

/// Whether something accepts connections at the endpoint (the exporter itself reports
/// failures only to OpenTelemetry's internal log).
async fn collector_listens(endpoint: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return false;
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let connect = tokio::net::TcpStream::connect((host, port));
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}
