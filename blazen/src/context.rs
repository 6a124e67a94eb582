//! The per-run context handed to every step.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::event::{downcast_event, DynamicEvent, Event, TypedEvent};
use crate::persist::SerializedEvent;
use crate::resources::Resources;
use crate::workflow::runner::{RouterMsg, StreamMsg};

/// One value stored in the context.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StateValue {
    /// Stored with [`Context::set`].
    Json(Value),
    /// Stored with [`Context::set_bytes`].
    Bytes(Vec<u8>),
}

/// The key of a fan-in buffer: the collecting step's index and the event type.
pub(crate) type FanInKey = (u32, Cow<'static, str>);

/// A fan-in batch handed to a running step execution: its buffer, and each event with the
/// execution that buffered it.
pub(crate) type TakenBatch = (FanInKey, Vec<(u64, SerializedEvent)>);

/// Everything a run keeps in its context; it lives in the run, so snapshots serialise it.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    /// `set`/`set_bytes` values.
    pub(crate) values: HashMap<String, StateValue>,
    /// Fan-in buffers of [`Context::collect_events`], keyed by (collecting step, event type).
    pub(crate) collect: HashMap<FanInKey, FanIn>,
    /// Only when the run checkpoints or the collecting step may wait: the batches
    /// `collect_events` handed to step executions still running, by execution, each event with the execution that buffered it. A
    /// checkpoint puts them back in their buffers (the execution is in flight: after a
    /// crash it runs again and must find its batch); the router drops them when the
    /// execution completes.
    pub(crate) taken: HashMap<u64, Vec<TakenBatch>>,
    /// Step executions waiting in [`Context::wait_for_event`], oldest first.
    pub(crate) waiters: Vec<Waiter>,
    /// Waited-for events that arrived while no waiter took them, oldest first: the next
    /// fitting wait takes them. Part of snapshots.
    pub(crate) parked: std::collections::VecDeque<Box<dyn Event>>,
    /// A copy of each event a wait took, with the execution that took it, in delivery
    /// order; the router drops an execution's copies when it completes. A snapshot holds the
    /// copies of the executions still in flight: they run again from their start on resume
    /// and wait for those events again.
    pub(crate) wait_taken: Vec<(u64, Box<dyn Event>)>,
}

/// Which events a waiter takes, beyond their type.
type WaitFilter = Box<dyn Fn(&dyn Event) -> bool + Send>;

/// One step execution waiting for an event.
pub(crate) struct Waiter {
    /// The waiting execution.
    pub(crate) exec: u64,
    pub(crate) event_type: &'static str,
    filter: Option<WaitFilter>,
    tx: oneshot::Sender<Box<dyn Event>>,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("exec", &self.exec)
            .field("event_type", &self.event_type)
            .finish_non_exhaustive()
    }
}

impl Waiter {
    fn takes(&self, ev: &dyn Event) -> bool {
        self.event_type == ev.event_type() && self.filter.as_ref().is_none_or(|f| f(ev))
    }

    /// Whether the execution still waits (its wait was not dropped: the step did not time
    /// out or get aborted).
    pub(crate) fn is_waiting(&self) -> bool {
        !self.tx.is_closed()
    }
}

impl RunState {
    /// Hands `ev` to the oldest waiter that takes it (the waiting execution), or gives it
    /// back if none does.
    pub(crate) fn deliver(&mut self, mut ev: Box<dyn Event>) -> Result<u64, Box<dyn Event>> {
        let mut i = 0;
        while i < self.waiters.len() {
            if !self.waiters[i].is_waiting() {
                self.waiters.remove(i);
                continue;
            }
            if !self.waiters[i].takes(&*ev) {
                i += 1;
                continue;
            }
            let waiter = self.waiters.remove(i);
            let copy = ev.clone_event();
            match waiter.tx.send(ev) {
                Ok(()) => {
                    self.wait_taken.push((waiter.exec, copy));
                    return Ok(waiter.exec);
                }
                // The wait ended meanwhile: the next waiter may take it.
                Err(back) => ev = back,
            }
        }
        Err(ev)
    }
}

/// One fan-in buffer.
pub(crate) enum FanIn {
    /// Restored from a snapshot: decoded into the step's type at its next `collect_events`.
    Restored(Vec<Box<dyn Event>>),
    /// Events of one type `E`, unboxed: a `Vec<E>` (one allocation for the whole batch).
    Typed {
        events: Box<dyn Any + Send>,
        len: usize,
        /// Serializes the `Vec<E>` for a snapshot.
        store: fn(&(dyn Any + Send)) -> Vec<SerializedEvent>,
        /// Only when the run checkpoints or the step may wait: the execution that buffered
        /// each event (0: restored from a snapshot).
        execs: Vec<u64>,
    },
}

