//! Durable runs: snapshots and checkpoint stores.
//!
//! A run's whole state — context values and bytes, queued and in-flight events,
//! `collect_events` buffers, the stream position and unanswered input requests — can be
//! captured as a [`WorkflowSnapshot`]: plain, versioned data (JSON by default).
//!
//! - `handler.pause()` stops a run and returns its snapshot; `wf.resume(snapshot)` continues
//!   it, in this process or another. A workflow whose steps or events changed refuses the
//!   snapshot ([`WorkflowError::SnapshotMismatch`](crate::WorkflowError::SnapshotMismatch))
//!   instead of running it wrongly; see [`fingerprint`].
//! - `.checkpoint(store)` on the builder saves the run's snapshot to a [`CheckpointStore`]
//!   after every step completion; `wf.resume_from(&store, run_id)` continues from the last
//!   one, e.g. after the process crashed.
//! - [`EmbeddedStore`] is the durable default (a SQLite file); [`InMemoryStore`] keeps
//!   snapshots in memory. Other stores (a shared PostgreSQL table, …) implement the trait.
//!
//! # Delivery after a crash: at least once
//! A checkpoint is written after a step completes. If the process dies while a step runs,
//! or after it finished but before its checkpoint was written, resuming from the store
//! delivers that step's event again: **a step may run more than once for one event**.
//! Nothing is lost, but side effects outside the context (sending an email, charging a
//! card, calling a paid API) may repeat. Make such steps idempotent: derive a key from
//! the run id and the event (e.g. `format!("{}-{}", ctx.run_id(), ev.order_id)`), check
//! the context or the external system for a previous result first, or use the external
//! system's idempotency keys. Changes to the context made by a step that had not
//! checkpointed are rolled back with the rest of the run's state on resume.
//!
//! `handler.pause()` is not a crash: it snapshots events handed to running steps as in
//! flight, and those steps run again for them on resume in the same way.

mod embedded;
mod error;
mod memory;
mod snapshot;
mod store;

pub use embedded::EmbeddedStore;
pub use error::PersistError;
pub use memory::InMemoryStore;
pub use snapshot::{
    fingerprint, FanInBuffer, InputRequest, SerializedEvent, SnapshotStatus, WorkflowSnapshot,
    FORMAT_VERSION,
};
pub use store::{CheckpointStore, RunInfo};
