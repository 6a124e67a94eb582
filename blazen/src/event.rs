//! Events: the messages that flow between steps.
//!
//! Every event implements the object-safe [`Event`] trait, so the router can carry
//! `Box<dyn Event>` without knowing the concrete type. Events defined with
//! `#[derive(Event)]` also implement [`TypedEvent`], which gives them a compile-time
//! [`TypedEvent::EVENT_TYPE`] name and a type identity used by the graph checks.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::WorkflowError;

/// An event that can travel through a workflow.
///
/// The trait is object safe: the runtime moves events as `Box<dyn Event>` and
/// recovers the concrete type with [`downcast`](trait.Event.html#method.downcast)
/// or [`downcast_ref`](trait.Event.html#method.downcast_ref).
pub trait Event: Any + Send + Sync + fmt::Debug {
    /// The event's type name, used for routing (`"AnalyzeEvent"`, `"blazen::StartEvent"`).
    fn event_type(&self) -> &str;
    /// The event's data as JSON (the Python face's `to_dict`).
    fn to_json(&self) -> Value;
    /// The event as `&dyn Any`, for downcasting.
    fn as_any(&self) -> &dyn Any;
    /// The boxed event as `Box<dyn Any>`, for downcasting by value.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync>;
    /// A boxed copy of the event (an event accepted by several steps goes to each).
    fn clone_event(&self) -> Box<dyn Event>;
}

impl dyn Event {
    /// Whether the event is of concrete type `T`.
    pub fn is<T: Event>(&self) -> bool {
        self.as_any().is::<T>()
    }

    /// A reference to the concrete event, if it is a `T`.
    pub fn downcast_ref<T: Event>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }

    /// The concrete event by value, or the event back if it is not a `T`.
    pub fn downcast<T: Event>(self: Box<Self>) -> Result<Box<T>, Box<dyn Event>> {
        if self.is::<T>() {
            match self.into_any().downcast::<T>() {
                Ok(t) => Ok(t),
                // `is::<T>()` was just checked; this arm cannot be taken.
                Err(_) => unreachable!("type checked by is::<T>()"),
            }
        } else {
            Err(self)
        }
    }
}

impl Clone for Box<dyn Event> {
    fn clone(&self) -> Self {
        (**self).clone_event()
    }
}

/// An event whose Rust type is known at compile time; implemented by `#[derive(Event)]`.
///
/// `EVENT_TYPE` is the routing name; `EVENT_IDENTITY` names the Rust type
/// (`module_path!()::Name`), so that two types of the same name in different modules stay
/// apart while an alias resolves to the type it names.
pub trait TypedEvent: Event + Clone + Serialize + DeserializeOwned + Sized {
    /// The routing name of the event (the type's name unless renamed).
    const EVENT_TYPE: &'static str;
    /// The identity of the Rust type: `concat!(module_path!(), "::", TypeName)`.
    const EVENT_IDENTITY: &'static str;
    /// A 64-bit FNV-1a hash of [`EVENT_IDENTITY`](Self::EVENT_IDENTITY), for cheap
    /// comparisons in const evaluation.
    const EVENT_ID: u64 = fnv1a64(Self::EVENT_IDENTITY);
}

/// The 64-bit FNV-1a hash of a string, usable in const context.
pub const fn fnv1a64(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The description of an event type in a step's `accepts` or `emits` list.
///
/// Typed events carry their Rust identity; events named only by a string (steps built at
/// run time around [`DynamicEvent`]s) have none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventInfo {
    /// The routing name.
    pub name: Cow<'static, str>,
    /// The Rust type identity, when the event is a typed event.
    pub identity: Option<&'static str>,
}

impl EventInfo {
    /// The description of the typed event `E`.
    pub fn of<E: TypedEvent>() -> Self {
        EventInfo {
            name: Cow::Borrowed(E::EVENT_TYPE),
            identity: Some(E::EVENT_IDENTITY),
        }
    }

    /// An event known only by its routing name.
    pub fn named(name: impl Into<Cow<'static, str>>) -> Self {
        EventInfo {
            name: name.into(),
            identity: None,
        }
    }
}

