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
//! A checkpoint is written after every step completion. It lists the events of steps
//! still running as *in flight*. If the process dies while a step runs, or after it
//! finished but before the next checkpoint was written, resuming from the store delivers
//! that step's event again: **a step may run more than once for one event**. Nothing is
//! lost, but work may repeat:
//! - side effects outside the run (sending an email, charging a card, calling a paid API)
//!   may happen twice: derive an idempotency key from the run and the event (e.g.
//!   `format!("{}-{}", ctx.run_id(), ev.order_id)`), look for an earlier result first, or use
//!   the external system's idempotency keys;
//! - the context is saved as it is at the checkpoint, which may include changes already
//!   made by a step that then runs again: prefer writes that are harmless to repeat (`set`
//!   a value computed from the event) over read-modify-write (incrementing a counter);
//! - events a step sends with `ctx.send_event` before it finishes are routed at once, so a
//!   step that runs again sends them again. Events a step *returns* are routed when it
//!   completes, together with its checkpoint: in checkpointed runs, return fan-out events
//!   (e.g. a `Vec<E>`) rather than sending them, above all when a `collect_events` step
//!   counts them.
//!
//! `handler.pause()` is not a crash: it lets running steps finish and queues what they
//! emit, so after `resume` nothing runs twice.
//!
//! # Writing a store
//! Implement [`CheckpointStore`] with [`#[async_trait]`](macro@async_trait) (re-exported
//! here) and follow the contract on the trait: atomic, durable replace per run id;
//! everything keyed by run id.

mod embedded;
mod error;
mod journal;
mod memory;
mod ownership;
#[cfg(feature = "postgres")]
mod postgres;
mod retention;
mod snapshot;
mod store;

/// The fingerprint of a workflow's graph, written into its snapshots (it lives with the
/// steps it is computed from).
pub use crate::step::fingerprint;
pub use embedded::EmbeddedStore;
pub use error::PersistError;
pub use journal::{Frame, JournalEntry};
pub use memory::InMemoryStore;
pub use ownership::{InboxMessage, Lease, Notice, Notices, RunStatus, RunStore};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use retention::{prune, Retained, Retention};
pub use snapshot::{
    FanInBuffer, InputRequest, SerializedEvent, SnapshotStatus, WorkflowSnapshot, FORMAT_VERSION,
};
pub use store::{CheckpointStore, RunInfo};

/// The attribute macro [`CheckpointStore`] implementations use (from the `async-trait`
/// crate), so a store needs no extra dependency.
pub use async_trait::async_trait;