impl fmt::Debug for FanIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanIn").field("len", &self.len()).finish()
    }
}

impl FanIn {
    pub(crate) fn len(&self) -> usize {
        match self {
            FanIn::Restored(evs) => evs.len(),
            FanIn::Typed { len, .. } => *len,
        }
    }

    /// The buffered events in their stored form, each with the step execution that buffered
    /// it (0 when unknown: restored, or the run does not checkpoint).
    pub(crate) fn stored(&self) -> Vec<(u64, SerializedEvent)> {
        match self {
            FanIn::Restored(evs) => evs
                .iter()
                .map(|e| (0, SerializedEvent::from_event(&**e)))
                .collect(),
            FanIn::Typed {
                events,
                store,
                execs,
                ..
            } => {
                let execs = execs.iter().copied().chain(std::iter::repeat(0));
                execs.zip(store(&**events)).collect()
            }
        }
    }
}

fn store_typed<E: TypedEvent>(events: &(dyn Any + Send)) -> Vec<SerializedEvent> {
    match events.downcast_ref::<Vec<E>>() {
        Some(events) => events
            .iter()
            .map(|e| SerializedEvent::from_event(e))
            .collect(),
        None => Vec::new(),
    }
}

/// The bound of a run's event stream (see `WorkflowBuilder::stream_capacity`): how many
/// events may wait unread, and the lag marker of the overflow going on.
#[derive(Debug)]
pub(crate) struct StreamLimit {
    capacity: usize,
    /// Events sent and not yet read.
    pending: AtomicUsize,
    /// The marker of the overflow going on, if any: writers count missed events into it while
    /// the reader is behind; the reader closes it when it reaches it.
    open: Mutex<Option<Arc<AtomicU64>>>,
}

impl StreamLimit {
    pub(crate) fn new(capacity: usize) -> Self {
        StreamLimit {
            capacity: capacity.max(1),
            pending: AtomicUsize::new(0),
            open: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<AtomicU64>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `event`, or counts it as missed when the reader is `capacity` events behind (the
    /// first miss of an overflow puts a marker in the stream at that point).
    pub(crate) fn publish(&self, tx: &mpsc::UnboundedSender<StreamMsg>, event: Box<dyn Event>) {
        let mut open = self.lock();
        if self.pending.load(Ordering::Acquire) < self.capacity {
            *open = None;
            self.pending.fetch_add(1, Ordering::AcqRel);
            let _ = tx.send(StreamMsg::Event(event));
            return;
        }
        match open.as_ref() {
            Some(missed) => {
                missed.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                let missed = Arc::new(AtomicU64::new(1));
                let _ = tx.send(StreamMsg::Lagged(Arc::clone(&missed)));
                *open = Some(missed);
            }
        }
    }

    /// Sends `event` whatever the bound (input requests: never dropped).
    pub(crate) fn publish_always(
        &self,
        tx: &mpsc::UnboundedSender<StreamMsg>,
        event: Box<dyn Event>,
    ) {
        let _open = self.lock();
        self.pending.fetch_add(1, Ordering::AcqRel);
        let _ = tx.send(StreamMsg::Event(event));
    }

    /// The reader took an event.
    pub(crate) fn took_event(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// The reader reached a marker: how many events it stands for (later misses need a new
    /// marker, after the events sent since).
    pub(crate) fn took_marker(&self, marker: &Arc<AtomicU64>) -> u64 {
        let mut open = self.lock();
        if open.as_ref().is_some_and(|m| Arc::ptr_eq(m, marker)) {
            *open = None;
        }
        marker.load(Ordering::Relaxed)
    }
}

/// What the contexts of one run share.
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
}

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
        self.stream_position.fetch_add(1, Ordering::Relaxed);
        // After the handler (and its stream) is gone, there is no reader: sends may fail.
        match &self.stream_limit {
            None => {
                let _ = self.stream.send(StreamMsg::Event(event));
            }
            Some(limit) if droppable => limit.publish(&self.stream, event),
            Some(limit) => limit.publish_always(&self.stream, event),
        }
    }

    pub(crate) fn lock_state(&self) -> MutexGuard<'_, RunState> {
        // A panic while the lock was held leaves the maps intact (each operation is a single
        // insert/remove), so a poisoned lock is recovered rather than failing every later step.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The per-run context: typed state, event sending, stream writing and the run id.
///
/// Every step receives the run's context as its first parameter. It is cheap to clone (one
/// reference count) and all its methods are synchronous. Everything stored with
/// [`set`](Self::set) and [`set_bytes`](Self::set_bytes) lives in the run and is part of its
/// snapshot, so it survives pause, resume and checkpoints.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::{EventInfo, StepOutput};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), WorkflowError> {
/// let remember = Step::new("remember", |ctx: Context, ev| async move {
///     ctx.set("seen", &ev.event_type())?;
///     ctx.set_bytes("blob", vec![1, 2, 3]);
///     let seen: Option<String> = ctx.get("seen")?;
///     assert_eq!(ctx.get_bytes("blob"), Some(vec![1, 2, 3]));
///     Ok(StepOutput::Single(Box::new(StopEvent::new(json!(seen)))))
/// })
/// .accepts(EventInfo::of::<StartEvent>())
/// .emits(EventInfo::of::<StopEvent>());
///
/// let wf = Workflow::builder("remember").step(remember).build()?;
/// let stop = wf.run(json!({})).await?.result().await?;
/// assert_eq!(stop.result, json!("blazen::StartEvent"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Context {
    shared: Arc<RunShared>,
    /// The index of the step this context was handed to, or `SENDER_RUN`.
    step: u32,
    /// The step execution this context was handed to (from 1; 0 for the run's own).
    exec: u64,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("run_id", &self.shared.run_id)
            .field("step", &self.step_name())
            .finish()
    }
}

