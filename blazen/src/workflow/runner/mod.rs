//! The event router: one spawned task per run.
//!
//! The router owns the run's queues. Steps run in their own tasks and report back over one
//! unbounded channel (their outputs, `send_event` calls, completions), so a step's sends are
//! always seen before its completion. Per event the router does one hash lookup (routing name
//! → step indices, built once per workflow), and either spawns the step (when its concurrency
//! limit allows) or queues the event in the step's queue: nothing is spawned before it may run.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::context::Context;
use crate::error::WorkflowError;
use crate::event::{
    downcast_event, Event, InputRequiredEvent, InputResponseEvent, RunFailed, StepFailed,
    StopEvent, TypedEvent,
};
use crate::persist::{InputRequest, PersistError, SnapshotStatus, WorkflowSnapshot};
use crate::retry::ResumedAttempt;
use crate::run::msg::{Respond, RouterMsg, RunOutcome, StepFailure, StreamMsg, SENDER_RUN};
use crate::run::owner::Left;
use crate::run::RunShared;
use crate::step::StepOutput;
use crate::sync::lock;
use crate::workflow::WorkflowInner;

mod exec;
mod save;

use exec::{run_once, spawn_step, Attempts};

/// How many events of a large fan-out the router routes before it looks at other messages
/// and lets the started steps run.
const FAN_OUT_CHUNK: usize = 256;

/// A running step instance.
struct Slot {
    step: u32,
    /// The routing name of the input event (for errors), as an index into the route table.
    route: u32,
    /// Its task (dropping it leaves the task running).
    task: JoinHandle<()>,
    /// A copy of the input event, kept only when the run checkpoints (it must be re-queued
    /// after a crash: at-least-once).
    input: Option<Box<dyn Event>>,
    /// The execution's number (its context's; see `RunState::taken`).
    exec: u64,
    /// The attempt the execution is at (1 unless its step has a retry policy).
    attempt: u32,
}

/// A run's pending input requests, shared with its handler.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    /// The unanswered requests, oldest first (`WorkflowHandler::input_requests`).
    pub(crate) list: std::sync::Mutex<Vec<InputRequest>>,
    /// Notified when a request is added and when the run ends
    /// (`WorkflowHandler::next_input_request`).
    pub(crate) changed: tokio::sync::Notify,
}

impl Inputs {
    pub(crate) fn new(list: Vec<InputRequest>) -> Self {
        Inputs {
            list: std::sync::Mutex::new(list),
            changed: tokio::sync::Notify::new(),
        }
    }
}

/// Shared view of pending input requests (read by `WorkflowHandler::input_requests`).
pub(crate) type PendingInputs = Arc<Inputs>;

pub(crate) struct Router {
    wf: Arc<WorkflowInner>,
    shared: Arc<RunShared>,
    rx: mpsc::UnboundedReceiver<RouterMsg>,
    outcome: Option<oneshot::Sender<RunOutcome>>,
    live: Vec<u32>,
    queues: Vec<VecDeque<Box<dyn Event>>>,
    live_total: usize,
    queued_total: usize,
    /// Events of a large fan-out not routed yet, with their sender.
    backlog: VecDeque<(std::vec::IntoIter<Box<dyn Event>>, u32)>,
    slots: Vec<Option<Slot>>,
    free_slots: Vec<u32>,
    durable: bool,
    /// The number of the last step execution started (executions are numbered from 1).
    next_exec: u64,
    paused: bool,
    pause_waiters: Vec<oneshot::Sender<Result<WorkflowSnapshot, WorkflowError>>>,
    cancel_waiters: Vec<oneshot::Sender<Result<(), WorkflowError>>>,
    inputs: PendingInputs,
    /// The idle-waiting-for-input snapshot was saved for the current idle period.
    input_checkpointed: bool,
    /// Nothing runs or is queued and input requests are pending.
    waiting_input: bool,
    /// The run's handler is gone (dropped or detached) and no worker owns the run: nobody
    /// in this process can answer it when it waits for input.
    handler_gone: bool,
    started: Instant,
    /// Executions that announced a wait (`RouterMsg::Waiting`) and were not delivered to
    /// nor completed since.
    waiting: Vec<u64>,
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
        let durable = shared.durable;
        Router {
            wf,
            shared,
            rx,
            outcome: Some(outcome),
            live: vec![0; n],
            queues: (0..n).map(|_| VecDeque::new()).collect(),
            live_total: 0,
            queued_total: 0,
            backlog: VecDeque::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            durable,
            next_exec: 0,
            paused: false,
            pause_waiters: Vec::new(),
            cancel_waiters: Vec::new(),
            inputs,
            input_checkpointed: false,
            waiting_input: false,
            handler_gone: false,
            started: Instant::now(),
            waiting: Vec::new(),
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
        match self.drive(start).await {
            Some(outcome) => self.finish(outcome).await,
            None => self.detach(),
        }
    }

