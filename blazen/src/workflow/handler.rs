//! [`WorkflowHandler`]: the caller's side of a run.

use std::fmt;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};

use futures::Stream;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::context::Context;
use crate::error::WorkflowError;
use crate::event::{Event, StopEvent};
use crate::persist::{InputRequest, WorkflowSnapshot};

use super::runner::PendingInputs;
use crate::run::msg::{Respond, RouterMsg, RunOutcome, StreamMsg, SENDER_RUN};
use crate::run::stream::StreamLimit;
use crate::sync::lock;

enum Outcome {
    Waiting(oneshot::Receiver<RunOutcome>),
    /// The outcome after `result()` returned it once (a copy: the first caller got it).
    Done(Result<StopEvent, WorkflowError>),
}

/// The handle of one run: its result, its event stream, pause and human input.
///
/// Returned by [`Workflow::run`](super::Workflow::run) and
/// [`Workflow::resume`](super::Workflow::resume). All methods take `&self`; the handler is
/// `Send + Sync`, so it can be shared between tasks (e.g. one awaits
/// [`result`](Self::result) while another calls [`pause`](Self::pause)).
///
/// # Dropping the handler
/// - A run that is not checkpointed (no store, no worker) is cancelled when its handler is
///   dropped and nobody reads its [`stream_events`](Self::stream_events): nobody could
///   observe or resume it any more, and a step that never returns would otherwise keep its
///   tasks forever. [`detach`](Self::detach) lets such a run go on to its end instead.
/// - A checkpointed run goes on; if it waits for input (nobody could answer it here), its
///   task ends, and `Workflow::respond_from` continues it from the store.
pub struct WorkflowHandler {
    run_id: Uuid,
    router: Option<mpsc::UnboundedSender<RouterMsg>>,
    stream: Mutex<Option<mpsc::UnboundedReceiver<StreamMsg>>>,
    outcome: tokio::sync::Mutex<Outcome>,
    inputs: PendingInputs,
    ctx: Option<Context>,
}

impl Drop for WorkflowHandler {
    fn drop(&mut self) {
        if let Some(router) = &self.router {
            // The stream goes first: the router checks whether anyone still reads it.
            drop(lock(&self.stream).take());
            let _ = router.send(RouterMsg::HandlerDropped { detached: false });
        }
    }
}

