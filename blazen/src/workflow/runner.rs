//! The event router: one spawned task per run.
//!
//! The router owns the run's queues. Steps run in their own tasks and report back over one
//! unbounded channel (their outputs, `send_event` calls, completions), so a step's sends are
//! always seen before its completion. Per event the router does one hash lookup (routing name
//! → step indices, built once per workflow), and either spawns the step (when its concurrency
//! limit allows) or queues the event in the step's queue: nothing is spawned before it may run.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::context::StateValue;
use crate::context::{Context, RunShared};
use crate::error::WorkflowError;
use crate::event::{
    downcast_event, Event, InputRequiredEvent, InputResponseEvent, StopEvent, TypedEvent,
};
use crate::persist::{
    FanInBuffer, InputRequest, SerializedEvent, SnapshotStatus, WorkflowSnapshot,
};
use crate::step::StepOutput;
use crate::workflow::WorkflowInner;

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
    /// `handler.respond()`.
    Respond {
        request_id: uuid::Uuid,
        response: Value,
        reply: oneshot::Sender<Result<(), WorkflowError>>,
    },
}

/// How a step instance failed.
pub(crate) enum StepFailure {
    Error(WorkflowError),
    Panic(String),
    Timeout(Duration),
}

/// Items of the event stream.
pub(crate) enum StreamMsg {
    Event(Box<dyn Event>),
    /// The run is over: the stream ends.
    End,
}

/// A running step instance.
struct Slot {
    step: u32,
    /// The routing name of the input event (for errors), as an index into the route table.
    route: u32,
    abort: AbortHandle,
    /// A copy of the input event, kept only when the run checkpoints (it must be re-queued
    /// after a crash: at-least-once).
    input: Option<Box<dyn Event>>,
}

/// Shared view of pending input requests (read by `WorkflowHandler::input_requests`).
pub(crate) type PendingInputs = Arc<std::sync::Mutex<Vec<InputRequest>>>;

pub(crate) struct Router {
    wf: Arc<WorkflowInner>,
    shared: Arc<RunShared>,
    rx: mpsc::UnboundedReceiver<RouterMsg>,
    outcome: Option<oneshot::Sender<RunOutcome>>,
    live: Vec<u32>,
    queues: Vec<VecDeque<Box<dyn Event>>>,
    live_total: usize,
    queued_total: usize,
    slots: Vec<Option<Slot>>,
    free_slots: Vec<u32>,
    durable: bool,
    paused: bool,
    pause_waiters: Vec<oneshot::Sender<Result<WorkflowSnapshot, WorkflowError>>>,
    inputs: PendingInputs,
    /// The idle-waiting-for-input snapshot was saved for the current idle period.
    input_checkpointed: bool,
    started: Instant,
}

impl Router {
    pub(crate) fn new(
        wf: Arc<WorkflowInner>,
        shared: Arc<RunShared>,
        rx: mpsc::UnboundedReceiver<RouterMsg>,
        outcome: oneshot::Sender<RunOutcome>,
        inputs: PendingInputs,
    ) -> Self {
        let n = wf.steps.len();
        let durable = wf.checkpoint.is_some();
        Router {
            wf,
            shared,
            rx,
            outcome: Some(outcome),
            live: vec![0; n],
            queues: (0..n).map(|_| VecDeque::new()).collect(),
            live_total: 0,
            queued_total: 0,
            slots: Vec::new(),
            free_slots: Vec::new(),
            durable,
            paused: false,
            pause_waiters: Vec::new(),
            inputs,
            input_checkpointed: false,
            started: Instant::now(),
        }
    }

    /// Puts restored events in their queues (before `run`).
    pub(crate) fn restore_queued(&mut self, events: Vec<(Option<u32>, Box<dyn Event>)>) {
        for (step, ev) in events {
            match step {
                Some(step) => {
                    self.queues[step as usize].push_back(ev);
                    self.queued_total += 1;
                }
                None => {
                    // Routed when the router starts: send it to ourselves.
                    let _ = self.shared.router.send(RouterMsg::Send {
                        event: ev,
                        sender: SENDER_RUN,
                    });
                }
            }
        }
    }

