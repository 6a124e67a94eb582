//! A run's state and everything that changes it, in one home.
//!
//! - [`state`]: [`RunState`] — context values, fan-in buffers, waits and held events — and
//!   every change of it (collect, start and satisfy a wait, park, complete an execution).
//! - [`snapshot`]: the run as a [`WorkflowSnapshot`](crate::WorkflowSnapshot) and back.
//! - [`stream`]: the bound of the event stream.
//! - [`msg`]: the messages of the router's channel and the stream's items.
//!
//! [`RunShared`] is what the contexts, the router and the handler of one run share.
//! `Context` is a facade over it; the router (`workflow::runner`) only schedules.
//! Layers: `event` ← `run` ← `context` ← `workflow`; nothing here imports `context` or
//! `workflow`.

pub(crate) mod msg;
pub(crate) mod owner;
pub(crate) mod snapshot;
pub(crate) mod state;
pub(crate) mod stream;

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::event::Event;
use crate::resources::Resources;
use crate::sync::lock;
use msg::{RouterMsg, StreamMsg};
use state::RunState;
use stream::StreamLimit;

/// What the contexts, the router and the handler of one run share.
pub(crate) struct RunShared {
    pub(crate) run_id: Uuid,
    pub(crate) state: Mutex<RunState>,
    pub(crate) router: mpsc::UnboundedSender<RouterMsg>,
    pub(crate) stream: mpsc::UnboundedSender<StreamMsg>,
    /// How many events were written to the stream (the snapshot's stream position).
    pub(crate) stream_position: AtomicU64,
    /// The workflow's step names (for error messages).
    pub(crate) step_names: Arc<[Arc<str>]>,
    /// Per step, the routing names of the events it declares it waits for.
    pub(crate) step_waits: Arc<[Box<[Arc<str>]>]>,
    /// The workflow's resources.
    pub(crate) resources: Resources,
    /// The bound of the event stream, when the workflow sets one.
    pub(crate) stream_limit: Option<Arc<StreamLimit>>,
    /// The run saves checkpoints (fan-in buffers then remember which execution buffered
    /// each event).
    pub(crate) durable: bool,
    /// The run is owned by a worker through a lease: its checkpoints are journal entries.
    pub(crate) owner: Option<Arc<owner::Ownership>>,
    /// How the run ended, once it has (`ENDED_*`).
    pub(crate) ended: AtomicU8,
}

/// [`RunShared::ended`]: the run goes on.
pub(crate) const ENDED_NOT: u8 = 0;
/// [`RunShared::ended`]: the run completed with a `StopEvent`.
const ENDED_COMPLETED: u8 = 1;
/// [`RunShared::ended`]: the run failed, was cancelled, paused or detached.
const ENDED_OTHERWISE: u8 = 2;

impl fmt::Debug for RunShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunShared")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl RunShared {
    /// Publishes `event` on the run's stream (counted in the stream position). With a bound,
    /// a `droppable` event that does not fit is counted by a lag marker instead.
    pub(crate) fn publish(&self, event: Box<dyn Event>, droppable: bool) {
        let position = self.stream_position.fetch_add(1, Ordering::Relaxed);
        if let Some(owner) = &self.owner {
            owner.log_stream(position, &*event);
        }
        // After the handler (and its stream) is gone, there is no reader: sends may fail.
        match &self.stream_limit {
            None => {
                let _ = self.stream.send(StreamMsg::Event(event));
            }
            Some(limit) if droppable => limit.publish(&self.stream, event),
            Some(limit) => limit.publish_always(&self.stream, event),
        }
    }

    /// The run's state, locked (see [`lock`]).
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, RunState> {
        lock(&self.state)
    }
}

impl RunShared {
    /// The shared part of a run that does not run: state works, sends and stream writes go
    /// nowhere (`Context::detached`).
    pub(crate) fn detached(resources: Resources) -> Self {
        let (router, _) = mpsc::unbounded_channel();
        let (stream, _) = mpsc::unbounded_channel();
        RunShared {
            run_id: Uuid::new_v4(),
            state: Mutex::new(RunState::default()),
            router,
            stream,
            stream_position: AtomicU64::new(0),
            step_names: Arc::from(Vec::<Arc<str>>::new()),
            step_waits: Arc::from(Vec::<Box<[Arc<str>]>>::new()),
            resources,
            stream_limit: None,
            durable: false,
            owner: None,
            ended: AtomicU8::new(ENDED_NOT),
        }
    }

    /// The run is over: `completed` with a `StopEvent`, or otherwise.
    pub(crate) fn set_ended(&self, completed: bool) {
        let how = if completed {
            ENDED_COMPLETED
        } else {
            ENDED_OTHERWISE
        };
        self.ended.store(how, Ordering::Release);
    }

    /// Whether the run is over.
    pub(crate) fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire) != ENDED_NOT
    }

    /// Whether the run completed with a `StopEvent`.
    pub(crate) fn completed(&self) -> bool {
        self.ended.load(Ordering::Acquire) == ENDED_COMPLETED
    }

    /// The name of step `step` (`"run"` for the run itself).
    pub(crate) fn step_name(&self, step: u32) -> &str {
        match self.step_names.get(step as usize) {
            Some(name) => name,
            None => "run",
        }
    }

    /// Whether step `step` declares that it waits for `event_type`.
    pub(crate) fn declares_wait(&self, step: u32, event_type: &str) -> bool {
        self.step_waits
            .get(step as usize)
            .is_some_and(|waits| waits.iter().any(|w| **w == *event_type))
    }

    /// Whether step `step` declares a wait (its executions can be in flight at a pause).
    pub(crate) fn may_wait(&self, step: u32) -> bool {
        self.step_waits
            .get(step as usize)
            .is_some_and(|waits| !waits.is_empty())
    }
}
