//! Errors of workflows and steps.

use std::time::Duration;

/// A `Result` whose error is a [`WorkflowError`].
pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;

/// Why a workflow could not be built or did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// A step returned an error.
    #[error("step `{step}` failed on event `{event}`: {source}")]
    Step {
        /// The step's name.
        step: String,
        /// The event type the step was handling.
        event: String,
        /// The cause.
        #[source]
        source: Box<WorkflowError>,
    },
    /// A step panicked.
    #[error("step `{step}` panicked on event `{event}`: {message}")]
    Panic {
        /// The step's name.
        step: String,
        /// The event type the step was handling.
        event: String,
        /// The panic message.
        message: String,
    },
    /// The workflow or a step ran out of time.
    #[error("{what} timed out after {}ms", elapsed.as_millis())]
    Timeout {
        /// What timed out (`workflow `x`` or `step `y``).
        what: String,
        /// How long it ran.
        elapsed: Duration,
    },
    /// The run can no longer progress: nothing runs, nothing is queued, no StopEvent.
    #[error("workflow `{workflow}` stalled: no step is running, no event is queued and no StopEvent was emitted")]
    Stalled {
        /// The workflow's name.
        workflow: String,
    },
    /// An event reached the router that no step accepts.
    #[error("event `{event}` sent by `{sender}` is accepted by no step")]
    UnroutedEvent {
        /// The event type.
        event: String,
        /// The step (or `run`) that sent it.
        sender: String,
    },
    /// An event's data did not fit the type the step accepts.
    #[error("event `{event}` does not fit the accepted type: {message}")]
    EventDecode {
        /// The event type.
        event: String,
        /// What did not fit (names the field).
        message: String,
    },
    /// The workflow graph has defects.
    #[error("invalid workflow graph:\n{}", .0.iter().map(|d| format!("  - {d}")).collect::<Vec<_>>().join("\n"))]
    Graph(Vec<crate::graph::GraphDefect>),
    /// State in the context could not be (de)serialized.
    #[error("context value `{key}`: {source}")]
    State {
        /// The key.
        key: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The run was paused with `WorkflowHandler::pause`; resume it from its snapshot.
    #[error("run {run_id} was paused")]
    Paused {
        /// The run.
        run_id: uuid::Uuid,
    },
    /// The run is over (finished, failed or paused) and cannot do what was asked.
    #[error("run {run_id} is not running")]
    NotRunning {
        /// The run.
        run_id: uuid::Uuid,
    },
    /// `respond` named a request the run is not waiting for.
    #[error("the run has no pending input request `{request_id}`")]
    UnknownInputRequest {
        /// The request id given.
        request_id: uuid::Uuid,
    },
    /// A step called [`Context::wait_for_event`](crate::Context::wait_for_event) for an
    /// event it does not declare with `waits_for` (or outside a run).
    #[error("step `{step}` waits for event `{event}` without declaring it: add `waits_for = [{event}]` to the step")]
    UndeclaredWait {
        /// The waiting step.
        step: String,
        /// The event type it waited for.
        event: String,
    },
    /// A step asked for a resource the workflow does not hold.
    #[error("step `{step}` needs a resource of type `{resource}`, which the workflow does not hold: add it with `.resource(..)` or `.with_resource(..)`")]
    MissingResource {
        /// The asking step.
        step: String,
        /// The resource's type name.
        resource: &'static str,
    },
    /// A step was waiting for an event when its run ended.
    #[error("step `{step}` was waiting for event `{event}` when the run ended")]
    WaitAbandoned {
        /// The waiting step.
        step: String,
        /// The event type it waited for.
        event: String,
    },
    /// The run was cancelled with `WorkflowHandler::cancel`.
    #[error("run {run_id} was cancelled")]
    Cancelled {
        /// The run.
        run_id: uuid::Uuid,
    },
    /// The run completed (with a `StopEvent`) before the request could act on it, e.g. a
    /// `pause` racing the run's last step; `WorkflowHandler::result` gives the `StopEvent`.
    #[error("run {run_id} completed")]
    Completed {
        /// The run.
        run_id: uuid::Uuid,
    },
    /// [`Context::wait_for_event_timeout`](crate::Context::wait_for_event_timeout) gave up:
    /// no event came in time. The step may handle it (e.g. emit a fallback event).
    #[error("step `{step}` waited {}ms for event `{event}` in vain", after.as_millis())]
    WaitTimeout {
        /// The waiting step.
        step: String,
        /// The event type it waited for.
        event: String,
        /// How long it waited.
        after: Duration,
    },
    /// A step failed after the run had already recovered from `limit` failures with
    /// [`StepFailed`](crate::StepFailed) handlers (see
    /// [`WorkflowBuilder::max_recoveries`](crate::WorkflowBuilder::max_recoveries)).
    #[error("more than {limit} step failures recovered in one run; the last: {source}")]
    TooManyRecoveries {
        /// The bound.
        limit: u32,
        /// The failure that went over it.
        #[source]
        source: Box<WorkflowError>,
    },
    /// A workflow was run outside a Tokio runtime.
    #[error("workflows run on a Tokio runtime; call `run` from within one")]
    NoRuntime,
    /// A snapshot was taken by a workflow whose graph differs (the code changed).
    #[error("snapshot of workflow `{workflow}` has graph fingerprint `{found}`, but this workflow's is `{expected}`: the steps or their events changed")]
    SnapshotMismatch {
        /// The workflow.
        workflow: String,
        /// This workflow's fingerprint.
        expected: String,
        /// The snapshot's fingerprint.
        found: String,
    },
    /// Saving or loading a snapshot failed.
    #[error(transparent)]
    Persist(#[from] crate::persist::PersistError),
    /// Any other error, with its message.
    #[error("{0}")]
    Message(String),
    /// An error from user code.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl WorkflowError {
    /// An error carrying just a message.
    pub fn msg(message: impl Into<String>) -> Self {
        WorkflowError::Message(message.into())
    }

    /// Wraps any error.
    pub fn other(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        WorkflowError::Other(Box::new(err))
    }

    /// The same error, variant and fields included, for a second reader of one outcome
    /// (`WorkflowHandler::result` called again). What cannot be cloned — a user's error, a
    /// serde or backend error — is copied as its message and its chain of causes.
    pub(crate) fn duplicate(&self) -> Self {
        use WorkflowError as E;
        match self {
            E::Step {
                step,
                event,
                source,
            } => E::Step {
                step: step.clone(),
                event: event.clone(),
                source: Box::new(source.duplicate()),
            },
            E::Panic {
                step,
                event,
                message,
            } => E::Panic {
                step: step.clone(),
                event: event.clone(),
                message: message.clone(),
            },
            E::Timeout { what, elapsed } => E::Timeout {
                what: what.clone(),
                elapsed: *elapsed,
            },
            E::Stalled { workflow } => E::Stalled {
                workflow: workflow.clone(),
            },
            E::UnroutedEvent { event, sender } => E::UnroutedEvent {
                event: event.clone(),
                sender: sender.clone(),
            },
            E::EventDecode { event, message } => E::EventDecode {
                event: event.clone(),
                message: message.clone(),
            },
            E::Graph(defects) => E::Graph(defects.clone()),
            E::State { key, source } => E::State {
                key: key.clone(),
                source: copy_serde_error(source),
            },
            E::Paused { run_id } => E::Paused { run_id: *run_id },
            E::NotRunning { run_id } => E::NotRunning { run_id: *run_id },
            E::UnknownInputRequest { request_id } => E::UnknownInputRequest {
                request_id: *request_id,
            },
            E::UndeclaredWait { step, event } => E::UndeclaredWait {
                step: step.clone(),
                event: event.clone(),
            },
            E::MissingResource { step, resource } => E::MissingResource {
                step: step.clone(),
                resource,
            },
            E::WaitAbandoned { step, event } => E::WaitAbandoned {
                step: step.clone(),
                event: event.clone(),
            },
            E::Cancelled { run_id } => E::Cancelled { run_id: *run_id },
            E::Completed { run_id } => E::Completed { run_id: *run_id },
            E::WaitTimeout { step, event, after } => E::WaitTimeout {
                step: step.clone(),
                event: event.clone(),
                after: *after,
            },
            E::TooManyRecoveries { limit, source } => E::TooManyRecoveries {
                limit: *limit,
                source: Box::new(source.duplicate()),
            },
            E::NoRuntime => E::NoRuntime,
            E::SnapshotMismatch {
                workflow,
                expected,
                found,
            } => E::SnapshotMismatch {
                workflow: workflow.clone(),
                expected: expected.clone(),
                found: found.clone(),
            },
            E::Persist(err) => E::Persist(err.duplicate()),
            E::Message(message) => E::Message(message.clone()),
            E::Other(err) => E::Other(Box::new(CopiedError::of(&**err))),
        }
    }
}

/// A serde error again, with the same message (serde errors cannot be cloned).
pub(crate) fn copy_serde_error(err: &serde_json::Error) -> serde_json::Error {
    <serde_json::Error as serde::de::Error>::custom(err)
}

/// An error that cannot be cloned, copied as its message and its chain of causes.
#[derive(Debug)]
pub(crate) struct CopiedError {
    message: String,
    source: Option<Box<CopiedError>>,
}

impl CopiedError {
    pub(crate) fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        CopiedError {
            message: err.to_string(),
            source: err.source().map(|s| Box::new(CopiedError::of(s))),
        }
    }
}

impl std::fmt::Display for CopiedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CopiedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}
