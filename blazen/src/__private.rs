//! Items used by the code that blazen's macros generate. Not public API: names and
//! signatures here change without notice.

use std::borrow::Cow;
use std::future::Future;

pub use serde;
pub use serde_json;

pub use crate::tool::__private as tool;
pub use schemars;

pub use crate::event::downcast_event;
pub use crate::graph::analysis::{analyze_sized, slot_count, GraphReport};
pub use crate::graph::assert_graph;
pub use crate::graph::nodes::{
    concat_events, EventNode, StepNode, ALLOW_DEAD_END, ALLOW_UNACCEPTED, ALLOW_UNEMITTED,
    ALLOW_UNREACHABLE,
};

use crate::context::Context;
use crate::error::WorkflowError;
use crate::event::{Event, EventInfo, TypedEvent};
use crate::step::{IntoStepOutput, Step, StepOutput};

pub use ::core::result::Result::{Err, Ok};
pub use ::std::boxed::Box;

/// What a step's return type emits, as a constant list the graph checks can read, and how
/// to turn it into the events to route.
///
/// Implemented for typed events, `()`, `Option<T>`, `Vec<T>`, `Result<T, E>`, the
/// `#[event(one_of)]` enums, [`Either`](crate::Either) and [`OneOf3`](crate::OneOf3)
/// (in `choice.rs`), and the dynamic forms `Box<dyn Event>` and `StepOutput`
/// (which list nothing: declare what they emit with `emits = [..]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a step can emit",
    label = "a step returns an event, `Option<E>`, `Vec<E>`, `()`, an `#[event(one_of)]` enum, or one of these in a `Result`",
    note = "events implement `Event` through `#[derive(Event)]`"
)]
pub trait EmitSet: Sized {
    /// The events the type can carry.
    const LIST: &'static [EventNode<'static>];
    /// The events to route.
    fn into_output(self) -> Result<StepOutput, WorkflowError>;
}

#[diagnostic::do_not_recommend]
impl<E: TypedEvent> EmitSet for E {
    const LIST: &'static [EventNode<'static>] = &[EventNode::of::<E>()];
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        self.into_step_output()
    }
}

impl EmitSet for () {
    const LIST: &'static [EventNode<'static>] = &[];
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(StepOutput::None)
    }
}

impl EmitSet for StepOutput {
    const LIST: &'static [EventNode<'static>] = &[];
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(self)
    }
}

impl EmitSet for Box<dyn Event> {
    const LIST: &'static [EventNode<'static>] = &[];
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(StepOutput::Single(self))
    }
}

#[diagnostic::do_not_recommend]
impl<T: EmitSet> EmitSet for Option<T> {
    const LIST: &'static [EventNode<'static>] = T::LIST;
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        match self {
            Some(t) => t.into_output(),
            None => Ok(StepOutput::None),
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T: EmitSet> EmitSet for Vec<T> {
    const LIST: &'static [EventNode<'static>] = T::LIST;
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        let mut out = Vec::with_capacity(self.len());
        for item in self {
            match item.into_output()? {
                StepOutput::None => {}
                StepOutput::Single(e) => out.push(e),
                StepOutput::Many(es) => out.extend(es),
            }
        }
        Ok(StepOutput::Many(out))
    }
}

#[diagnostic::do_not_recommend]
impl<T: EmitSet, E: Into<WorkflowError>> EmitSet for Result<T, E> {
    const LIST: &'static [EventNode<'static>] = T::LIST;
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        self.map_err(Into::into)?.into_output()
    }
}

/// What a step's event parameter accepts, and how to get it from a routed event.
///
/// Implemented for typed events, `Box<dyn Event>` (which lists nothing: declare what it
/// accepts with `accepts = [..]`), the `#[event(one_of)]` enums, [`Either`](crate::Either)
/// and [`OneOf3`](crate::OneOf3).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the event parameter of a step",
    label = "the event parameter is an event type, an `#[event(one_of)]` enum, or `Box<dyn Event>` with `accepts = [..]`",
    note = "events implement `Event` through `#[derive(Event)]`"
)]
pub trait StepInput: Sized + Send + 'static {
    /// The events the parameter can hold.
    const LIST: &'static [EventNode<'static>];
    /// The parameter from a routed event.
    fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError>;
}

#[diagnostic::do_not_recommend]
impl<E: TypedEvent> StepInput for E {
    const LIST: &'static [EventNode<'static>] = &[EventNode::of::<E>()];
    fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError> {
        downcast_event::<E>(ev)
    }
}

impl StepInput for Box<dyn Event> {
    const LIST: &'static [EventNode<'static>] = &[];
    fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError> {
        Ok(ev)
    }
}

/// A typed event named in `accepts = [..]`, `emits = [..]` or an `#[event(one_of)]` variant.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event",
    label = "expected an event type",
    note = "events implement `Event` through `#[derive(Event)]`"
)]
pub trait ListedEvent: Sized {
    /// The event as the analysis sees it.
    const NODE: EventNode<'static>;
    /// The event, boxed for routing.
    fn into_output(self) -> Result<StepOutput, WorkflowError>;
    /// The event from a routed event.
    fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError>;
}

