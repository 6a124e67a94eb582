//! Helpers for the runtime tests: typed events without the derive, and steps built by hand.

use std::future::Future;

use blazen::prelude::*;
use blazen::{downcast_event, EventInfo, IntoStepOutput, StepOutput};

/// Implements `Event` and `TypedEvent` for a serde struct (what `#[derive(Event)]` does).
#[macro_export]
macro_rules! test_event {
    ($ty:ident) => {
        impl ::blazen::Event for $ty {
            fn event_type(&self) -> &str {
                stringify!($ty)
            }
            fn to_json(&self) -> ::serde_json::Value {
                ::serde_json::to_value(self).unwrap_or(::serde_json::Value::Null)
            }
            fn as_any(&self) -> &dyn ::std::any::Any {
                self
            }
            fn into_any(self: Box<Self>) -> Box<dyn ::std::any::Any + Send + Sync> {
                self
            }
            fn clone_event(&self) -> Box<dyn ::blazen::Event> {
                Box::new(self.clone())
            }
        }
        impl ::blazen::TypedEvent for $ty {
            const EVENT_TYPE: &'static str = stringify!($ty);
            const EVENT_IDENTITY: &'static str = concat!(module_path!(), "::", stringify!($ty));
        }
    };
}

/// A number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Num {
    pub(crate) n: u64,
}
test_event!(Num);

/// A word with a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Word {
    pub(crate) text: String,
    pub(crate) score: f64,
}
test_event!(Word);

/// A result of some work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Done {
    pub(crate) n: u64,
}
test_event!(Done);

/// A step named `name` that accepts `I` and runs an async `f`; declare what it emits with
/// `.emits(..)`.
pub(crate) fn step<I, O, F, Fut>(name: &'static str, f: F) -> Step
where
    I: TypedEvent,
    O: IntoStepOutput + Send + 'static,
    F: Fn(Context, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    let f = std::sync::Arc::new(f);
    Step::new(name, move |ctx, ev| {
        let f = std::sync::Arc::clone(&f);
        async move {
            let ev: I = downcast_event(ev)?;
            f(ctx, ev).await.into_step_output()
        }
    })
    .accepts(EventInfo::of::<I>())
}

/// `EventInfo` of a typed event.
pub(crate) fn ev<E: TypedEvent>() -> EventInfo {
    EventInfo::of::<E>()
}

/// Output of several events of different types.
pub(crate) fn many(events: Vec<Box<dyn Event>>) -> StepOutput {
    StepOutput::Many(events)
}