    /// The router loop: runs until the run stops, fails, times out or is paused.
    pub(crate) async fn run(mut self, start: Option<Box<dyn Event>>) {
        if let Some(start) = start {
            if let Err(err) = self.route(start, SENDER_RUN) {
                return self.finish(Err(err)).await;
            }
        }
        // Restored queues: start what may start.
        for step in 0..self.queues.len() {
            if let Err(err) = self.drain_queue(step as u32) {
                return self.finish(Err(err)).await;
            }
        }
        let mut deadline = self
            .wf
            .timeout
            .map(|t| Box::pin(tokio::time::sleep_until((self.started + t).into())));
        loop {
            if let Some(done) = self.check_idle().await {
                return self.finish(done).await;
            }
            let msg = match deadline.as_mut() {
                Some(sleep) => tokio::select! {
                    biased;
                    msg = self.rx.recv() => msg,
                    () = sleep.as_mut() => None,
                },
                None => self.rx.recv().await,
            };
            // `None` only when the deadline passed: the run's shared state holds a sender, so
            // the channel never closes while the router runs.
            let Some(msg) = msg else {
                // The deadline passed.
                let err = WorkflowError::Timeout {
                    what: format!("workflow `{}`", self.wf.name),
                    elapsed: self.started.elapsed(),
                };
                return self.finish(Err(err)).await;
            };
            match self.handle(msg).await {
                Ok(None) => {}
                Ok(Some(done)) => return self.finish(done).await,
                Err(err) => return self.finish(Err(err)).await,
            }
        }
    }

    /// Handles one message; `Some` ends the run.
    async fn handle(&mut self, msg: RouterMsg) -> Result<Option<RunOutcome>, WorkflowError> {
        match msg {
            RouterMsg::Send { event, sender } => {
                self.input_checkpointed = false;
                self.route_or_stop(event, sender)
            }
            RouterMsg::Done { slot, result } => {
                self.input_checkpointed = false;
                let Some(Some(s)) = self.slots.get_mut(slot as usize).map(Option::take) else {
                    return Ok(None);
                };
                self.free_slots.push(slot);
                self.live[s.step as usize] -= 1;
                self.live_total -= 1;
                let output = match result {
                    Ok(output) => output,
                    Err(failure) => return Err(self.step_error(&s, failure)),
                };
                let done = match output {
                    StepOutput::None => None,
                    StepOutput::Single(ev) => self.route_or_stop(ev, s.step)?,
                    StepOutput::Many(evs) => {
                        let mut done = None;
                        for ev in evs {
                            if let Some(d) = self.route_or_stop(ev, s.step)? {
                                done = Some(d);
                                break;
                            }
                        }
                        done
                    }
                };
                if done.is_some() {
                    return Ok(done);
                }
                self.drain_queue(s.step)?;
                if self.durable && !self.paused {
                    self.checkpoint(SnapshotStatus::Running).await?;
                }
                Ok(None)
            }
            RouterMsg::Pause { reply } => {
                self.paused = true;
                self.pause_waiters.push(reply);
                Ok(None)
            }
            RouterMsg::Respond {
                request_id,
                response,
                reply,
            } => {
                let found = {
                    let mut inputs = lock(&self.inputs);
                    let before = inputs.len();
                    inputs.retain(|r| r.request_id != request_id);
                    inputs.len() != before
                };
                if !found {
                    let _ = reply.send(Err(WorkflowError::UnknownInputRequest { request_id }));
                    return Ok(None);
                }
                let _ = reply.send(Ok(()));
                self.input_checkpointed = false;
                let ev = InputResponseEvent {
                    request_id,
                    response,
                };
                self.route_or_stop(Box::new(ev), SENDER_RUN)
            }
        }
    }

    /// When nothing runs and nothing is queued: finish (stall), answer pausers, or wait for
    /// input. `Some` ends the run.
    async fn check_idle(&mut self) -> Option<RunOutcome> {
        if self.live_total != 0 {
            return None;
        }
        if self.paused {
            let image = self.image(SnapshotStatus::Paused);
            if let Some(store) = self.wf.checkpoint.clone() {
                if let Err(err) = store.save(&image).await {
                    for w in std::mem::take(&mut self.pause_waiters) {
                        let _ = w.send(Err(WorkflowError::msg(format!(
                            "the paused run's snapshot could not be saved: {err}"
                        ))));
                    }
                    return Some(Err(err.into()));
                }
            }
            let waiters = std::mem::take(&mut self.pause_waiters);
            for w in waiters {
                let _ = w.send(Ok(image.clone()));
            }
            return Some(Err(WorkflowError::Paused {
                run_id: self.shared.run_id,
            }));
        }
        if self.queued_total != 0 {
            return None;
        }
        // Sends made by steps that already finished are in the channel: handle them first.
        while let Ok(msg) = self.rx.try_recv() {
            match self.handle(msg).await {
                Ok(None) => {
                    if self.live_total != 0 || self.queued_total != 0 || self.paused {
                        return None;
                    }
                }
                Ok(Some(done)) => return Some(done),
                Err(err) => return Some(Err(err)),
            }
        }
        if !lock(&self.inputs).is_empty() {
            // Waiting for a person: persist once, then wait for `respond` or `pause`.
            if self.durable && !self.input_checkpointed {
                self.input_checkpointed = true;
                if let Err(err) = self.checkpoint(SnapshotStatus::WaitingForInput).await {
                    return Some(Err(err));
                }
            }
            return None;
        }
        Some(Err(WorkflowError::Stalled {
            workflow: self.wf.name.clone(),
        }))
    }

