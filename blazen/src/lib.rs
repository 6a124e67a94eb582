//! Typed, event-driven LLM workflows whose graph the compiler checks.

#![doc(test(attr(deny(warnings))))]

pub mod context;
pub mod error;
pub mod event;
pub mod graph;
pub mod persist;
mod resources;
pub mod retry;
mod run;
pub mod step;
mod sync;
pub mod tool;
pub mod worker;
pub mod workflow;

pub use blazen_macros::{step, tool, workflow, Event};
pub use context::Context;
pub use error::{Result, WorkflowError};
pub use event::{
    downcast_event, DynamicEvent, Event, EventInfo, FailureKind, InputRequiredEvent,
    InputResponseEvent, RunFailed, StartEvent, StepFailed, StopEvent, StreamLagged, TypedEvent,
};
pub use graph::{GraphCheck, GraphDefect};
#[cfg(feature = "postgres")]
pub use persist::PostgresStore;
pub use persist::{CheckpointStore, EmbeddedStore, InMemoryStore, RunStore, WorkflowSnapshot};
pub use resources::Resources;
pub use retry::RetryPolicy;
pub use step::{IntoStepOutput, Step, StepFuture, StepHandler, StepOutput};
pub use tool::{
    ArgumentError, ArgumentErrorKind, IntoToolResult, OutputSchema, RenderedSchema, SchemaDialect,
    StrictUnsupported, ToolDef, ToolError,
};
pub use worker::{RunClient, Worker, WorkerBuilder};
pub use workflow::{
    EventStream, Workflow, WorkflowBuilder, WorkflowHandler, DEFAULT_MAX_RECOVERIES,
};

/// Everything a workflow author needs: `use blazen::prelude::*;`.
pub mod prelude {
    pub use crate::{step, tool, workflow};
    pub use crate::{CheckpointStore, EmbeddedStore, InMemoryStore, WorkflowSnapshot};
    pub use crate::{
        Context, DynamicEvent, Event, StartEvent, Step, StopEvent, TypedEvent, WorkflowError,
    };
    pub use crate::{EventInfo, FailureKind, RetryPolicy, RunFailed, StepFailed, WorkflowBuilder};
    pub use crate::{
        InputRequiredEvent, InputResponseEvent, StepOutput, Workflow, WorkflowHandler,
    };
    pub use crate::{SchemaDialect, ToolDef, ToolError};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::json;
}

#[doc(hidden)]
pub mod __private;
