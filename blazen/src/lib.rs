//! Typed, event-driven LLM workflows whose graph the compiler checks.
//!
//! # Where things live
//! - [`event`]: the `Event` trait, `DynamicEvent` and the built-in events (start, stop, input
//!   requests, `StepFailed`, `RunFailed`); [`step`](mod@step): `Step` and what a step may return;
//!   `retry`: `RetryPolicy`.
//! - `run/` (private): a run's state and every change of it (`run/state.rs`), the run as a
//!   snapshot and back (`run/snapshot.rs`), the router's messages, the stream bound, and the
//!   journal writer of a run owned by a worker (`run/owner.rs`).
//! - [`context`]: `Context`, the steps' facade over the run's state.
//! - [`workflow`](mod@workflow): `Workflow`, its builder, the handler, and the router (`workflow/runner.rs`),
//!   which only schedules.
//! - [`graph`]: the graph analysis shared by `workflow!` (at compile time) and `build()`.
//! - [`persist`]: snapshots, journal entries, stores (`InMemoryStore`, `EmbeddedStore`,
//!   `PostgresStore`) and the run-ownership contract `RunStore`.
//! - [`worker`]: `Worker` and `RunClient`, runs shared by replicas through a `RunStore`.
//! - [`tool`](mod@tool): `ToolDef`, argument validation, schema dialects.
//! - `mcp` (feature `mcp`): `ToolDef`s served as MCP tools, and an MCP server's tools as `ToolDef`s.

#![doc(test(attr(deny(warnings))))]

pub mod choice;
pub mod context;
pub mod error;
pub mod event;
pub mod graph;
#[cfg(feature = "mcp")]
pub mod mcp;
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
pub use choice::{Either, EventChoice, OneOf3};
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
    pub use crate::{Either, EventChoice, OneOf3};
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
