//! Errors of snapshots and checkpoint stores.

use uuid::Uuid;

/// Why a snapshot could not be encoded, decoded, saved or loaded.
///
/// Converts into [`WorkflowError::Persist`](crate::WorkflowError::Persist), so `?` works in
/// code that returns a [`WorkflowError`](crate::WorkflowError).
///
/// ```
/// use blazen::persist::{PersistError, WorkflowSnapshot};
///
/// let err = WorkflowSnapshot::from_json(r#"{"format_version": 99}"#).unwrap_err();
/// assert!(matches!(err, PersistError::UnsupportedFormat { found: 99, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The snapshot was written in a format version this build cannot read.
    #[error(
        "snapshot format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedFormat {
        /// The version found in the snapshot.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The store's on-disk schema was written by a newer (or unknown) build.
    #[error(
        "checkpoint store `{store}` has schema version {found}; this build uses version {supported}"
    )]
    UnsupportedSchema {
        /// The store (a path for the embedded store).
        store: String,
        /// The schema version found.
        found: i64,
        /// The schema version this build uses.
        supported: i64,
    },
    /// A snapshot could not be encoded as JSON.
    #[error("snapshot could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
    /// Stored data is not a valid snapshot.
    #[error("snapshot could not be decoded: {0}")]
    Decode(#[source] serde_json::Error),
    /// The store holds no snapshot for this run.
    #[error("no checkpoint for run {run_id}")]
    RunNotFound {
        /// The run asked for.
        run_id: Uuid,
    },
    /// The snapshot belongs to another workflow.
    #[error("snapshot belongs to workflow `{found}`, not `{expected}`")]
    WorkflowMismatch {
        /// The workflow resuming the snapshot.
        expected: String,
        /// The workflow named in the snapshot.
        found: String,
    },
    /// The store's backend failed (I/O, database, network).
    #[error("checkpoint store `{store}`: {source}")]
    Backend {
        /// The store (a path for the embedded store).
        store: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The lease this write relied on is gone: another worker took the run over (a newer
    /// epoch) or it finished. The writer must abandon the run.
    #[error("run {run_id}: lease of epoch {epoch} no longer holds (taken over or finished)")]
    Fenced {
        /// The run.
        run_id: Uuid,
        /// The stale epoch.
        epoch: u64,
    },
    /// The run is finished: it takes no more messages.
    #[error("run {run_id} is finished")]
    Finished {
        /// The run.
        run_id: Uuid,
    },
    /// A store operation running on a blocking thread panicked or was cancelled.
    #[error("checkpoint store operation did not complete: {0}")]
    Interrupted(String),
}

impl PersistError {
    /// The same error for a second reader (see `WorkflowError::duplicate`).
    pub(crate) fn duplicate(&self) -> Self {
        use crate::error::{copy_serde_error, CopiedError};
        match self {
            PersistError::UnsupportedFormat { found, supported } => {
                PersistError::UnsupportedFormat {
                    found: *found,
                    supported: *supported,
                }
            }
            PersistError::UnsupportedSchema {
                store,
                found,
                supported,
            } => PersistError::UnsupportedSchema {
                store: store.clone(),
                found: *found,
                supported: *supported,
            },
            PersistError::Encode(e) => PersistError::Encode(copy_serde_error(e)),
            PersistError::Decode(e) => PersistError::Decode(copy_serde_error(e)),
            PersistError::RunNotFound { run_id } => PersistError::RunNotFound { run_id: *run_id },
            PersistError::WorkflowMismatch { expected, found } => PersistError::WorkflowMismatch {
                expected: expected.clone(),
                found: found.clone(),
            },
            PersistError::Backend { store, source } => PersistError::Backend {
                store: store.clone(),
                source: Box::new(CopiedError::of(&**source)),
            },
            PersistError::Fenced { run_id, epoch } => PersistError::Fenced {
                run_id: *run_id,
                epoch: *epoch,
            },
            PersistError::Finished { run_id } => PersistError::Finished { run_id: *run_id },
            PersistError::Interrupted(m) => PersistError::Interrupted(m.clone()),
        }
    }

    /// A backend error of `store`.
    pub fn backend(
        store: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        PersistError::Backend {
            store: store.into(),
            source: source.into(),
        }
    }
}
