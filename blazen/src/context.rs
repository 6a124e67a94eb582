//! The per-run context handed to every step.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::choice::EventChoice;
use crate::error::WorkflowError;
use crate::event::{downcast_event, DynamicEvent, Event, TypedEvent};
use crate::resources::Resources;
use crate::run::msg::{RouterMsg, SENDER_RUN};
use crate::run::state::{StateValue, WaitFilter, WaitStart};
use crate::run::RunShared;

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
    /// The attempt of the execution (1 on the first try; see `RetryPolicy`).
    attempt: u32,
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
            attempt: 1,
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

    /// The context of attempt `attempt` of its execution.
    pub(crate) fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// Which attempt of the step this is: 1 on the first try, then 2, 3, … when the step's
    /// [`RetryPolicy`](crate::RetryPolicy) runs it again (the count survives a crash in a
    /// checkpointing run).
    ///
    /// ```
    /// use blazen::prelude::*;
    /// assert_eq!(Context::detached().attempt(), 1);
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
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
        Context::new(Arc::new(RunShared::detached(resources)), SENDER_RUN)
    }

    pub(crate) fn step_name(&self) -> &str {
        self.shared.step_name(self.step)
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
            .set_value(key, StateValue::Json(json));
        Ok(())
    }

    /// The value stored under `key`, deserialized into `T`; `None` if nothing is stored, or
    /// if JSON `null` is (e.g. a `None` was set).
    ///
    /// A value stored with [`set_bytes`](Self::set_bytes) reads as a JSON array of numbers
    /// (so `get::<Vec<u8>>` works on it). Fails if the stored value does not fit `T`.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// let ctx = Context::detached();
    /// ctx.set("k", &None::<String>)?;
    /// assert_eq!(ctx.get::<String>("k")?, None);
    /// # Ok::<(), WorkflowError>(())
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, WorkflowError> {
        let json = match self.shared.lock_state().value_json(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(json) => json,
        };
        serde_json::from_value(json)
            .map(Some)
            .map_err(|source| WorkflowError::State {
                key: key.to_owned(),
                source,
            })
    }

    /// The value stored under `key` (as [`get`](Self::get) reads it), or `default` when
    /// there is none.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// let ctx = Context::detached();
    /// assert_eq!(ctx.get_or("retries", 3u32)?, 3);
    /// ctx.set("retries", &5u32)?;
    /// assert_eq!(ctx.get_or("retries", 3u32)?, 5);
    /// # Ok::<(), WorkflowError>(())
    /// ```
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, WorkflowError> {
        Ok(self.get(key)?.unwrap_or(default))
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
        let current = match state.value(key) {
            None => None,
            Some(StateValue::Json(v)) => Some(T::deserialize(v).map_err(state_err)?),
            Some(bytes) => Some(serde_json::from_value(bytes.to_json()).map_err(state_err)?),
        };
        let new = f(current);
        let json = serde_json::to_value(&new).map_err(state_err)?;
        state.set_value(key, StateValue::Json(json));
        Ok(new)
    }

    /// The raw JSON value stored under `key`.
    pub fn get_json(&self, key: &str) -> Option<Value> {
        match self.shared.lock_state().value(key) {
            Some(StateValue::Json(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// Stores raw binary data under `key` (replacing what was there).
    pub fn set_bytes(&self, key: &str, bytes: impl Into<Vec<u8>>) {
        self.shared
            .lock_state()
            .set_value(key, StateValue::Bytes(bytes.into()));
    }

    /// The binary data stored under `key` with [`set_bytes`](Self::set_bytes), if any.
    pub fn get_bytes(&self, key: &str) -> Option<Vec<u8>> {
        match self.shared.lock_state().value(key) {
            Some(StateValue::Bytes(b)) => Some(b.clone()),
            _ => None,
        }
    }

    /// Removes the value stored under `key`; whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        self.shared.lock_state().remove_value(key)
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
    /// the buffer starts again empty (`n == 0` returns an empty batch at once, without
    /// buffering `event`). Cost is linear in `n`. Buffers belong to the run (and
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
        // A typed event is a choice of one event type.
        self.collect_any::<E>(event, n)
    }

    /// Fan-in over several event types: buffers `event` (an `A` or a `B` of a step accepting
    /// both) and returns all `n` buffered events once `n` have arrived at this step, in
    /// arrival order whatever their type, `None` before.
    ///
    /// `S` is a choice of events, [`Either<A, B>`](crate::Either) or
    /// [`OneOf3<A, B, C>`](crate::OneOf3): the step takes it as its event parameter and
    /// passes it on. One buffer holds every type of the choice; like
    /// [`collect_events`](Self::collect_events) it belongs to the run and its snapshots, and
    /// `n == 0` returns an empty batch at once.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// struct Vote { yes: bool }
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// struct Abstain;
    ///
    /// #[step]
    /// fn ballot(_ev: StartEvent) -> Vec<Either<Vote, Abstain>> {
    ///     vec![Either::Left(Vote { yes: true }), Either::Right(Abstain), Either::Left(Vote { yes: false })]
    /// }
    ///
    /// #[step]
    /// fn count(ctx: &Context, ev: Either<Vote, Abstain>) -> Option<StopEvent> {
    ///     let all = ctx.collect_any(ev, 3)?;
    ///     let yes = all.iter().filter(|v| matches!(v, Either::Left(Vote { yes: true }))).count();
    ///     Some(StopEvent::new(json!({ "yes": yes, "votes": all.len() })))
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let wf = workflow!("ballot", [ballot, count]);
    /// let stop = wf.run(json!({})).await?.result().await?;
    /// assert_eq!(stop.result, json!({ "yes": 1, "votes": 3 }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn collect_any<S: EventChoice>(&self, event: impl Into<S>, n: usize) -> Option<Vec<S>> {
        if n == 0 {
            return Some(Vec::new());
        }
        // Which execution buffered or took each event matters when an execution may still
        // be in flight at a snapshot: in a checkpointing run, or in a step that may wait
        // (a pause keeps it in flight). See `RunState::taken`.
        let durable = self.shared.durable || self.shared.may_wait(self.step);
        self.shared
            .lock_state()
            .collect(self.step, self.exec, durable, event.into(), n)
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
        self.wait(None::<fn(&E) -> bool>, None).await
    }

    /// Like [`wait_for_event`](Self::wait_for_event), giving up after `timeout` with
    /// [`WorkflowError::WaitTimeout`], which the step may handle (the step's own timeout
    /// and the workflow's still apply). An event that arrives after the wait gave up stays
    /// for the next wait.
    ///
    /// ```
    /// use blazen::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// struct Approval {
    ///     approved: bool,
    /// }
    ///
    /// #[step(waits_for = [Approval])]
    /// async fn publish(ctx: &Context, _ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    ///     match ctx.wait_for_event_timeout::<Approval>(Duration::from_millis(10)).await {
    ///         Ok(approval) => Ok(StopEvent::new(json!(approval.approved))),
    ///         Err(WorkflowError::WaitTimeout { .. }) => Ok(StopEvent::new(json!("no answer"))),
    ///         Err(err) => Err(err),
    ///     }
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let stop = workflow!("publish", [publish]).run(json!({})).await?.result().await?;
    /// assert_eq!(stop.result, json!("no answer"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_event_timeout<E: TypedEvent>(
        &self,
        timeout: std::time::Duration,
    ) -> Result<E, WorkflowError> {
        self.wait(None::<fn(&E) -> bool>, Some(timeout)).await
    }

    /// Like [`wait_for_event`](Self::wait_for_event), for the next event of type `E` that
    /// `filter` accepts (e.g. the answer carrying this request's id). Events of type `E` it
    /// rejects stay for other waits or steps.
    pub async fn wait_for_event_matching<E, F>(&self, filter: F) -> Result<E, WorkflowError>
    where
        E: TypedEvent,
        F: Fn(&E) -> bool + Send + Sync + 'static,
    {
        self.wait(Some(filter), None).await
    }

    async fn wait<E, F>(
        &self,
        filter: Option<F>,
        timeout: Option<std::time::Duration>,
    ) -> Result<E, WorkflowError>
    where
        E: TypedEvent,
        F: Fn(&E) -> bool + Send + Sync + 'static,
    {
        if !self.shared.declares_wait(self.step, E::EVENT_TYPE) {
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
        let start = self
            .shared
            .lock_state()
            .start_wait(self.exec, E::EVENT_TYPE, filter);
        let mut rx = match start {
            WaitStart::Held(ev) => return downcast_event(ev),
            WaitStart::Waiting(rx) => rx,
        };
        // Waking the router lets it see that every running step may now be waiting.
        let _ = self
            .shared
            .router
            .send(RouterMsg::Waiting { exec: self.exec });
        let received = match timeout {
            None => rx.await,
            Some(limit) => match tokio::time::timeout(limit, &mut rx).await {
                Ok(received) => received,
                Err(_) => {
                    // No more deliveries; one that came just now is still taken.
                    rx.close();
                    match rx.try_recv() {
                        Ok(ev) => Ok(ev),
                        Err(_) => {
                            return Err(WorkflowError::WaitTimeout {
                                step: self.step_name().to_owned(),
                                event: E::EVENT_TYPE.to_owned(),
                                after: limit,
                            })
                        }
                    }
                }
            },
        };
        match received {
            Ok(ev) => downcast_event(ev),
            Err(_) => Err(WorkflowError::WaitAbandoned {
                step: self.step_name().to_owned(),
                event: E::EVENT_TYPE.to_owned(),
            }),
        }
    }

    /// How many events of type `E` this step has buffered with
    /// [`collect_events`](Self::collect_events), or, for a choice `E` such as
    /// [`Either<A, B>`](crate::Either), with [`collect_any`](Self::collect_any).
    pub fn collected_count<E: EventChoice>(&self) -> usize {
        self.shared
            .lock_state()
            .collected(self.step, E::fan_in_key())
    }
}
