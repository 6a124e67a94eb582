//! What a step emits: [`StepOutput`], and [`IntoStepOutput`] for everything a step may
//! return. Apart from `Step` (which needs the `Context`), so that the run's messages can
//! carry outputs without depending on the context.

use crate::error::WorkflowError;
use crate::event::{DynamicEvent, Event, TypedEvent};

/// What one execution of a step emits.
#[derive(Debug, Default)]
pub enum StepOutput {
    /// Nothing.
    #[default]
    None,
    /// One event.
    Single(Box<dyn Event>),
    /// Several events, routed in order.
    Many(Vec<Box<dyn Event>>),
}

/// Conversion of a step's return value into what it emits.
///
/// Implemented for typed events, `()`, `Option<E>`, `Vec<E>`, `Result<T, E>` with
/// `E: Into<WorkflowError>`, [`StepOutput`], `Box<dyn Event>`, the enums of
/// `#[derive(Event)]` whose variants wrap events, [`Either`](crate::Either) and
/// [`OneOf3`](crate::OneOf3).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a step can emit",
    label = "a step returns an event, `Option<E>`, `Vec<E>`, `()`, or one of these in a `Result`",
    note = "events implement `Event` through `#[derive(Event)]`"
)]
pub trait IntoStepOutput {
    /// The events to route.
    fn into_step_output(self) -> Result<StepOutput, WorkflowError>;
}

impl IntoStepOutput for () {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(StepOutput::None)
    }
}

impl IntoStepOutput for StepOutput {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(self)
    }
}

impl IntoStepOutput for Box<dyn Event> {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(StepOutput::Single(self))
    }
}

impl IntoStepOutput for DynamicEvent {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(StepOutput::Single(Box::new(self)))
    }
}

impl<E: TypedEvent> IntoStepOutput for E {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        Ok(StepOutput::Single(Box::new(self)))
    }
}

impl<T: IntoStepOutput> IntoStepOutput for Option<T> {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        match self {
            Some(t) => t.into_step_output(),
            None => Ok(StepOutput::None),
        }
    }
}

impl<T: IntoStepOutput> IntoStepOutput for Vec<T> {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        let mut out = Vec::with_capacity(self.len());
        for item in self {
            match item.into_step_output()? {
                StepOutput::None => {}
                StepOutput::Single(e) => out.push(e),
                StepOutput::Many(es) => out.extend(es),
            }
        }
        Ok(StepOutput::Many(out))
    }
}

impl<T: IntoStepOutput, E: Into<WorkflowError>> IntoStepOutput for Result<T, E> {
    fn into_step_output(self) -> Result<StepOutput, WorkflowError> {
        self.map_err(Into::into)?.into_step_output()
    }
}