    /// Routes until the run ends (`Some(outcome)`), or until it waits for input with its
    /// handler gone (`None`: the router detaches).
    async fn drive(&mut self, start: Option<Box<dyn Event>>) -> Option<RunOutcome> {
        if let Some(start) = start {
            if let Err(err) = self.route(start, SENDER_RUN) {
                return Some(Err(err));
            }
        }
        // Restored queues: start what may start.
        for step in 0..self.queues.len() {
            if let Err(err) = self.drain_queue(step as u32) {
                return Some(Err(err));
            }
        }
        let mut deadline = self
            .wf
            .timeout
            .map(|t| Box::pin(tokio::time::sleep_until((self.started + t).into())));
        loop {
            if let Some(done) = self.check_idle().await {
                return Some(done);
            }
            if !self.backlog.is_empty() && !self.paused {
                // First everything that already arrived (completions free concurrency permits
                // and their tasks' memory; a chunk's steps complete faster than the router
                // routes, so handling only part would let completions pile up), then the next
                // chunk of the fan-out; then let the started steps run.
                while let Ok(msg) = self.rx.try_recv() {
                    if let Some(done) = ended(self.handle(msg).await) {
                        return Some(done);
                    }
                }
                if let Some(done) = ended(self.route_backlog(FAN_OUT_CHUNK)) {
                    return Some(done);
                }
                if self
                    .wf
                    .timeout
                    .is_some_and(|limit| self.started.elapsed() >= limit)
                {
                    return Some(Err(self.timeout_error()));
                }
                tokio::task::yield_now().await;
                continue;
            }
            // While the run waits for input only someone outside can move it on (an answer,
            // or an event for the waiting steps), and with the handler gone nobody can in
            // this process: the task ends (after a restart `respond_from` or `resume_from`
            // continues from the store).
            if self.waiting_input && self.handler_gone {
                return None;
            }
            // A run owned by a worker that only waits for outside input is released from
            // memory after its idle limit; whoever gets its next event resumes it.
            let idle = self
                .shared
                .owner
                .as_ref()
                .and_then(|o| o.idle_release)
                .filter(|_| self.waiting_input);
            let wake = if deadline.is_none() && idle.is_none() {
                Wake::Msg(self.rx.recv().await)
            } else {
                self.wake(idle, &mut deadline).await
            };
            match wake {
                // `None` never comes: the run's shared state holds a sender, so the channel
                // stays open while the router runs.
                Wake::Msg(Some(msg)) => {
                    if let Some(done) = ended(self.handle(msg).await) {
                        return Some(done);
                    }
                }
                Wake::Msg(None) | Wake::Deadline => return Some(Err(self.timeout_error())),
                Wake::Idle => {
                    if let Some(owner) = &self.shared.owner {
                        if let Err(err) = owner.release(false).await {
                            return Some(Err(err.into()));
                        }
                        owner.left(Left::Released);
                    }
                    return None;
                }
            }
        }
    }

