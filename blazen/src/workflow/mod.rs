//! Workflows: a validated set of steps, run by the event router.
//!
//! [`Workflow::builder`] collects steps, checks the graph and builds the routing table once;
//! [`Workflow::run`] starts a run in its own Tokio task and returns a [`WorkflowHandler`].
//! One workflow may run many times at once.
//!
//! # How a run executes
//! - Events are routed by [`Event::event_type`]: an event goes to
//!   every step that accepts its name (copied with `clone_event` for all but the last). A
//!   [`DynamicEvent`](crate::DynamicEvent) reaches steps that accept the typed event of the
//!   same name.
//! - Each step execution runs in its own task. A step's `max_concurrency` bounds its live
//!   executions; further events wait in the router's queue for that step (they are not
//!   spawned first).
//! - The run ends with the first `StopEvent`, or with an error: a step's `Err` or panic
//!   ([`WorkflowError::Step`], [`WorkflowError::Panic`]), an event that no step accepts
//!   ([`WorkflowError::UnroutedEvent`]), a workflow or step timeout
//!   ([`WorkflowError::Timeout`]), or as soon as nothing runs, nothing is queued and no
//!   input request is pending ([`WorkflowError::Stalled`]). Steps still running are then
//!   cancelled.
//!
//! # Durable runs
//! - [`WorkflowHandler::pause`] stops starting steps, lets the running ones finish (their
//!   events are queued, not started), and returns a [`WorkflowSnapshot`] with every queued
//!   event, the context state, fan-in buffers, pending input requests and the stream
//!   position. [`Workflow::resume`] continues it; nothing is run twice, except steps that
//!   were waiting in [`Context::wait_for_event`]: the snapshot keeps them in flight, and
//!   they run again from their start.
//! - With [`WorkflowBuilder::checkpoint`] a snapshot is saved after every step completion,
//!   and it also lists the events of steps still running (their input is kept for this, and
//!   only when checkpointing). After a crash, [`Workflow::resume_from`] runs those steps
//!   again: delivery is *at least once* (see [`crate::persist`]).
//! - A step that emits an [`InputRequiredEvent`](crate::event::InputRequiredEvent) asks a
//!   person: the request is published on the stream and listed by
//!   [`WorkflowHandler::input_requests`]; once nothing else runs the run waits (saving a
//!   snapshot when checkpointing) until [`WorkflowHandler::respond`] or
//!   [`Workflow::respond_from`] answers it with an
//!   [`InputResponseEvent`].

mod builder;
mod handler;
pub(crate) mod runner;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use uuid::Uuid;

pub use builder::WorkflowBuilder;
pub use handler::{EventStream, WorkflowHandler};

use crate::context::Context;
use crate::error::WorkflowError;
use crate::event::{Event, InputResponseEvent, StartEvent, StopEvent, TypedEvent};
use crate::persist::{CheckpointStore, SnapshotStatus, WorkflowSnapshot};
use crate::resources::Resources;
use crate::run::msg::{RouterMsg, SENDER_RUN};
use crate::run::owner::Ownership;
use crate::run::snapshot::{restore, Restored};
use crate::run::state::RunState;
use crate::run::stream::StreamLimit;
use crate::run::RunShared;
use crate::step::Step;
use runner::Router;

/// A validated workflow: its steps, its routing table and its options.
///
/// Cheap to clone (one reference count); `Send + Sync`, so one workflow can serve many
/// concurrent runs from many tasks.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::{EventInfo, StepOutput, Workflow};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), WorkflowError> {
/// let echo = Step::new("echo", |_ctx, ev| async move {
///     let start: StartEvent = blazen::event::downcast_event(ev)?;
///     Ok(StepOutput::Single(Box::new(StopEvent::new(start.data))))
/// })
/// .accepts(EventInfo::of::<StartEvent>())
/// .emits(EventInfo::of::<StopEvent>());
///
/// let wf = Workflow::builder("echo").step(echo).build()?;
/// let handler = wf.run(json!({"prompt": "Hello"})).await?;
/// let stop = handler.result().await?;
/// assert_eq!(stop.result, json!({"prompt": "Hello"}));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Workflow {
    inner: Arc<WorkflowInner>,
}

