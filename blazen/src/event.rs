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
