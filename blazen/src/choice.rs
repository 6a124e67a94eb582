//! Choices of events without a declared enum: [`Either`] and [`OneOf3`].
//!
//! A step returning `Either<A, B>` emits an `A` or a `B`; both are edges of the graph the
//! compiler checks (a missing accepter for either is a compile error of `workflow!`), also
//! inside `Result<..>` and `Option<..>`. As a step's event parameter, `Either<A, B>` receives
//! both. With [`Context::collect_any`](crate::Context::collect_any) a step gathers `A`s and
//! `B`s in one batch, in arrival order.
//!
//! [`EventChoice`] is what these types (and every typed event, a choice of one) share: the
//! name of their fan-in buffer and their conversions from and to routed events.

use std::borrow::Cow;

use crate::__private::{EmitSet, StepInput};
use crate::error::WorkflowError;
use crate::event::{downcast_event, Event, TypedEvent};
use crate::graph::nodes::EventNode;
use crate::step::{IntoStepOutput, StepOutput};

/// An event, or a choice of events, that [`Context::collect_any`](crate::Context::collect_any)
/// can buffer: every typed event, [`Either`] and [`OneOf3`] of typed events.
pub trait EventChoice: Sized + Send + 'static {
    /// The name of the fan-in buffer of this choice: the routing names joined with `|`.
    fn fan_in_key() -> Cow<'static, str>;
    /// The choice from a routed (or restored) event; an error for an event it cannot hold.
    fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError>;
    /// The event held.
    fn as_event(&self) -> &dyn Event;
}

impl<E: TypedEvent> EventChoice for E {
    fn fan_in_key() -> Cow<'static, str> {
        Cow::Borrowed(E::EVENT_TYPE)
    }
    fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError> {
        downcast_event::<E>(ev)
    }
    fn as_event(&self) -> &dyn Event {
        self
    }
}

/// The error for an event a choice cannot hold.
fn not_held(ev: &dyn Event, names: &[&str]) -> WorkflowError {
    WorkflowError::EventDecode {
        event: ev.event_type().to_owned(),
        message: format!("expected one of `{}`", names.join("`, `")),
    }
}

/// Defines a choice type over typed events, with its conversions and graph metadata.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($variant:ident($param:ident)),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name<$($param),+> {
            $(
                #[doc = concat!("An event of the type `", stringify!($param), "`.")]
                $variant($param),
            )+
        }

        impl<$($param: TypedEvent),+> EventChoice for $name<$($param),+> {
            fn fan_in_key() -> Cow<'static, str> {
                Cow::Owned([$($param::EVENT_TYPE),+].join("|"))
            }
            fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError> {
                $(
                    if ev.event_type() == $param::EVENT_TYPE {
                        return downcast_event::<$param>(ev).map($name::$variant);
                    }
                )+
                Err(not_held(&*ev, &[$($param::EVENT_TYPE),+]))
            }
            fn as_event(&self) -> &dyn Event {
                match self {
                    $($name::$variant(ev) => ev,)+
                }
            }
        }

        impl<$($param: TypedEvent),+> IntoStepOutput for $name<$($param),+> {
            fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
                match self {
                    $($name::$variant(ev) => Ok(StepOutput::Single(Box::new(ev))),)+
                }
            }
        }

        // Each arm is an edge of the graph: the list names every type. (Not offered in the
        // compiler's list of alternatives when a step's type is wrong.)
        #[diagnostic::do_not_recommend]
        impl<$($param: TypedEvent),+> EmitSet for $name<$($param),+> {
            const LIST: &'static [EventNode<'static>] = &[$(EventNode::of::<$param>()),+];
            fn into_output(self) -> Result<StepOutput, WorkflowError> {
                self.into_step_output()
            }
        }

        #[diagnostic::do_not_recommend]
        impl<$($param: TypedEvent),+> StepInput for $name<$($param),+> {
            const LIST: &'static [EventNode<'static>] = &[$(EventNode::of::<$param>()),+];
            fn from_event(ev: Box<dyn Event>) -> Result<Self, WorkflowError> {
                <Self as EventChoice>::from_event(ev)
            }
        }
    };
}

choice! {
    /// One of two events: returned by a step, it emits an `A` or a `B` (both edges of the
    /// checked graph); as the event parameter, the step receives both.
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// struct Retry { n: u32 }
    ///
    /// #[step]
    /// fn decide(ev: StartEvent) -> Either<Retry, StopEvent> {
    ///     match ev.get("n").and_then(|n| n.as_u64()) {
    ///         Some(n) if n < 3 => Either::Left(Retry { n: n as u32 }),
    ///         _ => Either::Right(StopEvent::new(json!("done"))),
    ///     }
    /// }
    ///
    /// #[step]
    /// fn again(ev: Retry) -> StopEvent {
    ///     StopEvent::new(json!(ev.n))
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let wf = workflow!("either", [decide, again]);
    /// assert_eq!(wf.run(json!({"n": 1})).await?.result().await?.result, json!(1));
    /// assert_eq!(wf.run(json!({"n": 7})).await?.result().await?.result, json!("done"));
    /// # Ok(())
    /// # }
    /// ```
    Either { Left(A), Right(B) }
}

choice! {
    /// One of three events; see [`Either`].
    ///
    /// ```
    /// use blazen::prelude::*;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// struct Low;
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// struct High;
    ///
    /// #[step]
    /// fn grade(ev: StartEvent) -> OneOf3<Low, High, StopEvent> {
    ///     match ev.get("n").and_then(|n| n.as_i64()) {
    ///         Some(n) if n < 0 => OneOf3::First(Low),
    ///         Some(_) => OneOf3::Second(High),
    ///         None => OneOf3::Third(StopEvent::new(json!("none"))),
    ///     }
    /// }
    ///
    /// #[step]
    /// fn report(ev: Either<Low, High>) -> StopEvent {
    ///     StopEvent::new(json!(matches!(ev, Either::Left(_))))
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), WorkflowError> {
    /// let wf = workflow!("one_of3", [grade, report]);
    /// assert_eq!(wf.run(json!({"n": -1})).await?.result().await?.result, json!(true));
    /// assert_eq!(wf.run(json!({})).await?.result().await?.result, json!("none"));
    /// # Ok(())
    /// # }
    /// ```
    OneOf3 { First(A), Second(B), Third(C) }
}