/// An event built at run time from a type name and JSON data (the Python face's
/// `Event("AnalyzeEvent", text=...)`).
///
/// A dynamic event is routed exactly like the typed event of the same name; a step that
/// accepts the typed event receives it deserialized.
///
/// ```
/// use blazen::prelude::*;
/// let ev = DynamicEvent::new("AnalyzeEvent", json!({"text": "hello", "score": 0.9}));
/// assert_eq!(ev.event_type(), "AnalyzeEvent");
/// assert_eq!(ev.get("text"), Some(&json!("hello")));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamicEvent {
    event_type: String,
    data: Value,
}

impl DynamicEvent {
    /// A new event named `event_type` carrying `data` (normally a JSON object).
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        DynamicEvent {
            event_type: event_type.into(),
            data,
        }
    }

    /// A field of the event's data.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.data.get(field)
    }

    /// The event's data.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The event's data, by value.
    pub fn into_data(self) -> Value {
        self.data
    }
}

impl Event for DynamicEvent {
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn to_json(&self) -> Value {
        self.data.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync> {
        self
    }
    fn clone_event(&self) -> Box<dyn Event> {
        Box::new(self.clone())
    }
}

macro_rules! builtin_event {
    ($ty:ident, $name:literal) => {
        impl Event for $ty {
            fn event_type(&self) -> &str {
                $name
            }
            fn to_json(&self) -> Value {
                serde_json::to_value(self).unwrap_or(Value::Null)
            }
            fn as_any(&self) -> &dyn Any {
                self
            }
            fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync> {
                self
            }
            fn clone_event(&self) -> Box<dyn Event> {
                Box::new(self.clone())
            }
        }

        impl TypedEvent for $ty {
            const EVENT_TYPE: &'static str = $name;
            const EVENT_IDENTITY: &'static str = $name;
        }
    };
}

/// The event that starts a run; it carries the run's input.
///
/// ```
/// use blazen::prelude::*;
/// let start = StartEvent::new(json!({"prompt": "Hello"}));
/// assert_eq!(start.event_type(), "blazen::StartEvent");
/// assert_eq!(start.get("prompt"), Some(&json!("Hello")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartEvent {
    /// The run's input (the keyword arguments of the Python face's `run`).
    pub data: Value,
}

impl StartEvent {
    /// A start event carrying `data`.
    pub fn new(data: Value) -> Self {
        StartEvent { data }
    }

    /// A field of the input.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.data.get(field)
    }

    /// The input deserialized into `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }
}

/// The event that ends a run; its `result` is what `WorkflowHandler::result` returns.
///
/// ```
/// use blazen::prelude::*;
/// let stop = StopEvent::new(json!({"answer": 42}));
/// assert_eq!(stop.event_type(), "blazen::StopEvent");
/// assert_eq!(stop.result["answer"], 42);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StopEvent {
    /// The run's result.
    pub result: Value,
}

impl StopEvent {
    /// A stop event carrying `result`.
    pub fn new(result: Value) -> Self {
        StopEvent { result }
    }

    /// The result deserialized into `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.result)
    }
}

builtin_event!(StartEvent, "blazen::StartEvent");
builtin_event!(StopEvent, "blazen::StopEvent");

/// Recovers the typed event `E` from a routed event.
///
/// A boxed `E` is unboxed; an event of another concrete type with the routing name
/// `E::EVENT_TYPE` (normally a [`DynamicEvent`], or an event restored from a snapshot) is
/// deserialized from its JSON data. If the data does not fit, the error names the event and
/// the field ([`WorkflowError::EventDecode`]). The handlers generated by `#[step]` call this;
/// steps built by hand can too.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::event::downcast_event;
///
/// let ev: Box<dyn Event> = Box::new(DynamicEvent::new("blazen::StopEvent", json!({"result": 7})));
/// let stop: StopEvent = downcast_event(ev)?;
/// assert_eq!(stop.result, json!(7));
///
/// let bad: Box<dyn Event> = Box::new(DynamicEvent::new("blazen::StopEvent", json!(3)));
/// assert!(downcast_event::<StopEvent>(bad).is_err());
/// # Ok::<(), WorkflowError>(())
/// ```
pub fn downcast_event<E: TypedEvent>(ev: Box<dyn Event>) -> Result<E, WorkflowError> {
    let ev = match ev.downcast::<E>() {
        Ok(e) => return Ok(*e),
        Err(ev) => ev,
    };
    if ev.event_type() != E::EVENT_TYPE {
        return Err(WorkflowError::EventDecode {
            event: ev.event_type().to_owned(),
            message: format!("expected an event of type `{}`", E::EVENT_TYPE),
        });
    }
    let data = match ev.downcast::<DynamicEvent>() {
        Ok(dynamic) => dynamic.into_data(),
        Err(other) => other.to_json(),
    };
    decode_event_data(E::EVENT_TYPE, data)
}

