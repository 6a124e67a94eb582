//! [`WorkflowBuilder`]: steps and options, checked by `build()`.

use std::sync::Arc;
use std::time::Duration;

use crate::error::WorkflowError;
use crate::persist::CheckpointStore;
use crate::resources::Resources;
use crate::step::Step;

use super::Workflow;

/// Collects a workflow's steps and options; [`build`](Self::build) checks the graph.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::{EventInfo, StepOutput, Workflow};
/// use std::time::Duration;
///
/// let done = Step::new("done", |_ctx, _ev| async { Ok(StepOutput::Single(Box::new(StopEvent::default()))) })
///     .accepts(EventInfo::of::<StartEvent>())
///     .emits(EventInfo::of::<StopEvent>());
/// let wf = Workflow::builder("done").step(done).timeout(Duration::from_secs(30)).build()?;
/// assert_eq!(wf.name(), "done");
///
/// // Every graph defect is reported.
/// let lonely = Step::new("lonely", |_ctx, _ev| async { Ok(StepOutput::None) })
///     .accepts(EventInfo::named("Nobody"));
/// assert!(matches!(Workflow::builder("bad").step(lonely).build(), Err(WorkflowError::Graph(_))));
/// # Ok::<(), WorkflowError>(())
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct WorkflowBuilder {
    name: String,
    steps: Vec<Step>,
    timeout: Option<Duration>,
    checkpoint: Option<Arc<dyn CheckpointStore>>,
    allow: Vec<crate::graph::GraphCheck>,
    resources: Resources,
    stream_capacity: Option<usize>,
    max_recoveries: Option<u32>,
}

impl WorkflowBuilder {
    pub(crate) fn new(name: String) -> Self {
        WorkflowBuilder {
            name,
            steps: Vec::new(),
            timeout: None,
            checkpoint: None,
            allow: Vec::new(),
            resources: Resources::new(),
            stream_capacity: None,
            max_recoveries: None,
        }
    }

    /// Adds a step.
    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Adds several steps.
    pub fn steps(mut self, steps: impl IntoIterator<Item = Step>) -> Self {
        self.steps.extend(steps);
        self
    }

    /// Fails each run with [`WorkflowError::Timeout`] if it has not finished after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Saves each run's snapshot to `store` after every step completion (and when the run
    /// waits for input, pauses or ends), so [`Workflow::resume_from`] can continue it after
    /// a crash. Steps may then run more than once for one event (at least once).
    pub fn checkpoint(mut self, store: impl CheckpointStore + 'static) -> Self {
        self.checkpoint = Some(Arc::new(store));
        self
    }

    /// Holds `value` for the steps, which read it with
    /// [`Context::resource`](crate::Context::resource) (one value per type; see
    /// [`Resources`]).
    pub fn resource<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        self.resources.insert(value);
        self
    }

    /// Holds all of `resources` for the steps (adding to those already given).
    pub fn resources(mut self, resources: Resources) -> Self {
        if self.resources.is_empty() {
            self.resources = resources;
        } else {
            self.resources.extend(&resources);
        }
        self
    }

    /// Bounds each run's event stream ([`WorkflowHandler::stream_events`]) to `capacity`
    /// unread events. By default the stream is unbounded: nothing is ever dropped, and a
    /// reader that falls behind (or never reads) lets events pile up in memory. With a bound,
    /// events written while the reader is `capacity` behind are dropped, and the reader finds
    /// one [`StreamLagged`](crate::event::StreamLagged) event where they were, with their
    /// count: never a silent loss. Writing stays synchronous and never waits. Input requests
    /// are never dropped.
    ///
    /// [`WorkflowHandler::stream_events`]: crate::WorkflowHandler::stream_events
    pub fn stream_capacity(mut self, capacity: usize) -> Self {
        self.stream_capacity = Some(capacity);
        self
    }

    /// Recovers from at most `n` step failures per run (default
    /// [`DEFAULT_MAX_RECOVERIES`](super::DEFAULT_MAX_RECOVERIES)) when a step accepts
    /// [`StepFailed`](crate::StepFailed): one more fails the run with
    /// [`WorkflowError::TooManyRecoveries`], so a recovery that fails again and again
    /// cannot loop forever.
    pub fn max_recoveries(mut self, n: u32) -> Self {
        self.max_recoveries = Some(n);
        self
    }

    /// Switches off one graph check for a deliberate design (as `workflow!(…, allow = [..])`
    /// does at compile time); see [`crate::graph::GraphCheck`].
    pub fn allow(mut self, check: crate::graph::GraphCheck) -> Self {
        self.allow.push(check);
        self
    }

    /// Checks the graph (every defect, see [`crate::graph`]) and builds the workflow.
    pub fn build(self) -> Result<Workflow, WorkflowError> {
        let defects = crate::graph::check_allowing(&self.steps, &self.allow);
        if !defects.is_empty() {
            return Err(WorkflowError::Graph(defects));
        }
        let mut wf = Workflow::from_parts(self.name, self.steps, self.timeout, self.checkpoint)
            .with_resources(self.resources);
        if let Some(n) = self.max_recoveries {
            wf = wf.with_max_recoveries(n);
        }
        Ok(match self.stream_capacity {
            Some(c) => wf.with_stream_capacity(c),
            None => wf,
        })
    }
}