/// The immutable part of a workflow that its runs share.
#[derive(Clone)]
pub(crate) struct WorkflowInner {
    pub(crate) name: String,
    pub(crate) steps: Vec<Step>,
    pub(crate) step_names: Arc<[Arc<str>]>,
    /// Per step, the routing names of the events it waits for inside its body.
    pub(crate) step_waits: Arc<[Box<[Arc<str>]>]>,
    /// The routing names some step waits for (empty for most workflows: the router then
    /// skips waiter delivery entirely).
    pub(crate) waited: std::collections::HashSet<Box<str>>,
    /// Routing name → index into `route_names` / `route_targets`.
    pub(crate) routes: HashMap<Box<str>, u32>,
    pub(crate) route_names: Vec<Arc<str>>,
    pub(crate) route_targets: Vec<Box<[u32]>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) checkpoint: Option<Arc<dyn CheckpointStore>>,
    pub(crate) fingerprint: String,
    /// Values held for the steps (`Context::resource`); not part of snapshots.
    pub(crate) resources: Resources,
    /// The bound of each run's event stream (`None`: unbounded).
    pub(crate) stream_capacity: Option<usize>,
    /// Some step accepts `StepFailed`: a step failing for good is recovered from.
    pub(crate) recovers: bool,
    /// How many step failures one run recovers from (see `WorkflowBuilder::max_recoveries`).
    pub(crate) max_recoveries: u32,
}

/// The default of [`WorkflowBuilder::max_recoveries`].
pub const DEFAULT_MAX_RECOVERIES: u32 = 16;

impl fmt::Debug for Workflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workflow")
            .field("name", &self.inner.name)
            .field("steps", &self.inner.steps)
            .field("timeout", &self.inner.timeout)
            .field("checkpoint", &self.inner.checkpoint)
            .field("resources", &self.inner.resources)
            .finish()
    }
}

impl Workflow {
    /// Starts describing a workflow named `name`.
    pub fn builder(name: impl Into<String>) -> WorkflowBuilder {
        WorkflowBuilder::new(name.into())
    }