    fn step_error(&self, slot: &Slot, failure: StepFailure) -> WorkflowError {
        let step = self.wf.steps[slot.step as usize].name().to_owned();
        let event = self.wf.route_names[slot.route as usize].to_string();
        match failure {
            StepFailure::Error(source) => WorkflowError::Step {
                step,
                event,
                source: Box::new(source),
            },
            StepFailure::Panic(message) => WorkflowError::Panic {
                step,
                event,
                message,
            },
            StepFailure::Timeout(elapsed) => WorkflowError::Timeout {
                what: format!("step `{step}` on event `{event}`"),
                elapsed,
            },
        }
    }

    fn sender_name(&self, sender: u32) -> String {
        match self.wf.steps.get(sender as usize) {
            Some(step) => step.name().to_owned(),
            None => "run".to_owned(),
        }
    }

    /// Routes an event; a StopEvent ends the run.
    fn route_or_stop(
        &mut self,
        ev: Box<dyn Event>,
        sender: u32,
    ) -> Result<Option<RunOutcome>, WorkflowError> {
        if ev.event_type() == StopEvent::EVENT_TYPE {
            return Ok(Some(downcast_event::<StopEvent>(ev)));
        }
        self.route(ev, sender)?;
        Ok(None)
    }

    /// Sends an event to every step that accepts it.
    fn route(&mut self, ev: Box<dyn Event>, sender: u32) -> Result<(), WorkflowError> {
        let route = self.wf.routes.get(ev.event_type()).copied();
        if ev.event_type() == InputRequiredEvent::EVENT_TYPE {
            let request = downcast_event::<InputRequiredEvent>(ev.clone_event())?;
            let mut pending =
                InputRequest::new(self.sender_name(sender), request.prompt, request.metadata);
            pending.request_id = request.request_id;
            lock(&self.inputs).push(pending);
            self.input_checkpointed = false;
            self.shared
                .stream_position
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = self.shared.stream.send(StreamMsg::Event(ev.clone_event()));
            if route.is_none() {
                return Ok(());
            }
        }
        let Some(route) = route else {
            return Err(WorkflowError::UnroutedEvent {
                event: ev.event_type().to_owned(),
                sender: self.sender_name(sender),
            });
        };
        let wf = Arc::clone(&self.wf);
        let targets = &wf.route_targets[route as usize];
        let (last, rest) = match targets.split_last() {
            Some(x) => x,
            None => {
                return Err(WorkflowError::UnroutedEvent {
                    event: ev.event_type().to_owned(),
                    sender: self.sender_name(sender),
                })
            }
        };
        for &step in rest {
            self.dispatch(step, route, ev.clone_event());
        }
        self.dispatch(*last, route, ev);
        Ok(())
    }

    /// Runs the step on the event now if its limit allows, else queues the event.
    fn dispatch(&mut self, step: u32, route: u32, ev: Box<dyn Event>) {
        let limit = self.wf.steps[step as usize].concurrency_limit();
        if self.paused || (limit != 0 && self.live[step as usize] as usize >= limit) {
            self.queues[step as usize].push_back(ev);
            self.queued_total += 1;
            return;
        }
        self.spawn(step, route, ev);
    }

    /// Starts queued events of `step` while its limit allows.
    fn drain_queue(&mut self, step: u32) -> Result<(), WorkflowError> {
        if self.paused {
            return Ok(());
        }
        let limit = self.wf.steps[step as usize].concurrency_limit();
        while limit == 0 || (self.live[step as usize] as usize) < limit {
            let Some(ev) = self.queues[step as usize].pop_front() else {
                break;
            };
            self.queued_total -= 1;
            let Some(&route) = self.wf.routes.get(ev.event_type()) else {
                return Err(WorkflowError::UnroutedEvent {
                    event: ev.event_type().to_owned(),
                    sender: "run".to_owned(),
                });
            };
            self.spawn(step, route, ev);
        }
        Ok(())
    }

