//! Steps: the units of work of a workflow, as the runtime sees them.
//!
//! `#[step]` generates a [`Step`] for each annotated function (`my_step::step()`); code
//! that assembles workflows at run time builds them by hand with [`Step::new`].

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;
use crate::error::WorkflowError;
use crate::event::{DynamicEvent, Event, EventInfo};
use crate::retry::RetryPolicy;

mod fingerprint;
pub(crate) mod output;

pub use fingerprint::fingerprint;

pub use output::{IntoStepOutput, StepOutput};

/// The future a step handler returns.
pub type StepFuture = Pin<Box<dyn Future<Output = Result<StepOutput, WorkflowError>> + Send>>;

/// The type-erased body of a step: it receives the run's [`Context`] and the accepted event.
pub type StepHandler = Arc<dyn Fn(Context, Box<dyn Event>) -> StepFuture + Send + Sync>;

/// A step as the runtime runs it: a name, the events it accepts and emits, a
/// concurrency limit, an optional timeout, and a type-erased handler.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::{EventInfo, Step, StepOutput};
///
/// // A step assembled at run time: accepts StartEvent, emits StopEvent.
/// let step = Step::new("echo", |_ctx, ev| async move {
///     let start = ev.downcast::<StartEvent>().map_err(|e| WorkflowError::msg(format!("unexpected {e:?}")))?;
///     Ok(StepOutput::Single(Box::new(StopEvent::new(start.data))))
/// })
/// .accepts(EventInfo::of::<StartEvent>())
/// .emits(EventInfo::of::<StopEvent>());
/// assert_eq!(step.name(), "echo");
/// ```
#[derive(Clone)]
pub struct Step {
    name: Cow<'static, str>,
    accepts: Vec<EventInfo>,
    emits: Vec<EventInfo>,
    waits: Vec<EventInfo>,
    max_concurrency: usize,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    handler: StepHandler,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("name", &self.name)
            .field("accepts", &self.accepts)
            .field("emits", &self.emits)
            .field("waits_for", &self.waits)
            .field("max_concurrency", &self.max_concurrency)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Step {
    /// A step named `name` running `handler`; add what it accepts and emits with
    /// [`accepts`](Self::accepts) and [`emits`](Self::emits).
    pub fn new<F, Fut>(name: impl Into<Cow<'static, str>>, handler: F) -> Self
    where
        F: Fn(Context, Box<dyn Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<StepOutput, WorkflowError>> + Send + 'static,
    {
        Step::from_handler(name, Arc::new(move |ctx, ev| Box::pin(handler(ctx, ev))))
    }

    /// A step around events known only by name: accepts events named `accepts` (a
    /// [`DynamicEvent`], or a typed event of that name as JSON) and returns what to emit —
    /// a `DynamicEvent`, a `StopEvent`, `Option`/`Vec` of them, … (any [`IntoStepOutput`]).
    /// Declare what it emits with [`emits`](Self::emits) (`EventInfo::named(..)`).
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let analyze = Step::dynamic("analyze", "blazen::StartEvent", |_ctx, ev| async move {
    ///     // A typed event arrives as its JSON: StartEvent is `{"data": <input>}`.
    ///     Ok(DynamicEvent::new("Analyzed", json!({ "text": ev.get("data").unwrap()["text"] })))
    /// })
    /// .emits(EventInfo::named("Analyzed"));
    /// let report = Step::dynamic("report", "Analyzed", |_ctx, ev| async move {
    ///     Ok(StopEvent::new(ev.into_data()))
    /// })
    /// .emits(EventInfo::of::<StopEvent>());
    ///
    /// let wf = Workflow::builder("dynamic").step(analyze).step(report).build()?;
    /// let stop = wf.run(json!({ "text": "hi" })).await?.result().await?;
    /// assert_eq!(stop.result, json!({ "text": "hi" }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn dynamic<F, Fut, O>(
        name: impl Into<Cow<'static, str>>,
        accepts: impl Into<Cow<'static, str>>,
        handler: F,
    ) -> Self
    where
        F: Fn(Context, DynamicEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, WorkflowError>> + Send + 'static,
        O: IntoStepOutput,
    {
        let handler = Arc::new(handler);
        Step::new(name, move |ctx, ev: Box<dyn Event>| {
            let ev = match ev.downcast::<DynamicEvent>() {
                Ok(dynamic) => *dynamic,
                Err(typed) => DynamicEvent::new(typed.event_type(), typed.to_json()),
            };
            let fut = handler(ctx, ev);
            async move { fut.await?.into_step_output() }
        })
        .accepts(EventInfo::named(accepts))
    }

    /// A step from an already type-erased handler.
    pub fn from_handler(name: impl Into<Cow<'static, str>>, handler: StepHandler) -> Self {
        Step {
            name: name.into(),
            accepts: Vec::new(),
            emits: Vec::new(),
            waits: Vec::new(),
            max_concurrency: 0,
            timeout: None,
            retry: None,
            handler,
        }
    }

    /// Adds an accepted event.
    pub fn accepts(mut self, event: EventInfo) -> Self {
        self.accepts.push(event);
        self
    }

    /// Adds an emitted event.
    pub fn emits(mut self, event: EventInfo) -> Self {
        self.emits.push(event);
        self
    }

    /// Declares that the step waits, inside its body, for an event of this type with
    /// [`Context::wait_for_event`] (an undeclared wait is an error).
    ///
    /// A waited-for event is delivered to the waiting execution rather than routed; one
    /// that arrives before anyone waits is held for the next wait. The graph check counts
    /// the event as consumed, and the event may also come from outside the run
    /// ([`WorkflowHandler::send_event`](crate::workflow::WorkflowHandler::send_event)).
    pub fn waits_for(mut self, event: EventInfo) -> Self {
        self.waits.push(event);
        self
    }

    /// At most `n` instances of the step run at once; 0 means unlimited.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n;
        self
    }

    /// Each execution of the step fails with a timeout error after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs the step again when it fails, as `policy` says (see [`RetryPolicy`]); the
    /// step reads its attempt number with [`Context::attempt`].
    ///
    /// ```
    /// use blazen::prelude::*;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let flaky = Step::dynamic("flaky", "blazen::StartEvent", |ctx, _ev| async move {
    ///     if ctx.attempt() < 3 {
    ///         return Err(WorkflowError::msg("busy"));
    ///     }
    ///     Ok(StopEvent::new(json!(ctx.attempt())))
    /// })
    /// .emits(EventInfo::of::<StopEvent>())
    /// .retry(RetryPolicy::constant(3, Duration::from_millis(1)));
    /// let wf = Workflow::builder("flaky").step(flaky).build()?;
    /// assert_eq!(wf.run(json!({})).await?.result().await?.result, json!(3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Renames the step.
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// The step's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The events the step accepts.
    pub fn accepted(&self) -> &[EventInfo] {
        &self.accepts
    }

    /// The events the step emits.
    pub fn emitted(&self) -> &[EventInfo] {
        &self.emits
    }

    /// The events the step waits for inside its body (see [`waits_for`](Self::waits_for)).
    pub fn awaited(&self) -> &[EventInfo] {
        &self.waits
    }

    /// The concurrency limit (0: unlimited).
    pub fn concurrency_limit(&self) -> usize {
        self.max_concurrency
    }

    /// The per-execution timeout.
    pub fn step_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The retry policy, if the step has one.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    /// The type-erased handler.
    pub fn handler(&self) -> &StepHandler {
        &self.handler
    }
}
