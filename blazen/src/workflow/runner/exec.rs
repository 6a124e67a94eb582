//! One step execution in its own task: its attempts under a retry policy, its timeout, a
//! panic caught as a failure.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::context::Context;
use crate::error::WorkflowError;
use crate::event::Event;
use crate::retry::RetryPolicy;
use crate::run::msg::{RouterMsg, StepFailure};
use crate::run::RunShared;
use crate::step::{StepHandler, StepOutput};

/// Spawns a step execution, inside its span when tracing is on.
pub(super) fn spawn_step<F>(span: tracing::Span, task: F) -> JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if span.is_disabled() {
        tokio::spawn(task)
    } else {
        tokio::spawn(task.instrument(span))
    }
}

/// The attempts of one execution of a step with a retry policy.
pub(super) struct Attempts {
    pub(super) policy: RetryPolicy,
    /// The attempt to start with (above 1 when resumed during the attempts).
    pub(super) first: u32,
    /// The step's timeout, for each attempt.
    pub(super) timeout: Option<Duration>,
    pub(super) step: Arc<str>,
    pub(super) event: Arc<str>,
}

impl Attempts {
    /// Runs the step until it succeeds, the policy gives up or the attempts are used up,
    /// backing off between attempts (in this task: the step keeps its concurrency permit).
    pub(super) async fn run(
        self,
        shared: &RunShared,
        slot: u32,
        handler: &StepHandler,
        ctx: Context,
        ev: Box<dyn Event>,
    ) -> Result<StepOutput, StepFailure> {
        let mut attempt = self.first.max(1);
        loop {
            let once = run_once(
                handler,
                ctx.clone().with_attempt(attempt),
                ev.clone_event(),
                self.timeout,
            );
            let failure = match once.await {
                Ok(output) => return Ok(output),
                Err(failure) => failure,
            };
            // The retry predicate sees a step's error as is, a panic or a timeout as the
            // error the run reports for it.
            let caught;
            let err = match &failure {
                StepFailure::Error(source) => &**source,
                StepFailure::Panic(message) => {
                    caught =
                        StepFailure::Panic(message.clone()).into_error(&self.step, &self.event);
                    &caught
                }
                StepFailure::Timeout(elapsed) => {
                    caught = StepFailure::Timeout(*elapsed).into_error(&self.step, &self.event);
                    &caught
                }
            };
            if attempt >= self.policy.max_attempts() || !self.policy.retries(err) {
                return Err(failure);
            }
            attempt += 1;
            let delay = self.policy.backoff(attempt);
            tracing::warn!(
                target: "blazen::retry",
                step = %self.step,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "retrying step"
            );
            let _ = shared.router.send(RouterMsg::Retrying { slot, attempt });
            tokio::time::sleep(delay).await;
        }
    }
}

/// Runs the step once, within `timeout`, a panic caught as a failure (the handler is
/// called inside the caught future: a panic while it makes its future is caught too).
pub(super) async fn run_once(
    handler: &StepHandler,
    ctx: Context,
    ev: Box<dyn Event>,
    timeout: Option<Duration>,
) -> Result<StepOutput, StepFailure> {
    let body = AssertUnwindSafe(async move { handler(ctx, ev).await }).catch_unwind();
    match timeout {
        None => step_result(body.await),
        Some(limit) => {
            // The body starts when polled: the clock (read only for a step with a timeout)
            // starts with it.
            let started = Instant::now();
            match tokio::time::timeout(limit, body).await {
                Ok(caught) => step_result(caught),
                Err(_) => Err(StepFailure::Timeout(started.elapsed())),
            }
        }
    }
}

type CaughtStep = Result<Result<StepOutput, WorkflowError>, Box<dyn std::any::Any + Send>>;

fn step_result(caught: CaughtStep) -> Result<StepOutput, StepFailure> {
    match caught {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(err)) => Err(StepFailure::Error(Box::new(err))),
        Err(payload) => Err(StepFailure::Panic(panic_message(&*payload))),
    }
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