    fn spawn(&mut self, step: u32, route: u32, ev: Box<dyn Event>) {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        let input = if self.durable {
            Some(ev.clone_event())
        } else {
            None
        };
        let ctx = Context::new(
            Arc::clone(&self.shared),
            step,
            Arc::clone(&self.wf.step_names),
        );
        let def = &self.wf.steps[step as usize];
        let handler = Arc::clone(def.handler());
        let step_timeout = def.step_timeout();
        let span = tracing::info_span!(
            "blazen.step",
            step = %def.name(),
            event = %self.wf.route_names[route as usize],
        );
        let router = self.shared.router.clone();
        let task = async move {
            let started = Instant::now();
            let body = AssertUnwindSafe(async move { handler(ctx, ev).await }).catch_unwind();
            let outcome = match step_timeout {
                Some(limit) => tokio::time::timeout(limit, body).await.ok(),
                None => Some(body.await),
            };
            let result = match outcome {
                None => Err(StepFailure::Timeout(started.elapsed())),
                Some(Ok(Ok(output))) => Ok(output),
                Some(Ok(Err(err))) => Err(StepFailure::Error(err)),
                Some(Err(payload)) => Err(StepFailure::Panic(panic_message(&*payload))),
            };
            let _ = router.send(RouterMsg::Done { slot, result });
        };
        let abort = tokio::spawn(task.instrument(span)).abort_handle();
        self.slots[slot as usize] = Some(Slot {
            step,
            route,
            abort,
            input,
        });
        self.live[step as usize] += 1;
        self.live_total += 1;
    }

    /// Everything the run is made of right now, as a snapshot.
    fn image(&self, status: SnapshotStatus) -> WorkflowSnapshot {
        let mut snap = WorkflowSnapshot::new(
            self.wf.name.clone(),
            self.wf.fingerprint.clone(),
            self.shared.run_id,
        );
        snap.status = status;
        {
            let state = self.shared.lock_state();
            for (key, value) in &state.values {
                match value {
                    StateValue::Json(v) => {
                        snap.state.insert(key.clone(), v.clone());
                    }
                    StateValue::Bytes(b) => {
                        snap.bytes.insert(key.clone(), b.clone());
                    }
                }
            }
            for ((step, event), evs) in &state.collect {
                snap.fan_in.push(FanInBuffer::new(
                    self.sender_name(*step),
                    event.to_string(),
                    evs.iter()
                        .map(|e| SerializedEvent::from_event(&**e))
                        .collect(),
                ));
            }
        }
        for (step, q) in self.queues.iter().enumerate() {
            let name = self.wf.steps[step].name();
            for ev in q {
                snap.queued
                    .push(SerializedEvent::from_event(&**ev).for_step(name));
            }
        }
        for s in self.slots.iter().flatten() {
            if let Some(ev) = &s.input {
                let name = self.wf.steps[s.step as usize].name();
                snap.in_flight
                    .push(SerializedEvent::from_event(&**ev).for_step(name));
            }
        }
        snap.input_requests = lock(&self.inputs).clone();
        snap.stream_position = self
            .shared
            .stream_position
            .load(std::sync::atomic::Ordering::Relaxed);
        snap
    }

    /// Saves the run's snapshot to the checkpoint store.
    async fn checkpoint(&mut self, status: SnapshotStatus) -> Result<(), WorkflowError> {
        let Some(store) = self.wf.checkpoint.clone() else {
            return Ok(());
        };
        let snap = self.image(status);
        store.save(&snap).await?;
        Ok(())
    }

    async fn finish(mut self, outcome: RunOutcome) {
        for slot in self.slots.iter().flatten() {
            slot.abort.abort();
        }
        let paused = matches!(outcome, Err(WorkflowError::Paused { .. }));
        if let (Some(store), false) = (self.wf.checkpoint.clone(), paused) {
            // The last word on the run: its outcome (resuming it reports the outcome).
            let mut snap = WorkflowSnapshot::new(
                self.wf.name.clone(),
                self.wf.fingerprint.clone(),
                self.shared.run_id,
            );
            match &outcome {
                Ok(stop) => {
                    snap.status = SnapshotStatus::Completed;
                    snap.result = Some(stop.result.clone());
                }
                Err(err) => {
                    snap.status = SnapshotStatus::Failed;
                    snap.error = Some(err.to_string());
                }
            }
            if let Err(err) = store.save(&snap).await {
                tracing::warn!(run_id = %self.shared.run_id, "final checkpoint not saved: {err}");
            }
        }
        for w in std::mem::take(&mut self.pause_waiters) {
            let _ = w.send(Err(match &outcome {
                Ok(_) => WorkflowError::NotRunning {
                    run_id: self.shared.run_id,
                },
                Err(e) => WorkflowError::msg(format!("the run ended before it could pause: {e}")),
            }));
        }
        let _ = self.shared.stream.send(StreamMsg::End);
        if let Some(tx) = self.outcome.take() {
            let _ = tx.send(outcome);
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Poisoning only means a panic elsewhere while holding the lock; the data is a plain
    // list that stays consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
