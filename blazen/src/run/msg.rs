//! What crosses the run's channels: messages to the router and items of the event stream.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::event::{Event, StopEvent};
use crate::persist::WorkflowSnapshot;
use crate::step::output::StepOutput;

/// The sender index of events that come from the run itself (start event, responses).
pub(crate) const SENDER_RUN: u32 = u32::MAX;

/// The outcome of a run, as `WorkflowHandler::result` returns it.
pub(crate) type RunOutcome = Result<StopEvent, WorkflowError>;

/// Messages to the router.
pub(crate) enum RouterMsg {
    /// `ctx.send_event` (or the run itself).
    Send { event: Box<dyn Event>, sender: u32 },
    /// A step instance finished.
    Done {
        slot: u32,
        result: Result<StepOutput, StepFailure>,
    },
    /// `handler.pause()`.
    Pause {
        reply: oneshot::Sender<Result<WorkflowSnapshot, WorkflowError>>,
    },
    /// `handler.cancel()`, or a `RunClient::cancel` that reached the owner: answered once
    /// the run has ended.
    Cancel {
        reply: oneshot::Sender<Result<(), WorkflowError>>,
    },
    /// The execution in `slot` failed and backs off before attempt `attempt` (see
    /// `RetryPolicy`): a checkpointing run saves the attempt with the in-flight event.
    Retrying { slot: u32, attempt: u32 },
    /// `handler.respond()` (boxed: it is rare, and keeps the message small).
    Respond(Box<Respond>),
    /// Checkpoint now: the messages of the run's inbox up to `inbox_through` were just
    /// handed over (the entry removes them from the inbox).
    Checkpoint { inbox_through: u64 },
    /// The run's handler was dropped or (`detached`) detached: a run waiting for input that
    /// nobody here can answer any more ends its task; a dropped (not detached) one that
    /// nobody can observe or resume any more is cancelled.
    HandlerDropped { detached: bool },
    /// The worker owning the run lost its lease: stop at once and write nothing more.
    Abandon { epoch: u64 },
    /// Step execution `exec` started waiting in `Context::wait_for_event` (sent after its
    /// earlier sends, so the router has routed those when it counts the step as waiting).
    Waiting { exec: u64 },
}

/// An answer to an input request.
pub(crate) struct Respond {
    pub(crate) request_id: Uuid,
    pub(crate) response: Value,
    pub(crate) reply: oneshot::Sender<Result<(), WorkflowError>>,
}

/// How a step instance failed.
pub(crate) enum StepFailure {
    Error(Box<WorkflowError>),
    Panic(String),
    Timeout(Duration),
}

impl StepFailure {
    /// The error of this failure of step `step` on event `event`.
    pub(crate) fn into_error(self, step: &str, event: &str) -> WorkflowError {
        match self {
            StepFailure::Error(source) => WorkflowError::Step {
                step: step.to_owned(),
                event: event.to_owned(),
                source,
            },
            StepFailure::Panic(message) => WorkflowError::Panic {
                step: step.to_owned(),
                event: event.to_owned(),
                message,
            },
            StepFailure::Timeout(elapsed) => WorkflowError::Timeout {
                what: format!("step `{step}` on event `{event}`"),
                elapsed,
            },
        }
    }
}

/// Items of the event stream.
pub(crate) enum StreamMsg {
    Event(Box<dyn Event>),
    /// Events were dropped here (bounded stream): the count, still growing while the
    /// reader is behind.
    Lagged(Arc<AtomicU64>),
    /// The run is over: the stream ends.
    End,
}