    /// The next message, the workflow deadline, or (`idle`) the end of the idle limit.
    async fn wake(
        &mut self,
        idle: Option<std::time::Duration>,
        deadline: &mut Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    ) -> Wake {
        let rx = &mut self.rx;
        tokio::select! {
                biased;
                msg = rx.recv() => Wake::Msg(msg),
                () = async {
                    match deadline.as_mut() {
                        Some(sleep) => sleep.as_mut().await,
                        None => std::future::pending().await,
                    }
                } => Wake::Deadline,
            () = async {
                match idle {
                    Some(idle) => tokio::time::sleep(idle).await,
                    None => std::future::pending().await,
                }
            } => Wake::Idle,
        }
    }

    /// The error of a run past its workflow timeout.
    fn timeout_error(&self) -> WorkflowError {
        WorkflowError::Timeout {
            what: format!("workflow `{}`", self.wf.name),
            elapsed: self.started.elapsed(),
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
                if !self.waiting.is_empty() {
                    self.waiting.retain(|&e| e != s.exec);
                }
                let may_wait = !self.wf.step_waits[s.step as usize].is_empty();
                if self.durable || may_wait {
                    // Only executions of checkpointing runs or of steps that may wait can
                    // hold something.
                    self.shared.lock_state().complete(s.exec, may_wait);
                }
                self.live[s.step as usize] -= 1;
                self.live_total -= 1;
                let output = match result {
                    Ok(output) => output,
                    // Routed like an event the failed step emitted, if a step recovers.
                    Err(failure) => StepOutput::Single(Box::new(self.step_failed(&s, failure)?)),
                };
                let done = match output {
                    StepOutput::None => None,
                    StepOutput::Single(ev) => self.route_or_stop(ev, s.step)?,
                    StepOutput::Many(evs) if evs.len() > FAN_OUT_CHUNK => {
                        // A large fan-out is routed a chunk at a time between other messages
                        // (see `run`), so the steps it starts run (and finish) meanwhile
                        // instead of all being spawned at once.
                        self.backlog.push_back((evs.into_iter(), s.step));
                        None
                    }
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
            RouterMsg::Checkpoint { inbox_through } => {
                if let Some(owner) = &self.shared.owner {
                    owner.took_inbox(inbox_through);
                }
                if self.durable && !self.paused {
                    self.checkpoint(SnapshotStatus::Running).await?;
                }
                Ok(None)
            }
            RouterMsg::Abandon { epoch } => Err(WorkflowError::Persist(PersistError::Fenced {
                run_id: self.shared.run_id,
                epoch,
            })),
            RouterMsg::HandlerDropped { detached } => {
                // A run owned by a worker lives on without a handler (anyone may answer it
                // through the store); it is released from memory by its idle limit instead.
                self.handler_gone = self.shared.owner.is_none();
                // Without a checkpoint store or an owner the run cannot be resumed, and with
                // its handler gone (and no stream reader) nobody can observe it: end it
                // rather than keep its steps (a stuck one forever) and this task.
                let unobservable = !detached && !self.durable && self.shared.stream.is_closed();
                Ok(unobservable.then(|| {
                    Err(WorkflowError::Cancelled {
                        run_id: self.shared.run_id,
                    })
                }))
            }
            RouterMsg::Waiting { exec } => {
                self.waiting.push(exec);
                Ok(None)
            }
            RouterMsg::Retrying { slot, attempt } => {
                if let Some(Some(s)) = self.slots.get_mut(slot as usize) {
                    s.attempt = attempt;
                    if self.durable && !self.paused {
                        // A crash during the backoff resumes with the attempts left.
                        self.checkpoint(SnapshotStatus::Running).await?;
                    }
                }
                Ok(None)
            }
            RouterMsg::Cancel { reply } => {
                self.cancel_waiters.push(reply);
                Ok(Some(Err(WorkflowError::Cancelled {
                    run_id: self.shared.run_id,
                })))
            }
            RouterMsg::Pause { reply } => {
                self.paused = true;
                self.pause_waiters.push(reply);
                Ok(None)
            }
            RouterMsg::Respond(respond) => {
                let Respond {
                    request_id,
                    response,
                    reply,
                } = *respond;
                let found = {
                    let mut inputs = lock(&self.inputs.list);
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

    /// Routes up to `n` events of the backlog.
    fn route_backlog(&mut self, n: usize) -> Result<Option<RunOutcome>, WorkflowError> {
        let mut left = n;
        while left > 0 {
            let Some((events, sender)) = self.backlog.front_mut() else {
                break;
            };
            let sender = *sender;
            let Some(ev) = events.next() else {
                self.backlog.pop_front();
                continue;
            };
            left -= 1;
            if let Some(done) = self.route_or_stop(ev, sender)? {
                return Ok(Some(done));
            }
        }
        Ok(None)
    }

    /// When nothing runs and nothing is queued: finish (stall), answer pausers, or wait for
    /// input. `Some` ends the run.
    async fn check_idle(&mut self) -> Option<RunOutcome> {
        self.waiting_input = false;
        let waiting = self.waiting_live();
        if self.live_total != waiting {
            return None;
        }
        if self.paused {
            // The rest of a fan-out goes to the steps' queues (nothing starts while paused).
            match self.route_backlog(usize::MAX) {
                Ok(None) => {}
                Ok(Some(done)) => return Some(done),
                Err(err) => return Some(Err(err)),
            }
            let image = self.image(SnapshotStatus::Paused);
            {
                if let Err(err) = self.save_paused(&image).await {
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
        if self.queued_total != 0 || !self.backlog.is_empty() {
            return None;
        }
        if waiting != 0 {
            // Every running step waits for an event: only one from outside (or a pause, or
            // the workflow timeout) moves the run on. Persist once (the waiting steps in
            // flight), so that the run can be resumed elsewhere.
            if self.durable && !self.input_checkpointed {
                self.input_checkpointed = true;
                if let Err(err) = self.checkpoint(SnapshotStatus::Running).await {
                    return Some(Err(err));
                }
            }
            self.waiting_input = true;
            return None;
        }
        // Sends made by steps that already finished are in the channel: handle them first.
        while let Ok(msg) = self.rx.try_recv() {
            match self.handle(msg).await {
                Ok(None) => {
                    if self.live_total != 0
                        || self.queued_total != 0
                        || !self.backlog.is_empty()
                        || self.paused
                    {
                        return None;
                    }
                }
                Ok(Some(done)) => return Some(done),
                Err(err) => return Some(Err(err)),
            }
        }
        if !lock(&self.inputs.list).is_empty() {
            // Waiting for a person: persist once, then wait for `respond` or `pause`.
            if self.durable && !self.input_checkpointed {
                self.input_checkpointed = true;
                if let Err(err) = self.checkpoint(SnapshotStatus::WaitingForInput).await {
                    return Some(Err(err));
                }
            }
            self.waiting_input = true;
            return None;
        }
        Some(Err(WorkflowError::Stalled {
            workflow: self.wf.name.clone(),
        }))
    }

    /// How many running executions wait in `Context::wait_for_event` (announced, still
    /// waiting, nothing delivered yet).
    fn waiting_live(&self) -> usize {
        if self.waiting.is_empty() {
            return 0;
        }
        self.shared.lock_state().still_waiting(&self.waiting)
    }

    fn step_error(&self, slot: &Slot, failure: StepFailure) -> WorkflowError {
        failure.into_error(
            self.wf.steps[slot.step as usize].name(),
            &self.wf.route_names[slot.route as usize],
        )
    }

    /// The `StepFailed` event for a step that failed for good, when a step recovers from
    /// it; else (or past the bound, or when the recovering step itself failed) the error
    /// that ends the run.
    fn step_failed(
        &mut self,
        slot: &Slot,
        failure: StepFailure,
    ) -> Result<StepFailed, WorkflowError> {
        let err = self.step_error(slot, failure);
        let event_type = &self.wf.route_names[slot.route as usize];
        if !self.wf.recovers || **event_type == *StepFailed::EVENT_TYPE {
            return Err(err);
        }
        {
            // The count lives in the run's state: snapshots keep it, so a resumed run does not
            // start a new budget.
            let mut state = lock(&self.shared.state);
            if state.recoveries >= self.wf.max_recoveries {
                return Err(WorkflowError::TooManyRecoveries {
                    limit: self.wf.max_recoveries,
                    source: Box::new(err),
                });
            }
            state.recoveries += 1;
        }
        let step = self.wf.steps[slot.step as usize].name().to_owned();
        tracing::warn!(step = %step, attempts = slot.attempt, error = %err, "step failed; recovering with StepFailed");
        let error = match &err {
            WorkflowError::Step { source, .. } => source.to_string(),
            WorkflowError::Panic { message, .. } => format!("panicked: {message}"),
            other => other.to_string(),
        };
        Ok(StepFailed {
            step,
            event_type: event_type.to_string(),
            error,
            attempts: slot.attempt,
        })
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
        let ev = if !self.wf.waited.is_empty() && self.wf.waited.contains(ev.event_type()) {
            // A waited-for event: to the oldest waiting execution; else to the steps that
            // accept it; else held for the next wait.
            let mut state = self.shared.lock_state();
            match state.deliver(ev) {
                Ok(exec) => {
                    self.waiting.retain(|&e| e != exec);
                    return Ok(());
                }
                Err(ev) if route.is_none() => {
                    state.park(ev);
                    return Ok(());
                }
                Err(ev) => ev,
            }
        } else {
            ev
        };
        if ev.event_type() == InputRequiredEvent::EVENT_TYPE {
            let request = downcast_event::<InputRequiredEvent>(ev.clone_event())?;
            let mut pending =
                InputRequest::new(self.sender_name(sender), request.prompt, request.metadata);
            pending.request_id = request.request_id;
            lock(&self.inputs.list).push(pending);
            self.inputs.changed.notify_waiters();
            self.input_checkpointed = false;
            // Never dropped, even from a bounded stream: a person must see it.
            self.shared.publish(ev.clone_event(), false);
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
        let targets = &self.wf.route_targets[route as usize];
        match targets.len() {
            0 => {
                return Err(WorkflowError::UnroutedEvent {
                    event: ev.event_type().to_owned(),
                    sender: self.sender_name(sender),
                })
            }
            1 => {
                let step = targets[0];
                self.dispatch(step, route, ev);
            }
            n => {
                let wf = Arc::clone(&self.wf);
                let targets = &wf.route_targets[route as usize];
                for &step in &targets[..n - 1] {
                    self.dispatch(step, route, ev.clone_event());
                }
                self.dispatch(targets[n - 1], route, ev);
            }
        }
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
        let retries = self.wf.steps[step as usize].retry_policy().is_some();
        let (ev, attempt) = if retries && ev.is::<ResumedAttempt>() {
            // An in-flight event restored past its first attempt: continue the attempts.
            match ev.downcast::<ResumedAttempt>() {
                Ok(resumed) => (resumed.event, resumed.attempt),
                Err(ev) => (ev, 1),
            }
        } else {
            (ev, 1)
        };
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        // Steps that may wait keep their input too: a pause while they wait puts it in
        // the snapshot (they run again after resume).
        let input = if self.durable || !self.wf.step_waits[step as usize].is_empty() {
            Some(ev.clone_event())
        } else {
            None
        };
        let shared = Arc::clone(&self.shared);
        self.next_exec += 1;
        let exec = self.next_exec;
        let def = &self.wf.steps[step as usize];
        let handler = Arc::clone(def.handler());
        let step_timeout = def.step_timeout();
        let span = tracing::info_span!(
            "blazen.step",
            step = %def.name(),
            event = %self.wf.route_names[route as usize],
        );
        let task = match (def.retry_policy(), step_timeout) {
            (Some(policy), _) => {
                let attempts = Attempts {
                    policy: policy.clone(),
                    first: attempt,
                    timeout: step_timeout,
                    step: Arc::clone(&self.wf.step_names[step as usize]),
                    event: Arc::clone(&self.wf.route_names[route as usize]),
                };
                spawn_step(span, async move {
                    let ctx = Context::new(Arc::clone(&shared), step).with_exec(exec);
                    let result = attempts.run(&shared, slot, &handler, ctx, ev).await;
                    let _ = shared.router.send(RouterMsg::Done { slot, result });
                })
            }
            (None, timeout) => spawn_step(span, async move {
                let ctx = Context::new(Arc::clone(&shared), step).with_exec(exec);
                let result = run_once(&handler, ctx, ev, timeout).await;
                let _ = shared.router.send(RouterMsg::Done { slot, result });
            }),
        };
        self.slots[slot as usize] = Some(Slot {
            step,
            route,
            task,
            input,
            exec,
            attempt,
        });
        self.live[step as usize] += 1;
        self.live_total += 1;
    }

    /// Ends the router of a run that waits for input and whose handler is gone: nothing
    /// runs, and the run's state is its last snapshot (when it checkpoints).
    fn detach(self) {
        tracing::debug!(run_id = %self.shared.run_id, "handler dropped while the run waits for input");
        // Steps waiting for an event would wait forever.
        for slot in self.slots.iter().flatten() {
            slot.task.abort();
        }
        self.shared.set_ended(false);
        self.inputs.changed.notify_waiters();
        let _ = self.shared.stream.send(StreamMsg::End);
    }

    async fn finish(mut self, outcome: RunOutcome) {
        for slot in self.slots.iter().flatten() {
            slot.task.abort();
        }
        let cancelled = matches!(outcome, Err(WorkflowError::Cancelled { .. }));
        if cancelled {
            // `cancel()` returns once no step future is left: an aborted task is dropped at
            // its next yield.
            for slot in self.slots.iter_mut().flatten() {
                let _ = (&mut slot.task).await;
            }
        }
        if !self.wf.waited.is_empty() {
            // Only steps that declare waits can be waiting (no lock for the others).
            self.shared.lock_state().release_waits();
        }
        // The stream's last item says how the run ended (never dropped); a pause just ends
        // it. Published first: a run owned by a worker stores it with its outcome.
        match &outcome {
            Ok(stop) => self.shared.publish(Box::new(stop.clone()), false),
            Err(WorkflowError::Paused { .. }) => {}
            Err(err) => self.shared.publish(Box::new(RunFailed::of(err)), false),
        }
        let paused = matches!(outcome, Err(WorkflowError::Paused { .. }));
        self.finish_owned(&outcome).await;
        if let (Some(store), false) = (self.wf.checkpoint.clone(), paused) {
            // The last word on the run: its outcome (resuming it reports the outcome).
            let snap = self.outcome_snapshot(&outcome);
            if let Err(err) = store.save(&snap).await {
                tracing::warn!(run_id = %self.shared.run_id, "final checkpoint not saved: {err}");
            }
        }
        let run_id = self.shared.run_id;
        for w in std::mem::take(&mut self.pause_waiters) {
            let _ = w.send(Err(match &outcome {
                Ok(_) => WorkflowError::Completed { run_id },
                Err(e) => WorkflowError::msg(format!("the run ended before it could pause: {e}")),
            }));
        }
        for w in std::mem::take(&mut self.cancel_waiters) {
            let _ = w.send(match &outcome {
                Ok(_) => Err(WorkflowError::Completed { run_id }),
                Err(_) if cancelled => Ok(()),
                Err(_) => Err(WorkflowError::NotRunning { run_id }),
            });
        }
        self.shared.set_ended(outcome.is_ok());
        self.inputs.changed.notify_waiters();
        let _ = self.shared.stream.send(StreamMsg::End);
        if let Some(tx) = self.outcome.take() {
            let _ = tx.send(outcome);
        }
    }
}

/// What woke the router.
enum Wake {
    Msg(Option<RouterMsg>),
    Deadline,
    /// A run owned by a worker only waited for outside input past its idle limit.
    Idle,
}

/// The outcome of handling a message when it ends the run (an error ends it too).
fn ended(handled: Result<Option<RunOutcome>, WorkflowError>) -> Option<RunOutcome> {
    handled.unwrap_or_else(|err| Some(Err(err)))
}