/// Deserializes `data` into `E`, naming the offending field on failure.
pub(crate) fn decode_event_data<E: DeserializeOwned>(
    event: &str,
    data: Value,
) -> Result<E, WorkflowError> {
    serde_path_to_error::deserialize::<_, E>(data).map_err(|err| {
        let path = err.path().to_string();
        let message = if path == "." || path.is_empty() {
            err.inner().to_string()
        } else {
            format!("field `{path}`: {}", err.inner())
        };
        WorkflowError::EventDecode {
            event: event.to_owned(),
            message,
        }
    })
}

/// A step asks a person for input: the run waits until the request is answered.
///
/// Emitting this event (returning it or sending it with `ctx.send_event`) publishes it to the
/// event stream, lists it in `WorkflowHandler::input_requests`, and — once no other step is
/// running — persists the run's snapshot to the workflow's checkpoint store, if it has one.
/// Answering it with `WorkflowHandler::respond` (or `Workflow::respond_from` after a restart)
/// delivers an [`InputResponseEvent`] with the same `request_id` to the steps that accept it.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::event::InputRequiredEvent;
/// let req = InputRequiredEvent::new("Approve the plan?", json!({"plan": "ship it"}));
/// assert_eq!(req.event_type(), "blazen::InputRequiredEvent");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRequiredEvent {
    /// The id that [`InputResponseEvent::request_id`] echoes.
    pub request_id: uuid::Uuid,
    /// The question for the person.
    pub prompt: String,
    /// Anything the person (or the UI) needs to answer.
    #[serde(default)]
    pub metadata: Value,
}

impl InputRequiredEvent {
    /// A request with a fresh random id.
    pub fn new(prompt: impl Into<String>, metadata: Value) -> Self {
        InputRequiredEvent {
            request_id: uuid::Uuid::new_v4(),
            prompt: prompt.into(),
            metadata,
        }
    }
}

/// The answer to an [`InputRequiredEvent`], delivered to the steps that accept it.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::event::InputResponseEvent;
/// let resp = InputResponseEvent { request_id: uuid::Uuid::new_v4(), response: json!("yes") };
/// assert_eq!(resp.event_type(), "blazen::InputResponseEvent");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputResponseEvent {
    /// The id of the request this answers.
    pub request_id: uuid::Uuid,
    /// The person's answer.
    #[serde(default)]
    pub response: Value,
}

/// Published on a run's event stream in place of events a slow reader missed, when the
/// workflow bounds its stream ([`WorkflowBuilder::stream_capacity`](crate::WorkflowBuilder::stream_capacity)):
/// `missed` events were written while the reader was that far behind, and were dropped here.
/// Without a bound (the default) nothing is ever dropped and this event never appears.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::event::StreamLagged;
/// let lag = StreamLagged { missed: 3 };
/// assert_eq!(lag.event_type(), "blazen::StreamLagged");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamLagged {
    /// How many events were dropped at this point of the stream.
    pub missed: u64,
}

builtin_event!(InputRequiredEvent, "blazen::InputRequiredEvent");
builtin_event!(StreamLagged, "blazen::StreamLagged");
builtin_event!(InputResponseEvent, "blazen::InputResponseEvent");