impl Context {
    pub(crate) fn new(shared: Arc<RunShared>, step: u32) -> Self {
        Context {
            shared,
            step,
            exec: 0,
        }
    }

    /// What the run's contexts share.
    pub(crate) fn shared(&self) -> &Arc<RunShared> {
        &self.shared
    }

    /// The context of step execution `exec`.
    pub(crate) fn with_exec(mut self, exec: u64) -> Self {
        self.exec = exec;
        self
    }

    /// A context attached to no run, to call step functions directly (e.g. in unit tests).
    ///
    /// State works as in a run; events sent with [`send_event`](Self::send_event) or written
    /// to the stream go nowhere.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// let ctx = Context::detached();
    /// ctx.set("n", &3)?;
    /// assert_eq!(ctx.get::<u32>("n")?, Some(3));
    /// ctx.send_event(StopEvent::default()); // dropped
    /// # Ok::<(), WorkflowError>(())
    /// ```
    pub fn detached() -> Self {
        Self::detached_with(Resources::new())
    }

    /// A detached context (see [`detached`](Self::detached)) whose
    /// [`resource`](Self::resource) calls find `resources`: to unit-test a step that uses a
    /// model or a client.
    pub fn detached_with(resources: Resources) -> Self {
        let (router, _) = mpsc::unbounded_channel();
        let (stream, _) = mpsc::unbounded_channel();
        let shared = RunShared {
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
        };
        Context::new(Arc::new(shared), u32::MAX)
    }

    pub(crate) fn step_name(&self) -> &str {
        match self.shared.step_names.get(self.step as usize) {
            Some(name) => name,
            None => "run",
        }
    }