#[diagnostic::do_not_recommend]
impl<E: TypedEvent> ListedEvent for E {
    const NODE: EventNode<'static> = EventNode::of::<E>();
    fn into_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(StepOutput::Single(Box::new(self)))
    }
    fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError> {
        downcast_event::<E>(ev)
    }
}

/// The value of `#[step(retry = ..)]`.
#[diagnostic::on_unimplemented(
    message = "`retry = ..` takes a `RetryPolicy`, not `{Self}`",
    label = "expected a `RetryPolicy`, e.g. `RetryPolicy::exponential(3, Duration::from_millis(100))`"
)]
pub trait StepRetry {
    /// The policy.
    fn into_policy(self) -> crate::RetryPolicy;
}

impl StepRetry for crate::RetryPolicy {
    fn into_policy(self) -> crate::RetryPolicy {
        self
    }
}

/// The value of `#[step(timeout = ..)]`.
#[diagnostic::on_unimplemented(
    message = "`timeout = ..` takes a `Duration`, not `{Self}`",
    label = "expected a `std::time::Duration`, e.g. `Duration::from_secs(5)`"
)]
pub trait StepTimeout {
    /// The timeout.
    fn into_duration(self) -> std::time::Duration;
}

impl StepTimeout for std::time::Duration {
    fn into_duration(self) -> std::time::Duration {
        self
    }
}

/// The error a step returns when its event parameter cannot hold the routed event.
pub fn unexpected_event(step: &str, ev: &dyn Event) -> WorkflowError {
    WorkflowError::EventDecode {
        event: ev.event_type().to_owned(),
        message: format!("step `{step}` does not take this event"),
    }
}

/// The run-time [`Step`] described by `node`, running `handler`.
pub fn build_step<F, Fut>(node: &StepNode<'static>, max_concurrency: usize, handler: F) -> Step
where
    F: Fn(Context, Box<dyn Event>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<StepOutput, WorkflowError>> + Send + 'static,
{
    let info = |e: &EventNode<'static>| EventInfo {
        name: Cow::Borrowed(e.name),
        identity: if e.identity.is_empty() {
            None
        } else {
            Some(e.identity)
        },
    };
    let mut step = Step::new(node.name, handler).max_concurrency(max_concurrency);
    for e in node.accepts {
        step = step.accepts(info(e));
    }
    for e in node.emits {
        step = step.emits(info(e));
    }
    for e in node.waits {
        step = step.waits_for(info(e));
    }
    step
}

/// Checks, during const evaluation, that the event parameter of step `step` can hold every
/// event of `accepts`; a parameter listing nothing (`Box<dyn Event>`) holds anything.
pub const fn assert_param_holds(
    step: &str,
    param: &[EventNode<'static>],
    accepts: &[EventNode<'static>],
) {
    if param.is_empty() {
        return;
    }
    let mut i = 0;
    while i < accepts.len() {
        let mut found = false;
        let mut j = 0;
        while j < param.len() {
            if param[j].name_id == accepts[i].name_id {
                found = true;
            }
            j += 1;
        }
        if !found {
            let mut msg = crate::graph::message::ConstMessage::<1024>::new();
            msg.push("step `");
            msg.push(step);
            msg.push("` accepts `");
            msg.push(accepts[i].name);
            msg.push("`, which its event parameter cannot hold (take `Box<dyn Event>` or an `#[event(one_of)]` enum listing it)");
            panic!("{}", msg.as_str());
        }
        i += 1;
    }
}

/// The serde requirement of events, checked at the type by `#[derive(Event)]`.
#[diagnostic::on_unimplemented(
    message = "event `{Self}` must implement `Serialize` and `Deserialize`",
    label = "add `#[derive(Serialize, Deserialize)]` to this type",
    note = "events travel as JSON between steps, to the event stream and into snapshots"
)]
pub trait SerdeEvent: serde::Serialize + serde::de::DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned> SerdeEvent for T {}

/// The JSON form of an event (`Event::to_json` of derived events).
pub fn event_to_json<T: serde::Serialize>(ev: &T) -> serde_json::Value {
    serde_json::to_value(ev).unwrap_or(serde_json::Value::Null)
}

/// The run-time step of a step whose definition did not compile (never run: the build fails).
pub fn invalid_step(node: &StepNode<'static>) -> Step {
    let name = node.name;
    Step::new(name, move |_ctx, _ev| async move {
        Err(WorkflowError::msg(format!("step `{name}` did not compile")))
    })
}

/// Builds the workflow of `workflow!`, whose graph the compiler already checked.
///
/// `allow` is the mask of `allow = [..]`; the same checks are switched off at run time.
pub fn build_workflow(builder: crate::workflow::WorkflowBuilder, allow: u32) -> crate::Workflow {
    let mut builder = builder;
    for check in crate::graph::GraphCheck::ALL {
        if allow & check.bit() != 0 {
            builder = builder.allow(check);
        }
    }
    match builder.build() {
        Ok(wf) => wf,
        // The const check in the expansion ran the same analysis on the same metadata, so a
        // workflow that compiled has no graph defect; `build` fails on nothing else.
        Err(e) => unreachable!("workflow! built a graph the compiler checked, yet: {e}"),
    }
}