/// Sent by the runtime when a step fails for good (its error, panic or timeout, after its
/// [`RetryPolicy`](crate::RetryPolicy) gave up), if some step accepts it: that step decides
/// what happens next (emit a recovery event, or a `StopEvent` with a fallback answer) and
/// the run goes on. Without such a step the run fails as usual. The graph check knows the
/// runtime emits it (like `StartEvent`). A failure of the step handling `StepFailed` fails
/// the run; [`WorkflowBuilder::max_recoveries`](crate::WorkflowBuilder::max_recoveries)
/// bounds how many failures one run recovers from.
///
/// ```
/// use blazen::prelude::*;
///
/// #[step]
/// fn flaky(_ev: StartEvent) -> Result<StopEvent, WorkflowError> {
///     Err(WorkflowError::msg("service down"))
/// }
///
/// #[step]
/// fn fallback(failed: StepFailed) -> StopEvent {
///     StopEvent::new(json!({ "fallback": true, "step": failed.step, "attempts": failed.attempts }))
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), WorkflowError> {
/// let wf = workflow!("fallback", [flaky, fallback]);
/// let stop = wf.run(json!({})).await?.result().await?;
/// assert_eq!(stop.result, json!({ "fallback": true, "step": "flaky", "attempts": 1 }));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepFailed {
    /// The step that failed.
    pub step: String,
    /// The routing name of the event it was handling.
    pub event_type: String,
    /// What went wrong (the step's error, the panic message, or the timeout).
    pub error: String,
    /// How many times the step ran on that event (1 without retries).
    pub attempts: u32,
}

/// What ended a run that did not complete (see [`RunFailed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// A step returned an error.
    StepError,
    /// A step panicked.
    Panic,
    /// The workflow or a step ran out of time.
    Timeout,
    /// Nothing ran, nothing was queued and no `StopEvent` came.
    Stalled,
    /// `WorkflowHandler::cancel`.
    Cancelled,
    /// Anything else (an unrouted event, a checkpoint that could not be saved, …).
    Other,
}

/// The last item of [`WorkflowHandler::stream_events`](crate::WorkflowHandler::stream_events)
/// when a run fails (on success the last item is the `StopEvent`): what failed, the step,
/// and the message; the stream ends after it. Never dropped from a bounded stream. A paused
/// run's stream just ends.
///
/// ```
/// use blazen::prelude::*;
/// use futures::StreamExt;
///
/// #[step]
/// fn broken(_ev: StartEvent) -> Result<StopEvent, WorkflowError> {
///     Err(WorkflowError::msg("boom"))
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), WorkflowError> {
/// let handler = workflow!("broken", [broken]).run(json!({})).await?;
/// let events: Vec<_> = handler.stream_events().collect().await;
/// let failed = events.last().and_then(|e| e.downcast_ref::<RunFailed>()).unwrap();
/// assert_eq!(failed.kind, FailureKind::StepError);
/// assert_eq!(failed.step.as_deref(), Some("broken"));
/// assert!(failed.message.contains("boom"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailed {
    /// What failed.
    pub kind: FailureKind,
    /// The step that failed, when a step did.
    pub step: Option<String>,
    /// The error's message (as `result()` would display it).
    pub message: String,
}

impl RunFailed {
    /// The stream item for a run that ended with `err`.
    pub(crate) fn of(err: &WorkflowError) -> Self {
        let (kind, step) = match err {
            WorkflowError::Step { step, .. } => (FailureKind::StepError, Some(step.clone())),
            WorkflowError::Panic { step, .. } => (FailureKind::Panic, Some(step.clone())),
            WorkflowError::Timeout { .. } => (FailureKind::Timeout, None),
            WorkflowError::Stalled { .. } => (FailureKind::Stalled, None),
            WorkflowError::Cancelled { .. } => (FailureKind::Cancelled, None),
            WorkflowError::TooManyRecoveries { source, .. } => {
                let inner = RunFailed::of(source);
                (inner.kind, inner.step)
            }
            _ => (FailureKind::Other, None),
        };
        RunFailed {
            kind,
            step,
            message: err.to_string(),
        }
    }
}

builtin_event!(StepFailed, "blazen::StepFailed");
builtin_event!(RunFailed, "blazen::RunFailed");
