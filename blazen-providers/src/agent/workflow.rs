//! LLM calls inside workflow steps.
//!
//! A workflow step uses a model the workflow holds: a [`CompletionModel`] is a cheap `Clone`
//! handle, so the code that assembles the workflow moves a clone into each step that needs it
//! (a hand-built [`Step::new`](blazen::Step::new) closure capturing it, as the `llm_workflow`
//! example does). Inside the step, [`stream_to_workflow`] streams the answer and writes each
//! text delta to the run's event stream as an [`LlmDelta`], so whoever watches
//! `handler.stream_events()` sees tokens as they arrive. `?` works on provider errors in steps:
//! a [`BlazenError`] converts into a [`WorkflowError`].

use blazen::{Context, Event, WorkflowError};
use serde::{Deserialize, Serialize};

use crate::error::{BlazenError, Result};
use crate::model::CompletionModel;
use crate::types::{CompletionRequest, CompletionResponse};

/// New text from an LLM call inside a workflow step, written to the run's event stream by
/// [`stream_to_workflow`].
///
/// ```
/// use blazen::Event;
/// use blazen_providers::LlmDelta;
///
/// let delta = LlmDelta { source: "synthesize".into(), text: "Hel".into() };
/// assert_eq!(delta.event_type(), "LlmDelta");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Event)]
pub struct LlmDelta {
    /// Which call produced the text (the name given to [`stream_to_workflow`], e.g. the step).
    pub source: String,
    /// The new text.
    pub text: String,
}

/// Streams one completion inside a workflow step: every text delta is written to the run's
/// event stream as an [`LlmDelta`] tagged with `source`, and the whole answer (text, tool calls,
/// usage, cost) is returned once the model is done.
///
/// ```no_run
/// use blazen::prelude::*;
/// use blazen::{EventInfo, StepOutput};
/// use blazen_providers::{stream_to_workflow, ChatMessage, CompletionModel, CompletionRequest};
///
/// // The workflow holds the model: the step's closure owns a clone of it.
/// fn answer_step(model: CompletionModel) -> Step {
///     Step::new("answer", move |ctx, ev| {
///         let model = model.clone();
///         async move {
///             let start = ev.downcast::<StartEvent>().map_err(|_| WorkflowError::msg("expected StartEvent"))?;
///             let question = start.get("question").and_then(|q| q.as_str()).unwrap_or_default().to_owned();
///             let request = CompletionRequest::new(vec![ChatMessage::user(question)]);
///             let response = stream_to_workflow(&ctx, &model, request, "answer").await?;
///             Ok(StepOutput::Single(Box::new(StopEvent::new(json!(response.content)))))
///         }
///     })
///     .accepts(EventInfo::of::<StartEvent>())
///     .emits(EventInfo::of::<StopEvent>())
/// }
/// ```
pub async fn stream_to_workflow(
    ctx: &Context,
    model: &CompletionModel,
    request: CompletionRequest,
    source: &str,
) -> Result<CompletionResponse> {
    model
        .stream_request_with(request, |chunk| {
            if let Some(text) = chunk.delta.filter(|d| !d.is_empty()) {
                ctx.write_event_to_stream(LlmDelta {
                    source: source.to_owned(),
                    text,
                });
            }
        })
        .await
}

impl From<BlazenError> for WorkflowError {
    fn from(err: BlazenError) -> Self {
        WorkflowError::other(err)
    }
}