    /// Stores `value` under `key` as JSON (replacing what was there).
    ///
    /// Fails only if `value` cannot be represented as JSON (e.g. a map with non-string keys).
    pub fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), WorkflowError> {
        let json = serde_json::to_value(value).map_err(|source| WorkflowError::State {
            key: key.to_owned(),
            source,
        })?;
        self.shared
            .lock_state()
            .values
            .insert(key.to_owned(), StateValue::Json(json));
        Ok(())
    }

    /// The value stored under `key`, deserialized into `T`; `None` if nothing is stored.
    ///
    /// A value stored with [`set_bytes`](Self::set_bytes) reads as a JSON array of numbers
    /// (so `get::<Vec<u8>>` works on it). Fails if the stored value does not fit `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, WorkflowError> {
        let json = match self.shared.lock_state().values.get(key) {
            None => return Ok(None),
            Some(StateValue::Json(v)) => v.clone(),
            Some(StateValue::Bytes(b)) => Value::Array(b.iter().map(|&x| x.into()).collect()),
        };
        serde_json::from_value(json)
            .map(Some)
            .map_err(|source| WorkflowError::State {
                key: key.to_owned(),
                source,
            })
    }

    /// Reads, changes and stores the value under `key` in one step, so that concurrent
    /// step instances do not lose each other's updates (a `get` then a `set` can interleave
    /// with another instance's). `f` receives the current value (`None` if unset) and returns
    /// the new one, which `update` also returns. `f` runs while the run's state is locked: it
    /// must not use the context itself.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// let ctx = Context::detached();
    /// let seen = ctx.update("seen", |n: Option<u32>| n.unwrap_or(0) + 1)?;
    /// assert_eq!(seen, 1);
    /// assert_eq!(ctx.update("seen", |n: Option<u32>| n.unwrap_or(0) + 1)?, 2);
    /// # Ok::<(), WorkflowError>(())
    /// ```
    pub fn update<T, F>(&self, key: &str, f: F) -> Result<T, WorkflowError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(Option<T>) -> T,
    {
        let state_err = |source| WorkflowError::State {
            key: key.to_owned(),
            source,
        };
        let mut state = self.shared.lock_state();
        let current = match state.values.get(key) {
            None => None,
            Some(StateValue::Json(v)) => Some(T::deserialize(v).map_err(state_err)?),
            Some(StateValue::Bytes(b)) => {
                let json = Value::Array(b.iter().map(|&x| x.into()).collect());
                Some(serde_json::from_value(json).map_err(state_err)?)
            }
        };
        let new = f(current);
        let json = serde_json::to_value(&new).map_err(state_err)?;
        state.values.insert(key.to_owned(), StateValue::Json(json));
        Ok(new)
    }

    /// The raw JSON value stored under `key`.
    pub fn get_json(&self, key: &str) -> Option<Value> {
        match self.shared.lock_state().values.get(key) {
            Some(StateValue::Json(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// Stores raw binary data under `key` (replacing what was there).
    pub fn set_bytes(&self, key: &str, bytes: impl Into<Vec<u8>>) {
        self.shared
            .lock_state()
            .values
            .insert(key.to_owned(), StateValue::Bytes(bytes.into()));
    }

    /// The binary data stored under `key` with [`set_bytes`](Self::set_bytes), if any.
    pub fn get_bytes(&self, key: &str) -> Option<Vec<u8>> {
        match self.shared.lock_state().values.get(key) {
            Some(StateValue::Bytes(b)) => Some(b.clone()),
            _ => None,
        }
    }

    /// Removes the value stored under `key`; whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        self.shared.lock_state().values.remove(key).is_some()
    }

    /// The workflow's resource of type `T` (a model, a client, a pool), given with
    /// [`WorkflowBuilder::resource`](crate::WorkflowBuilder::resource) or
    /// [`Workflow::with_resource`](crate::Workflow::with_resource); see
    /// [`Resources`]. Fails with [`WorkflowError::MissingResource`] naming the step and the
    /// type if the workflow holds none.
    pub fn resource<T: Any + Send + Sync>(&self) -> Result<&T, WorkflowError> {
        self.shared
            .resources
            .get::<T>()
            .ok_or_else(|| self.missing_resource::<T>())
    }

    /// The workflow's resource of type `T` as a shared pointer, to keep beyond the step
    /// (e.g. in a spawned task); see [`resource`](Self::resource).
    pub fn resource_arc<T: Any + Send + Sync>(&self) -> Result<Arc<T>, WorkflowError> {
        self.shared
            .resources
            .get_arc::<T>()
            .ok_or_else(|| self.missing_resource::<T>())
    }

    fn missing_resource<T>(&self) -> WorkflowError {
        WorkflowError::MissingResource {
            step: self.step_name().to_owned(),
            resource: std::any::type_name::<T>(),
        }
    }

    /// The id of the run.
    pub fn run_id(&self) -> Uuid {
        self.shared.run_id
    }

    /// Routes `event` to every step that accepts it.
    ///
    /// An event that no step accepts fails the run with
    /// [`WorkflowError::UnroutedEvent`] naming the event and this step. Sending a
    /// `StopEvent` ends the run with it.
    pub fn send_event(&self, event: impl Event) {
        self.send_boxed(Box::new(event));
    }

    /// Routes an already boxed event (see [`send_event`](Self::send_event)).
    pub fn send_boxed(&self, event: Box<dyn Event>) {
        // After the run has finished the router is gone; the event has nowhere to go.
        let _ = self.shared.router.send(RouterMsg::Send {
            event,
            sender: self.step,
        });
    }

    /// Publishes `event` to the run's [`stream_events`](crate::workflow::WorkflowHandler::stream_events).
    pub fn write_event_to_stream(&self, event: impl Event) {
        self.write_boxed_to_stream(Box::new(event));
    }

    /// Publishes an already boxed event to the run's stream.
    pub fn write_boxed_to_stream(&self, event: Box<dyn Event>) {
        self.shared.publish(event, true);
    }

    /// Fan-in: buffers `event` and returns all `n` buffered events of type `E` once `n`
    /// have arrived at this step, `None` before.
    ///
    /// Call it from the step that accepts `E` with each event it receives; the step runs
    /// once per event and the last call gets the whole batch (in arrival order), after which
    /// the buffer starts again empty. Cost is linear in `n`. Buffers belong to the run (and
    /// its snapshots), one per collecting step and event type.
    ///
    /// ```
    /// use blazen::prelude::*;
    /// use blazen::event::downcast_event;
    /// use blazen::StepOutput;
    ///
    /// // A hand-built collector step: emits StopEvent when 3 StartEvents have arrived.
    /// let step = Step::new("collect", |ctx, ev| async move {
    ///     let ev: StartEvent = downcast_event(ev)?;
    ///     Ok(match ctx.collect_events(ev, 3) {
    ///         Some(all) => StepOutput::Single(Box::new(StopEvent::new(json!(all.len())))),
    ///         None => StepOutput::None,
    ///     })
    /// });
    /// # let _ = step;
    /// ```
    pub fn collect_events<E: TypedEvent>(&self, event: E, n: usize) -> Option<Vec<E>> {
        let mut state = self.shared.lock_state();
        // Which execution buffered or took each event matters when an execution may still
        // be in flight at a snapshot: in a checkpointing run, or in a step that may wait
        // (a pause keeps it in flight). See `RunState::taken`.
        let durable = self.shared.durable || self.may_wait();
        let key = (self.step, Cow::Borrowed(E::EVENT_TYPE));
        let buffer = state.collect.entry(key).or_insert_with(|| FanIn::Typed {
            events: Box::new(Vec::<E>::new()),
            len: 0,
            store: store_typed::<E>,
            execs: Vec::new(),
        });
        if let FanIn::Restored(restored) = buffer {
            // Events restored from a snapshot come back as `DynamicEvent`s: decode them once.
            // (They were serialized from an `E`, so decoding fails only for a snapshot edited
            // by hand; such events are dropped.)
            let typed: Vec<E> = std::mem::take(restored)
                .into_iter()
                .filter_map(|ev| downcast_event::<E>(ev).ok())
                .collect();
            *buffer = FanIn::Typed {
                len: typed.len(),
                execs: if durable {
                    vec![0; typed.len()]
                } else {
                    Vec::new()
                },
                events: Box::new(typed),
                store: store_typed::<E>,
            };
        }
        let FanIn::Typed {
            events,
            len,
            store,
            execs,
        } = buffer
        else {
            return None;
        };
        let Some(vec) = events.downcast_mut::<Vec<E>>() else {
            // Keys include the event type's name, so only two types sharing one routing name
            // (a graph clash) can get here.
            return None;
        };
        vec.push(event);
        *len = vec.len();
        if durable {
            execs.push(self.exec);
        }
        if vec.len() < n {
            return None;
        }
        let batch = std::mem::take(vec);
        let (store, execs) = (*store, std::mem::take(execs));
        let key = (self.step, Cow::Borrowed(E::EVENT_TYPE));
        state.collect.remove(&key);
        if durable && self.exec != 0 {
            // Kept until this execution completes, for checkpoints taken meanwhile.
            let stored = execs.into_iter().zip(store(&batch)).collect();
            state
                .taken
                .entry(self.exec)
                .or_default()
                .push((key, stored));
        }
        Some(batch)
    }

    /// Waits, inside the step, for the next event of type `E` sent in the run (by another
    /// step's [`send_event`](Self::send_event) or from outside with
    /// [`WorkflowHandler::send_event`](crate::workflow::WorkflowHandler::send_event)).
    ///
    /// The step declares what it waits for (`#[step(waits_for = [E])]`, or
    /// [`Step::waits_for`](crate::Step::waits_for)); an undeclared wait fails with
    /// [`WorkflowError::UndeclaredWait`]. An event of a waited-for type goes to the oldest
    /// waiting execution instead of being routed; one that arrives while nobody waits is
    /// held for the next wait (so the order of send and wait does not matter), or routed
    /// as usual if a step accepts it.
    ///
    /// Durability: a waiting step is in flight. [`pause`](crate::workflow::WorkflowHandler::pause)
    /// does not wait for it: the snapshot holds its input event (and the held events), and
    /// after resume the step runs again from its start and waits again — code before the
    /// wait runs twice (at-least-once, as after a crash). The step's timeout bounds the
    /// wait; a run whose steps all wait ends only by an event from outside, a pause or the
    /// workflow timeout.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// struct Approval {
    ///     approved: bool,
    /// }
    ///
    /// #[step(waits_for = [Approval])]
    /// async fn publish(ctx: &Context, ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    ///     let approval: Approval = ctx.wait_for_event().await?;
    ///     Ok(StopEvent::new(json!({ "published": approval.approved, "draft": ev.data })))
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let wf = workflow!("publish", [publish]);
    /// let handler = wf.run(json!("post")).await?;
    /// handler.send_event(Approval { approved: true })?;
    /// let stop = handler.result().await?;
    /// assert_eq!(stop.result, json!({ "published": true, "draft": "post" }));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_event<E: TypedEvent>(&self) -> Result<E, WorkflowError> {
        self.wait(None::<fn(&E) -> bool>).await
    }

    /// Like [`wait_for_event`](Self::wait_for_event), for the next event of type `E` that
    /// `filter` accepts (e.g. the answer carrying this request's id). Events of type `E` it
    /// rejects stay for other waits or steps.
    pub async fn wait_for_event_matching<E, F>(&self, filter: F) -> Result<E, WorkflowError>
    where
        E: TypedEvent,
        F: Fn(&E) -> bool + Send + Sync + 'static,
    {
        self.wait(Some(filter)).await
    }

    async fn wait<E, F>(&self, filter: Option<F>) -> Result<E, WorkflowError>
    where
        E: TypedEvent,
        F: Fn(&E) -> bool + Send + Sync + 'static,
    {
        let declared = self
            .shared
            .step_waits
            .get(self.step as usize)
            .is_some_and(|waits| waits.iter().any(|w| **w == *E::EVENT_TYPE));
        if !declared {
            return Err(WorkflowError::UndeclaredWait {
                step: self.step_name().to_owned(),
                event: E::EVENT_TYPE.to_owned(),
            });
        }
        let filter: Option<WaitFilter> = filter.map(|f| {
            Box::new(move |ev: &dyn Event| match ev.downcast_ref::<E>() {
                Some(e) => f(e),
                // Sent from outside as JSON, or restored from a snapshot.
                None if ev.is::<DynamicEvent>() => {
                    serde_json::from_value::<E>(ev.to_json()).is_ok_and(|e| f(&e))
                }
                None => false,
            }) as WaitFilter
        });
        let rx = {
            let mut state = self.shared.lock_state();
            let held = state.parked.iter().position(|ev| {
                ev.event_type() == E::EVENT_TYPE && filter.as_ref().is_none_or(|f| f(&**ev))
            });
            if let Some(ev) = held.and_then(|i| state.parked.remove(i)) {
                state.wait_taken.push((self.exec, ev.clone_event()));
                drop(state);
                return downcast_event(ev);
            }
            let (tx, rx) = oneshot::channel();
            state.waiters.push(Waiter {
                exec: self.exec,
                event_type: E::EVENT_TYPE,
                filter,
                tx,
            });
            rx
        };
        // Waking the router lets it see that every running step may now be waiting.
        let _ = self
            .shared
            .router
            .send(RouterMsg::Waiting { exec: self.exec });
        match rx.await {
            Ok(ev) => downcast_event(ev),
            Err(_) => Err(WorkflowError::WaitAbandoned {
                step: self.step_name().to_owned(),
                event: E::EVENT_TYPE.to_owned(),
            }),
        }
    }

    /// Whether this step declares a wait (its executions can be in flight at a pause).
    fn may_wait(&self) -> bool {
        self.shared
            .step_waits
            .get(self.step as usize)
            .is_some_and(|waits| !waits.is_empty())
    }

    /// How many events of type `E` this step has buffered with
    /// [`collect_events`](Self::collect_events).
    pub fn collected_count<E: TypedEvent>(&self) -> usize {
        let key = (self.step, Cow::Borrowed(E::EVENT_TYPE));
        self.shared
            .lock_state()
            .collect
            .get(&key)
            .map_or(0, FanIn::len)
    }
}