    pub(crate) fn from_parts(
        name: String,
        steps: Vec<Step>,
        timeout: Option<Duration>,
        checkpoint: Option<Arc<dyn CheckpointStore>>,
    ) -> Self {
        let step_names: Arc<[Arc<str>]> = steps.iter().map(|s| Arc::from(s.name())).collect();
        let step_waits: Arc<[Box<[Arc<str>]>]> = steps
            .iter()
            .map(|s| {
                s.awaited()
                    .iter()
                    .map(|e| Arc::from(e.name.as_ref()))
                    .collect()
            })
            .collect();
        let waited = steps
            .iter()
            .flat_map(|s| s.awaited())
            .map(|e| e.name.as_ref().into())
            .collect();
        let mut routes: HashMap<Box<str>, u32> = HashMap::new();
        let mut route_names: Vec<Arc<str>> = Vec::new();
        let mut route_targets: Vec<Vec<u32>> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            for accepted in step.accepted() {
                let idx = *routes
                    .entry(accepted.name.as_ref().into())
                    .or_insert_with(|| {
                        route_names.push(Arc::from(accepted.name.as_ref()));
                        route_targets.push(Vec::new());
                        (route_targets.len() - 1) as u32
                    });
                let targets = &mut route_targets[idx as usize];
                if !targets.contains(&(i as u32)) {
                    targets.push(i as u32);
                }
            }
        }
        let fingerprint = crate::persist::fingerprint(&steps);
        let recovers = routes.contains_key(crate::event::StepFailed::EVENT_TYPE);
        Workflow {
            inner: Arc::new(WorkflowInner {
                name,
                steps,
                step_names,
                step_waits,
                waited,
                routes,
                route_names,
                route_targets: route_targets
                    .into_iter()
                    .map(Vec::into_boxed_slice)
                    .collect(),
                timeout,
                checkpoint,
                fingerprint,
                resources: Resources::new(),
                stream_capacity: None,
                recovers,
                max_recoveries: DEFAULT_MAX_RECOVERIES,
            }),
        }
    }

    /// The workflow with each run's event stream bounded to `capacity` unread events (see
    /// [`WorkflowBuilder::stream_capacity`]).
    #[must_use]
    pub fn with_stream_capacity(mut self, capacity: usize) -> Self {
        Arc::make_mut(&mut self.inner).stream_capacity = Some(capacity);
        self
    }

    /// The workflow recovering from at most `n` step failures per run with its
    /// [`StepFailed`](crate::StepFailed) handlers (see
    /// [`WorkflowBuilder::max_recoveries`]).
    #[must_use]
    pub fn with_max_recoveries(mut self, n: u32) -> Self {
        Arc::make_mut(&mut self.inner).max_recoveries = n;
        self
    }

    /// The workflow holding `value` for its steps too, which read it with
    /// [`Context::resource`] (one value per type, replacing one of the same type; see
    /// [`Resources`]). Runs started before keep the resources they started with.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// #[step]
    /// fn answer(ctx: &Context, _ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    ///     Ok(StopEvent::new(json!(*ctx.resource::<u32>()?)))
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let wf = workflow!("answer", [answer]).with_resource(42u32);
    /// assert_eq!(wf.run(json!({})).await?.result().await?.result, json!(42));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_resource<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.inner).resources.insert(value);
        self
    }

    /// The workflow holding all of `resources` for its steps too (see
    /// [`with_resource`](Self::with_resource)).
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Self {
        if !resources.is_empty() {
            Arc::make_mut(&mut self.inner).resources.extend(&resources);
        }
        self
    }

    /// The values this workflow holds for its steps.
    pub fn resources(&self) -> &Resources {
        &self.inner.resources
    }

    /// The workflow's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The workflow's steps, in the order they were added.
    pub fn steps(&self) -> &[Step] {
        &self.inner.steps
    }

    /// The workflow timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.inner.timeout
    }

    /// The graph fingerprint written into this workflow's snapshots (see
    /// [`persist::fingerprint`](crate::persist::fingerprint)).
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    /// The workflow's graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        crate::graph::to_mermaid(&self.inner.name, &self.inner.steps)
    }

    /// Starts a run whose [`StartEvent`] carries `input`; returns its handler at once.
    ///
    /// The run executes in its own Tokio task, so this must be called within a Tokio
    /// runtime ([`WorkflowError::NoRuntime`] otherwise).
    pub async fn run(&self, input: Value) -> Result<WorkflowHandler, WorkflowError> {
        self.start(Launch::new(new_run_id(), input))
    }

    /// Continues a run from its snapshot (from [`WorkflowHandler::pause`] or a store).
    ///
    /// Refused with [`WorkflowError::SnapshotMismatch`] when the snapshot was taken by a
    /// workflow whose steps or events differ. A snapshot of a finished run gives a handler
    /// whose [`result`](WorkflowHandler::result) reports that outcome.
    pub async fn resume(
        &self,
        snapshot: WorkflowSnapshot,
    ) -> Result<WorkflowHandler, WorkflowError> {
        self.resume_owned(snapshot, None)
    }

    /// [`resume`](Self::resume), the run owned by a worker (`owner`) or not.
    pub(crate) fn resume_owned(
        &self,
        snapshot: WorkflowSnapshot,
        owner: Option<Arc<Ownership>>,
    ) -> Result<WorkflowHandler, WorkflowError> {
        snapshot.ensure_compatible(&self.inner.name, &self.inner.fingerprint)?;
        if snapshot.status.is_finished() {
            return Ok(WorkflowHandler::finished(&snapshot));
        }
        let run_id = snapshot.run_id;
        let restored = restore(snapshot, |name| self.step_index(name))?;
        self.start(Launch {
            owner,
            ..Launch::restored(run_id, restored)
        })
    }

    /// Continues run `run_id` from its last snapshot in `store` (e.g. after a crash).
    pub async fn resume_from(
        &self,
        store: &dyn CheckpointStore,
        run_id: Uuid,
    ) -> Result<WorkflowHandler, WorkflowError> {
        let snapshot = store
            .load(run_id)
            .await?
            .ok_or(crate::persist::PersistError::RunNotFound { run_id })?;
        self.resume(snapshot).await
    }

    /// Answers input request `request_id` of run `run_id` stored in `store` and continues
    /// the run (e.g. in a new process).
    pub async fn respond_from(
        &self,
        store: &dyn CheckpointStore,
        run_id: Uuid,
        request_id: Uuid,
        response: Value,
    ) -> Result<WorkflowHandler, WorkflowError> {
        let mut snapshot = store
            .load(run_id)
            .await?
            .ok_or(crate::persist::PersistError::RunNotFound { run_id })?;
        let before = snapshot.input_requests.len();
        snapshot
            .input_requests
            .retain(|r| r.request_id != request_id);
        if snapshot.input_requests.len() == before {
            return Err(WorkflowError::UnknownInputRequest { request_id });
        }
        let answer = InputResponseEvent {
            request_id,
            response,
        };
        snapshot
            .queued
            .push(crate::persist::SerializedEvent::from_event(&answer));
        if snapshot.status == SnapshotStatus::WaitingForInput {
            snapshot.status = SnapshotStatus::Running;
        }
        self.resume(snapshot).await
    }

    /// Starts run `run_id` owned by a worker (`owner`), with a `StartEvent` carrying `input`.
    pub(crate) fn run_owned(
        &self,
        run_id: Uuid,
        input: Value,
        owner: Arc<Ownership>,
    ) -> Result<WorkflowHandler, WorkflowError> {
        self.start(Launch {
            owner: Some(owner),
            ..Launch::new(run_id, input)
        })
    }

    /// The index of the step named `name` (named in a snapshot).
    fn step_index(&self, name: &str) -> Result<u32, WorkflowError> {
        self.inner
            .steps
            .iter()
            .position(|s| s.name() == name)
            .map(|i| i as u32)
            .ok_or_else(|| {
                WorkflowError::msg(format!(
                    "snapshot names step `{name}`, which workflow `{}` does not have",
                    self.inner.name
                ))
            })
    }

    fn start(&self, launch: Launch) -> Result<WorkflowHandler, WorkflowError> {
        let Launch {
            run_id,
            mut state,
            start,
            queued,
            inputs,
            stream_position,
            owner,
        } = launch;
        if owner.is_some() {
            state.record_changes();
        }
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| WorkflowError::NoRuntime)?;
        let (router_tx, router_rx) = mpsc::unbounded_channel::<RouterMsg>();
        let (stream_tx, stream_rx) = mpsc::unbounded_channel();
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let shared = Arc::new(RunShared {
            run_id,
            state: Mutex::new(state),
            router: router_tx.clone(),
            stream: stream_tx,
            stream_position: AtomicU64::new(stream_position),
            durable: self.inner.checkpoint.is_some() || owner.is_some(),
            owner,
            ended: std::sync::atomic::AtomicU8::new(crate::run::ENDED_NOT),
            step_names: Arc::clone(&self.inner.step_names),
            step_waits: Arc::clone(&self.inner.step_waits),
            resources: self.inner.resources.clone(),
            stream_limit: self
                .inner
                .stream_capacity
                .map(|c| Arc::new(StreamLimit::new(c))),
        });
        let inputs = Arc::new(runner::Inputs::new(inputs));
        let mut router = Router::new(
            Arc::clone(&self.inner),
            Arc::clone(&shared),
            router_rx,
            outcome_tx,
            Arc::clone(&inputs),
        );
        router.restore_queued(queued);
        let span = tracing::info_span!("blazen.run", workflow = %self.inner.name, run_id = %run_id);
        runtime.spawn(router.run(start).instrument(span));
        let ctx = Context::new(shared, SENDER_RUN);
        Ok(WorkflowHandler::new(
            run_id, router_tx, stream_rx, outcome_rx, inputs, ctx,
        ))
    }
}