impl fmt::Debug for WorkflowHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowHandler")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl WorkflowHandler {
    pub(crate) fn new(
        run_id: Uuid,
        router: mpsc::UnboundedSender<RouterMsg>,
        stream: mpsc::UnboundedReceiver<StreamMsg>,
        outcome: oneshot::Receiver<RunOutcome>,
        inputs: PendingInputs,
        ctx: Context,
    ) -> Self {
        WorkflowHandler {
            run_id,
            router: Some(router),
            stream: Mutex::new(Some(stream)),
            outcome: tokio::sync::Mutex::new(Outcome::Waiting(outcome)),
            inputs,
            ctx: Some(ctx),
        }
    }

    /// The handler of a run that had already finished when its snapshot was taken.
    pub(crate) fn finished(snapshot: &WorkflowSnapshot) -> Self {
        let (_tx, rx) = mpsc::unbounded_channel();
        WorkflowHandler {
            run_id: snapshot.run_id,
            router: None,
            stream: Mutex::new(Some(rx)),
            outcome: tokio::sync::Mutex::new(Outcome::Done(super::stored_outcome(snapshot))),
            inputs: PendingInputs::default(),
            ctx: None,
        }
    }

    /// The run's router, while it runs.
    pub(crate) fn router_sender(&self) -> Option<mpsc::UnboundedSender<RouterMsg>> {
        self.router.clone()
    }

    /// The run's id (also [`Context::run_id`] inside its steps).
    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// Waits for the run to end: its `StopEvent`, or the error that ended it.
    ///
    /// A paused run ends with [`WorkflowError::Paused`]. Calling `result` again returns the
    /// same outcome: the same error variant with the same fields (a cause that cannot be
    /// cloned, such as a step's own error type, comes back as its message and its causes).
    pub async fn result(&self) -> Result<StopEvent, WorkflowError> {
        let mut slot = self.outcome.lock().await;
        match &mut *slot {
            Outcome::Done(Ok(stop)) => Ok(stop.clone()),
            Outcome::Done(Err(err)) => Err(err.duplicate()),
            Outcome::Waiting(rx) => {
                let outcome = match rx.await {
                    Ok(outcome) => outcome,
                    // The router task was dropped without an outcome: its runtime shut down.
                    Err(_) => Err(WorkflowError::msg(
                        "the run's task ended without an outcome (was its runtime shut down?)",
                    )),
                };
                *slot = Outcome::Done(match &outcome {
                    Ok(stop) => Ok(stop.clone()),
                    Err(err) => Err(err.duplicate()),
                });
                outcome
            }
        }
    }

    /// The events steps write with [`Context::write_event_to_stream`], in the order they
    /// were written (per writer), ending when the run ends.
    ///
    /// By default nothing is dropped: the stream is unbounded, so events written before the
    /// stream is read (or while it is read slowly) are buffered until read — a run that
    /// writes much and is never read holds its events until the handler is dropped. A
    /// workflow built with [`stream_capacity`](crate::WorkflowBuilder::stream_capacity)
    /// bounds that buffer instead: events that do not fit are dropped and a
    /// [`StreamLagged`](crate::event::StreamLagged) event with their count stands where they
    /// were. Input requests ([`InputRequiredEvent`](crate::event::InputRequiredEvent)) appear
    /// here too (never dropped). The first call takes the stream; later calls get a stream
    /// that ends at once.
    pub fn stream_events(&self) -> EventStream {
        let rx = lock(&self.stream).take();
        let limit = self
            .ctx
            .as_ref()
            .and_then(|c| c.shared().stream_limit.clone());
        EventStream { rx, limit }
    }

    /// Stops the run and returns its snapshot.
    ///
    /// The router starts no new step; steps already running finish, and their events are
    /// queued. The snapshot then holds every queued event, the context state, fan-in
    /// buffers, pending input requests and the stream position; [`result`](Self::result)
    /// ends with [`WorkflowError::Paused`]. With a checkpoint store, the snapshot is saved
    /// there too. Fails with [`WorkflowError::Completed`] if the run completed first (even
    /// while the pause was on its way: [`result`](Self::result) gives its `StopEvent`), and
    /// with [`WorkflowError::NotRunning`] if it is over otherwise.
    pub async fn pause(&self) -> Result<WorkflowSnapshot, WorkflowError> {
        let Some(router) = &self.router else {
            return Err(self.over());
        };
        let (reply, rx) = oneshot::channel();
        if router.send(RouterMsg::Pause { reply }).is_err() {
            return Err(self.over());
        }
        rx.await.unwrap_or_else(|_| Err(self.over()))
    }

    /// Ends the run at once: running steps are dropped where they are (their futures are
    /// aborted), waits are released, queued events are discarded. Returns once no step of
    /// the run is left running; [`result`](Self::result) then gives
    /// [`WorkflowError::Cancelled`], and the event stream ends with a
    /// [`RunFailed`](crate::RunFailed) item. A checkpointing run saves the cancelled status:
    /// [`Workflow::resume_from`](crate::Workflow::resume_from) reports it instead of
    /// running the run again. Fails with [`WorkflowError::Completed`] if the run completed
    /// first, [`WorkflowError::NotRunning`] if it is over otherwise.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// #[step]
    /// async fn forever(_ev: StartEvent) -> StopEvent {
    ///     std::future::pending::<()>().await;
    ///     StopEvent::default()
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let handler = workflow!("forever", [forever]).run(json!({})).await?;
    /// handler.cancel().await?;
    /// assert!(matches!(handler.result().await, Err(WorkflowError::Cancelled { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn cancel(&self) -> Result<(), WorkflowError> {
        let Some(router) = &self.router else {
            return Err(self.over());
        };
        let (reply, rx) = oneshot::channel();
        if router.send(RouterMsg::Cancel { reply }).is_err() {
            return Err(self.over());
        }
        rx.await.unwrap_or_else(|_| Err(self.over()))
    }

    /// [`pause`](Self::pause), giving up after `limit`: a step that never returns would make
    /// a pause wait forever. Past the limit this fails with
    /// [`WorkflowError::Timeout`]; the run stays paused (it starts nothing new, its running
    /// steps go on) and [`cancel`](Self::cancel) ends it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use blazen::prelude::*;
    ///
    /// #[step]
    /// async fn stuck(_ev: StartEvent) -> StopEvent {
    ///     std::future::pending::<()>().await;
    ///     StopEvent::default()
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let handler = workflow!("stuck", [stuck]).run(json!({})).await?;
    /// let paused = handler.pause_timeout(Duration::from_millis(20)).await;
    /// assert!(matches!(paused, Err(WorkflowError::Timeout { .. })));
    /// handler.cancel().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn pause_timeout(
        &self,
        limit: std::time::Duration,
    ) -> Result<WorkflowSnapshot, WorkflowError> {
        let started = std::time::Instant::now();
        match tokio::time::timeout(limit, self.pause()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(WorkflowError::Timeout {
                what: format!("pausing run {} (a step still runs)", self.run_id),
                elapsed: started.elapsed(),
            }),
        }
    }

    /// Lets the run go on without this handler: dropping a handler of a run that is not
    /// checkpointed cancels it (nobody could observe or resume it), a detached one runs to
    /// its end.
    pub fn detach(mut self) {
        if let Some(router) = self.router.take() {
            let _ = router.send(RouterMsg::HandlerDropped { detached: true });
        }
    }

    /// Why a request to a run that is over failed: it completed, or it is not running.
    fn over(&self) -> WorkflowError {
        let completed = match &self.ctx {
            Some(ctx) => ctx.shared().completed(),
            None => false,
        };
        if completed {
            WorkflowError::Completed {
                run_id: self.run_id,
            }
        } else {
            WorkflowError::NotRunning {
                run_id: self.run_id,
            }
        }
    }

    /// The input requests the run is waiting for (see
    /// [`InputRequiredEvent`](crate::event::InputRequiredEvent)).
    pub fn input_requests(&self) -> Vec<InputRequest> {
        lock(&self.inputs.list).clone()
    }

    /// Waits for an unanswered input request: the oldest one at once if there is one, else
    /// the next one the run asks; `None` if the run ends first. (The request stays pending
    /// until [`respond`](Self::respond) answers it, so calling this again before answering
    /// returns it again.)
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// #[step]
    /// fn ask(_ev: StartEvent) -> InputRequiredEvent {
    ///     InputRequiredEvent::new("Ship it?", json!({}))
    /// }
    ///
    /// #[step]
    /// fn decide(ev: InputResponseEvent) -> StopEvent {
    ///     StopEvent::new(ev.response)
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let handler = workflow!("ask", [ask, decide]).run(json!({})).await?;
    /// let request = handler.next_input_request().await.expect("asked");
    /// assert_eq!(request.prompt, "Ship it?");
    /// handler.respond(request.request_id, json!("yes")).await?;
    /// assert_eq!(handler.result().await?.result, json!("yes"));
    /// assert!(handler.next_input_request().await.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn next_input_request(&self) -> Option<InputRequest> {
        let ctx = self.ctx.as_ref()?;
        loop {
            let changed = self.inputs.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a request added meanwhile wakes it.
            changed.as_mut().enable();
            if let Some(request) = lock(&self.inputs.list).first().cloned() {
                return Some(request);
            }
            if ctx.shared().has_ended() {
                return None;
            }
            changed.await;
        }
    }

    /// Answers input request `request_id`: the steps that accept
    /// [`InputResponseEvent`](crate::event::InputResponseEvent) receive `response`.
    pub async fn respond(&self, request_id: Uuid, response: Value) -> Result<(), WorkflowError> {
        let not_running = WorkflowError::NotRunning {
            run_id: self.run_id,
        };
        let Some(router) = &self.router else {
            return Err(not_running);
        };
        let (reply, rx) = oneshot::channel();
        let msg = RouterMsg::Respond(Box::new(Respond {
            request_id,
            response,
            reply,
        }));
        if router.send(msg).is_err() {
            return Err(not_running);
        }
        rx.await.unwrap_or(Err(not_running))
    }

    /// Sends `event` into the run from outside, as a step's
    /// [`Context::send_event`] would: a step waiting for it with
    /// [`Context::wait_for_event`] receives it, else the steps that accept it (an event no
    /// step accepts or waits for fails the run with [`WorkflowError::UnroutedEvent`]); a
    /// `StopEvent` ends the run with it. Fails with [`WorkflowError::NotRunning`] if the run
    /// is over.
    pub fn send_event(&self, event: impl Event) -> Result<(), WorkflowError> {
        let not_running = || WorkflowError::NotRunning {
            run_id: self.run_id,
        };
        let router = self.router.as_ref().ok_or_else(not_running)?;
        router
            .send(RouterMsg::Send {
                event: Box::new(event),
                sender: SENDER_RUN,
            })
            .map_err(|_| not_running())
    }

    /// The run's context (to read its state from outside the steps), if the run is live.
    pub fn context(&self) -> Option<&Context> {
        self.ctx.as_ref()
    }
}

/// The stream of [`WorkflowHandler::stream_events`]: a `futures::Stream` of boxed events.
pub struct EventStream {
    rx: Option<mpsc::UnboundedReceiver<StreamMsg>>,
    /// The run's stream bound, if it has one.
    limit: Option<std::sync::Arc<StreamLimit>>,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("open", &self.rx.is_some())
            .finish()
    }
}

impl Stream for EventStream {
    type Item = Box<dyn Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Ready(None);
        };
        match rx.poll_recv(cx) {
            Poll::Ready(Some(StreamMsg::Event(ev))) => {
                if let Some(limit) = &self.limit {
                    limit.took_event();
                }
                Poll::Ready(Some(ev))
            }
            Poll::Ready(Some(StreamMsg::Lagged(marker))) => {
                let missed = self.limit.as_ref().map_or_else(
                    || marker.load(std::sync::atomic::Ordering::Relaxed),
                    |limit| limit.took_marker(&marker),
                );
                Poll::Ready(Some(Box::new(crate::event::StreamLagged { missed })))
            }
            Poll::Ready(Some(StreamMsg::End)) | Poll::Ready(None) => {
                self.rx = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
