//! tracing: a span per run (workflow, run_id) and per step execution (step, event).

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use blazen::prelude::*;
use rt::{ev, step, Num};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event as TracingEvent, Metadata, Subscriber};

/// The spans created: (name, fields, parent span name).
type Spans = Arc<Mutex<Vec<(String, BTreeMap<String, String>, Option<String>)>>>;

/// The events emitted: (target, fields).
type Events = Arc<Mutex<Vec<(String, BTreeMap<String, String>)>>>;

/// A minimal subscriber that records every span with its fields and its parent, and every
/// event with its fields.
struct Recorder {
    spans: Spans,
    events: Events,
    names: Mutex<BTreeMap<u64, String>>,
    current: Mutex<std::collections::HashMap<std::thread::ThreadId, Vec<u64>>>,
    next: AtomicU64,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        let names = self.names.lock().unwrap();
        let parent = match span.parent() {
            Some(p) => names.get(&p.into_u64()).cloned(),
            None if span.is_contextual() => self
                .current
                .lock()
                .unwrap()
                .get(&std::thread::current().id())
                .and_then(|stack| stack.last())
                .and_then(|p| names.get(p).cloned()),
            None => None,
        };
        drop(names);
        self.names
            .lock()
            .unwrap()
            .insert(id, span.metadata().name().to_owned());
        self.spans
            .lock()
            .unwrap()
            .push((span.metadata().name().to_owned(), fields, parent));
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &TracingEvent<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events
            .lock()
            .unwrap()
            .push((event.metadata().target().to_owned(), fields));
    }
    fn enter(&self, span: &Id) {
        self.current
            .lock()
            .unwrap()
            .entry(std::thread::current().id())
            .or_default()
            .push(span.into_u64());
    }
    fn exit(&self, _: &Id) {
        if let Some(stack) = self
            .current
            .lock()
            .unwrap()
            .get_mut(&std::thread::current().id())
        {
            stack.pop();
        }
    }
}

#[test]
fn runs_and_step_executions_have_spans() {
    let spans: Spans = Arc::default();
    let recorder = Recorder {
        spans: Arc::clone(&spans),
        events: Arc::default(),
        names: Mutex::default(),
        current: Mutex::default(),
        next: AtomicU64::new(0),
    };
    let run_id = tracing::subscriber::with_default(recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let wf = Workflow::builder("traced")
                .step(
                    step("start", |_ctx, _s: StartEvent| async { Num { n: 1 } }).emits(ev::<Num>()),
                )
                .step(
                    step("finish", |_ctx, x: Num| async move {
                        StopEvent::new(json!(x.n))
                    })
                    .emits(ev::<StopEvent>()),
                )
                .build()
                .unwrap();
            let h = wf.run(json!({})).await.unwrap();
            h.result().await.unwrap();
            h.run_id()
        })
    });
    let spans = spans.lock().unwrap();
    let run = spans
        .iter()
        .find(|(name, _, _)| name == "blazen.run")
        .expect("a run span");
    assert_eq!(run.1.get("workflow").map(String::as_str), Some("traced"));
    assert_eq!(run.1.get("run_id"), Some(&run_id.to_string()));
    let steps: Vec<_> = spans
        .iter()
        .filter(|(name, _, _)| name == "blazen.step")
        .map(|(_, f, parent)| {
            (
                f.get("step").cloned().unwrap_or_default(),
                f.get("event").cloned().unwrap_or_default(),
                parent.clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (
                "start".to_owned(),
                "blazen::StartEvent".to_owned(),
                Some("blazen.run".to_owned())
            ),
            (
                "finish".to_owned(),
                "Num".to_owned(),
                Some("blazen.run".to_owned())
            ),
        ]
    );
}

#[test]
fn each_retry_of_a_step_is_a_warning_with_step_attempt_delay_and_error() {
    let events: Events = Arc::default();
    let recorder = Recorder {
        spans: Arc::default(),
        events: Arc::clone(&events),
        names: Mutex::default(),
        current: Mutex::default(),
        next: AtomicU64::new(0),
    };
    let failures = Arc::new(AtomicU64::new(0));
    tracing::subscriber::with_default(recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let wf = Workflow::builder("retried")
                .step(
                    step("flaky", move |_ctx, _s: StartEvent| {
                        let failures = Arc::clone(&failures);
                        async move {
                            if failures.fetch_add(1, Ordering::SeqCst) < 2 {
                                Err(WorkflowError::msg("upstream busy"))
                            } else {
                                Ok(StopEvent::new(json!("done")))
                            }
                        }
                    })
                    .retry(blazen::RetryPolicy::constant(
                        3,
                        std::time::Duration::from_millis(2),
                    ))
                    .emits(ev::<StopEvent>()),
                )
                .build()
                .unwrap();
            wf.run(json!({})).await.unwrap().result().await.unwrap();
        })
    });
    let events = events.lock().unwrap();
    let retries: Vec<_> = events
        .iter()
        .filter(|(target, _)| target == "blazen::retry")
        .map(|(_, f)| {
            (
                f["step"].clone(),
                f["attempt"].clone(),
                f["delay_ms"].clone(),
                f["error"].clone(),
            )
        })
        .collect();
    let expected = |attempt: &str| {
        (
            "flaky".to_owned(),
            attempt.to_owned(),
            "2".to_owned(),
            "upstream busy".to_owned(),
        )
    };
    assert_eq!(retries, [expected("2"), expected("3")]);
}