/// What a run starts from.
struct Launch {
    run_id: Uuid,
    state: RunState,
    /// The `StartEvent` of a new run.
    start: Option<Box<dyn Event>>,
    /// Events to queue (restored), each for its step or to route.
    queued: Vec<(Option<u32>, Box<dyn Event>)>,
    inputs: Vec<crate::persist::InputRequest>,
    stream_position: u64,
    owner: Option<Arc<Ownership>>,
}

impl Launch {
    /// A new run with `input` in its `StartEvent`.
    fn new(run_id: Uuid, input: Value) -> Self {
        Launch {
            run_id,
            state: RunState::default(),
            start: Some(Box::new(StartEvent::new(input))),
            queued: Vec::new(),
            inputs: Vec::new(),
            stream_position: 0,
            owner: None,
        }
    }

    /// A run restored from its snapshot.
    fn restored(run_id: Uuid, restored: Restored) -> Self {
        Launch {
            run_id,
            state: restored.state,
            start: None,
            queued: restored.queued,
            inputs: restored.input_requests,
            stream_position: restored.stream_position,
            owner: None,
        }
    }
}

/// A random (version 4) run id without a system call per run: a per-thread SplitMix64
/// generator seeded once from the operating system's randomness (`Uuid::new_v4`). Run ids
/// need uniqueness, not secrecy.
fn new_run_id() -> Uuid {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(Uuid::new_v4().as_u64_pair().0);
    }
    fn splitmix64(state: &Cell<u64>) -> u64 {
        let mut z = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        state.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let (hi, lo) = STATE.with(|s| (splitmix64(s), splitmix64(s)));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_le_bytes());
    bytes[8..].copy_from_slice(&lo.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A finished run's outcome as stored in a snapshot.
pub(crate) fn stored_outcome(snapshot: &WorkflowSnapshot) -> Result<StopEvent, WorkflowError> {
    match snapshot.status {
        SnapshotStatus::Completed => Ok(StopEvent::new(
            snapshot.result.clone().unwrap_or(Value::Null),
        )),
        SnapshotStatus::Cancelled => Err(WorkflowError::Cancelled {
            run_id: snapshot.run_id,
        }),
        _ => Err(WorkflowError::msg(
            snapshot
                .error
                .clone()
                .unwrap_or_else(|| "the run failed".to_owned()),
        )),
    }
}
