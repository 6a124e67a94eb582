//! tracing -> tracing-opentelemetry -> the OpenTelemetry SDK's in-memory exporter, and lookups
//! of the finished spans and their attributes (the GenAI span tests).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Value as OtelValue;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// The exporter and tracer provider of a collector, for this thread while the guard lives.
pub(crate) fn collector() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    tracing::subscriber::DefaultGuard,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let guard = tracing::subscriber::set_default(subscriber);
    (exporter, provider, guard)
}

/// Collects the spans finished while the future `run` makes runs (inside a root span `caller`).
pub(crate) async fn traced<F: std::future::Future<Output = ()>>(
    run: impl FnOnce() -> F,
) -> Vec<SpanData> {
    let (exporter, provider, guard) = collector();
    run().instrument(tracing::info_span!("caller")).await;
    drop(guard);
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

pub(crate) fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a OtelValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub(crate) fn attr_str(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.as_str().into_owned())
}

pub(crate) fn attr_i64(span: &SpanData, key: &str) -> Option<i64> {
    match attr(span, key)? {
        OtelValue::I64(n) => Some(*n),
        other => panic!("{key} is {other:?}"),
    }
}

/// Each `(key, value)` is a string attribute of `span`.
pub(crate) fn assert_attrs(span: &SpanData, expected: &[(&str, &str)]) {
    for (key, value) in expected {
        assert_eq!(attr_str(span, key).as_deref(), Some(*value), "{key}");
    }
}

pub(crate) fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

pub(crate) fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "{name} in {:?}", names(spans));
    found[0]
}

pub(crate) fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}

/// The attributes that carry message content (recorded only when opted in).
pub(crate) const CONTENT_ATTRIBUTES: [&str; 5] = [
    "gen_ai.system_instructions",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
];
