//! [`WorkflowSnapshot`]: everything a run needs to continue elsewhere, as plain data.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::error::PersistError;
use crate::error::WorkflowError;
use crate::event::{DynamicEvent, Event};
use crate::retry::ResumedAttempt;

/// The snapshot format this build reads and writes (the `format_version` field).
///
/// It changes only when a snapshot written by an older build could no longer be read
/// correctly; [`WorkflowSnapshot::from_json`] refuses other versions with
/// [`PersistError::UnsupportedFormat`].
pub const FORMAT_VERSION: u32 = 1;

/// Milliseconds since the Unix epoch, now (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Where a run stood when its snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SnapshotStatus {
    /// Taken while the run was going (a checkpoint after a step completed).
    Running,
    /// Taken by `handler.pause()`: the run stopped and waits for `resume`.
    Paused,
    /// The run was cancelled (`handler.cancel()`): resuming it reports
    /// `WorkflowError::Cancelled` instead of running it again.
    Cancelled,
    /// The run waits for answers to its [`input_requests`](WorkflowSnapshot::input_requests).
    WaitingForInput,
    /// The run finished; [`result`](WorkflowSnapshot::result) holds the `StopEvent`'s result.
    Completed,
    /// The run failed; [`error`](WorkflowSnapshot::error) holds the message.
    Failed,
}

impl SnapshotStatus {
    /// The status as stored (`"running"`, `"paused"`, `"waiting_for_input"`, `"completed"`,
    /// `"failed"`, `"cancelled"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Running => "running",
            SnapshotStatus::Paused => "paused",
            SnapshotStatus::WaitingForInput => "waiting_for_input",
            SnapshotStatus::Completed => "completed",
            SnapshotStatus::Failed => "failed",
            SnapshotStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `s` (the inverse of [`as_str`](Self::as_str)).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => SnapshotStatus::Running,
            "paused" => SnapshotStatus::Paused,
            "waiting_for_input" => SnapshotStatus::WaitingForInput,
            "completed" => SnapshotStatus::Completed,
            "failed" => SnapshotStatus::Failed,
            "cancelled" => SnapshotStatus::Cancelled,
            _ => return None,
        })
    }

    /// Whether the run is over (completed, failed or cancelled): resuming it only reports
    /// the outcome.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            SnapshotStatus::Completed | SnapshotStatus::Failed | SnapshotStatus::Cancelled
        )
    }
}

/// An event as stored in a snapshot: its routing name and its data as JSON.
///
/// On resume it becomes a [`DynamicEvent`], which reaches steps that accept the typed event
/// of the same name, deserialized. `target_step` says which step the event was delivered
/// to (an in-flight event, or one waiting for a step's concurrency permit); `None` means
/// "route it to every step that accepts it".
///
/// ```
/// use blazen::prelude::*;
/// use blazen::persist::SerializedEvent;
///
/// let ev = SerializedEvent::from_event(&StopEvent::new(json!(42)));
/// assert_eq!(ev.event_type, "blazen::StopEvent");
/// let dynamic = ev.for_step("finish").into_dynamic();
/// assert_eq!(dynamic.event_type(), "blazen::StopEvent");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SerializedEvent {
    /// The routing name ([`Event::event_type`]).
    pub event_type: String,
    /// The event's data ([`Event::to_json`]).
    pub data: Value,
    /// The one step the event goes to, if it was already routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_step: Option<String>,
    /// For an in-flight event of a step with a [`RetryPolicy`](crate::RetryPolicy): the
    /// attempt the step was at (0 or 1: the first), so that resuming continues the attempts
    /// instead of starting a fresh budget.
    #[serde(default, skip_serializing_if = "first_attempt")]
    pub attempt: u32,
}

fn first_attempt(attempt: &u32) -> bool {
    *attempt <= 1
}

impl SerializedEvent {
    /// An event named `event_type` with `data`, not yet routed.
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        SerializedEvent {
            event_type: event_type.into(),
            data,
            target_step: None,
            attempt: 0,
        }
    }

    /// The stored form of `event` (its [`event_type`](Event::event_type) and
    /// [`to_json`](Event::to_json)).
    pub fn from_event(event: &dyn Event) -> Self {
        let mut stored = SerializedEvent::new(event.event_type(), event.to_json());
        if let Some(resumed) = event.downcast_ref::<ResumedAttempt>() {
            stored.attempt = resumed.attempt;
        }
        stored
    }

    /// The same event, at attempt `attempt` of its step.
    pub(crate) fn at_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// The event to queue again on resume: a [`DynamicEvent`], wrapped with its attempt
    /// when the step was past its first.
    pub(crate) fn into_resumed(self) -> Box<dyn Event> {
        let attempt = self.attempt;
        let event: Box<dyn Event> = Box::new(self.into_dynamic());
        if attempt > 1 {
            Box::new(ResumedAttempt { event, attempt })
        } else {
            event
        }
    }

    /// The same event, delivered to `step` only.
    pub fn for_step(mut self, step: impl Into<String>) -> Self {
        self.target_step = Some(step.into());
        self
    }

    /// The event as a [`DynamicEvent`] to route again.
    pub fn into_dynamic(self) -> DynamicEvent {
        DynamicEvent::new(self.event_type, self.data)
    }
}

/// The events a step has collected so far with `ctx.collect_events::<E>(n)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FanInBuffer {
    /// The collecting step.
    pub step: String,
    /// The collected event type.
    pub event_type: String,
    /// The events collected, in arrival order.
    pub events: Vec<SerializedEvent>,
}

impl FanInBuffer {
    /// The buffer of `step` collecting `event_type`.
    pub fn new(
        step: impl Into<String>,
        event_type: impl Into<String>,
        events: Vec<SerializedEvent>,
    ) -> Self {
        FanInBuffer {
            step: step.into(),
            event_type: event_type.into(),
            events,
        }
    }
}

/// A question a step asked a person (an `InputRequiredEvent`), not answered yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputRequest {
    /// Identifies the request when answering it.
    pub request_id: Uuid,
    /// The step that asked.
    pub step: String,
    /// What to ask.
    pub prompt: String,
    /// Anything else the asking step attached (choices, a form schema, …).
    #[serde(default)]
    pub metadata: Value,
    /// When it was asked, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub created_at_ms: u64,
}

impl InputRequest {
    /// A new request (with a fresh id) from `step`.
    pub fn new(step: impl Into<String>, prompt: impl Into<String>, metadata: Value) -> Self {
        InputRequest {
            request_id: Uuid::new_v4(),
            step: step.into(),
            prompt: prompt.into(),
            metadata,
            created_at_ms: now_ms(),
        }
    }
}

/// A run's complete state as plain data: what `handler.pause()` returns, what
/// `Workflow::resume` takes, and what a [`CheckpointStore`](super::CheckpointStore) keeps.
///
/// # Format
/// JSON by default ([`to_json`](Self::to_json), [`from_json`](Self::from_json)); any serde
/// format works through the `Serialize`/`Deserialize` impls. Every snapshot carries
/// `format_version` ([`FORMAT_VERSION`]); reading another version fails with
/// [`PersistError::UnsupportedFormat`] instead of guessing. Context bytes are written as
/// standard base64 strings (with padding); timestamps are milliseconds since the Unix epoch.
///
/// ```json
/// {
///   "format_version": 1,
///   "workflow": "analyze",
///   "fingerprint": "v1:9f3c…",
///   "run_id": "5b0e…",
///   "status": "paused",
///   "created_at_ms": 1795000000000,
///   "state": { "count": 3 },
///   "bytes": { "blob": "AAEC" },
///   "queued": [ { "event_type": "AnalyzeEvent", "data": { "text": "hi" } } ],
///   "in_flight": [ { "event_type": "AnalyzeEvent", "data": { "text": "yo" }, "target_step": "analyze" } ],
///   "fan_in": [ { "step": "collect", "event_type": "ResultEvent", "events": [] } ],
///   "stream_position": 12,
///   "input_requests": [],
///   "result": null,
///   "error": null
/// }
/// ```
///
/// # Compatibility
/// [`fingerprint`](Self::fingerprint) hashes the workflow's steps with the events they
/// accept and emit (see [`fingerprint`](crate::step::fingerprint)). A workflow refuses to resume a
/// snapshot whose fingerprint differs ([`ensure_compatible`](Self::ensure_compatible)):
/// when the code changed, a typed error beats a silently wrong run.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::persist::{SerializedEvent, WorkflowSnapshot};
///
/// let mut snap = WorkflowSnapshot::new("analyze", "v1:abc", uuid::Uuid::new_v4());
/// snap.state.insert("count".into(), json!(3));
/// snap.bytes.insert("blob".into(), vec![0, 1, 2]);
/// snap.queued.push(SerializedEvent::new("AnalyzeEvent", json!({"text": "hi"})));
///
/// let text = snap.to_json()?;
/// let back = WorkflowSnapshot::from_json(&text)?;
/// assert_eq!(back, snap);
/// # Ok::<(), blazen::persist::PersistError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowSnapshot {
    /// The snapshot format ([`FORMAT_VERSION`] when written by this build).
    #[serde(deserialize_with = "de_format_version")]
    pub format_version: u32,
    /// The workflow's name.
    pub workflow: String,
    /// The graph fingerprint (see [`fingerprint`](crate::step::fingerprint)).
    pub fingerprint: String,
    /// The run.
    pub run_id: Uuid,
    /// Where the run stood.
    pub status: SnapshotStatus,
    /// When the snapshot was taken, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Context state set with `ctx.set` (JSON values by key).
    #[serde(default)]
    pub state: BTreeMap<String, Value>,
    /// Context bytes set with `ctx.set_bytes` (base64 in JSON).
    #[serde(default, with = "base64_map")]
    pub bytes: BTreeMap<String, Vec<u8>>,
    /// Events sent but not yet handed to a step, in order.
    #[serde(default)]
    pub queued: Vec<SerializedEvent>,
    /// Events a step was handling when the snapshot was taken (each with its
    /// [`target_step`](SerializedEvent::target_step)): they are delivered again on resume.
    #[serde(default)]
    pub in_flight: Vec<SerializedEvent>,
    /// Events held for `Context::wait_for_event`, in arrival order: those a wait of an
    /// in-flight step had already taken (the step runs again from its start on resume and
    /// waits for them again), then those no wait had taken yet. On resume they go straight
    /// back to the waits, never to a step that accepts the same type.
    #[serde(default)]
    pub held: Vec<SerializedEvent>,
    /// Partial `collect_events` buffers.
    #[serde(default)]
    pub fan_in: Vec<FanInBuffer>,
    /// How many events had been written to the run's stream.
    #[serde(default)]
    pub stream_position: u64,
    /// How many step failures the run has recovered from (through a step accepting
    /// `StepFailed`), counted against the workflow's `max_recoveries` across resumes.
    #[serde(default)]
    pub recoveries: u32,
    /// Questions waiting for a person's answer.
    #[serde(default)]
    pub input_requests: Vec<InputRequest>,
    /// The `StopEvent`'s result, when [`status`](Self::status) is `Completed`.
    #[serde(default)]
    pub result: Option<Value>,
    /// The error message, when [`status`](Self::status) is `Failed`.
    #[serde(default)]
    pub error: Option<String>,
}

impl WorkflowSnapshot {
    /// An empty, running snapshot of run `run_id` of `workflow`, taken now.
    pub fn new(workflow: impl Into<String>, fingerprint: impl Into<String>, run_id: Uuid) -> Self {
        WorkflowSnapshot {
            format_version: FORMAT_VERSION,
            workflow: workflow.into(),
            fingerprint: fingerprint.into(),
            run_id,
            status: SnapshotStatus::Running,
            created_at_ms: now_ms(),
            state: BTreeMap::new(),
            bytes: BTreeMap::new(),
            queued: Vec::new(),
            held: Vec::new(),
            in_flight: Vec::new(),
            fan_in: Vec::new(),
            stream_position: 0,
            recoveries: 0,
            input_requests: Vec::new(),
            result: None,
            error: None,
        }
    }

    /// The run.
    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// The workflow's name.
    pub fn workflow(&self) -> &str {
        &self.workflow
    }

    /// Where the run stood.
    pub fn status(&self) -> SnapshotStatus {
        self.status
    }

    /// The unanswered input requests.
    pub fn input_requests(&self) -> &[InputRequest] {
        &self.input_requests
    }

    /// A typed context value, if set (as `ctx.get` would return it).
    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, WorkflowError> {
        match self.state.get(key) {
            None => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|source| WorkflowError::State {
                    key: key.to_owned(),
                    source,
                }),
        }
    }

    /// The snapshot as compact JSON.
    pub fn to_json(&self) -> Result<String, PersistError> {
        serde_json::to_string(self).map_err(PersistError::Encode)
    }

    /// The snapshot as indented JSON, for people.
    pub fn to_json_pretty(&self) -> Result<String, PersistError> {
        serde_json::to_string_pretty(self).map_err(PersistError::Encode)
    }

    /// The snapshot as JSON bytes (what the stores keep).
    pub fn to_vec(&self) -> Result<Vec<u8>, PersistError> {
        serde_json::to_vec(self).map_err(PersistError::Encode)
    }

    /// Reads a JSON snapshot; refuses another [`format_version`](Self::format_version) with
    /// [`PersistError::UnsupportedFormat`].
    pub fn from_json(json: &str) -> Result<Self, PersistError> {
        Self::from_slice(json.as_bytes())
    }

    /// Reads a JSON snapshot from bytes; see [`from_json`](Self::from_json).
    pub fn from_slice(json: &[u8]) -> Result<Self, PersistError> {
        match serde_json::from_slice::<WorkflowSnapshot>(json) {
            Ok(snap) => Ok(snap),
            Err(err) => {
                // Say "wrong version" rather than "missing field" when a snapshot of another
                // format is read: look at the version alone.
                #[derive(Deserialize)]
                struct Header {
                    format_version: Option<u32>,
                }
                match serde_json::from_slice::<Header>(json) {
                    Ok(Header {
                        format_version: Some(found),
                    }) if found != FORMAT_VERSION => Err(PersistError::UnsupportedFormat {
                        found,
                        supported: FORMAT_VERSION,
                    }),
                    _ => Err(PersistError::Decode(err)),
                }
            }
        }
    }

    /// Checks that this snapshot can be resumed by workflow `workflow` whose graph has
    /// fingerprint `fingerprint`.
    ///
    /// Fails with [`PersistError::UnsupportedFormat`], [`PersistError::WorkflowMismatch`]
    /// (wrapped in [`WorkflowError::Persist`]) or [`WorkflowError::SnapshotMismatch`] when
    /// the steps or their events changed.
    ///
    /// ```
    /// use blazen::prelude::*;
    /// use blazen::persist::{fingerprint, WorkflowSnapshot};
    /// use blazen::EventInfo;
    ///
    /// let start = Step::new("start", |_ctx, _ev| async { Ok(StepOutput::None) })
    ///     .accepts(EventInfo::of::<StartEvent>())
    ///     .emits(EventInfo::of::<StopEvent>());
    /// # use blazen::StepOutput;
    /// let fp = fingerprint(&[start.clone()]);
    /// let snap = WorkflowSnapshot::new("wf", fp.clone(), uuid::Uuid::new_v4());
    /// assert!(snap.ensure_compatible("wf", &fp).is_ok());
    ///
    /// let changed = fingerprint(&[start.emits(EventInfo::named("Other"))]);
    /// assert!(matches!(
    ///     snap.ensure_compatible("wf", &changed),
    ///     Err(WorkflowError::SnapshotMismatch { .. })
    /// ));
    /// ```
    pub fn ensure_compatible(
        &self,
        workflow: &str,
        fingerprint: &str,
    ) -> Result<(), WorkflowError> {
        if self.format_version != FORMAT_VERSION {
            return Err(PersistError::UnsupportedFormat {
                found: self.format_version,
                supported: FORMAT_VERSION,
            }
            .into());
        }
        if self.workflow != workflow {
            return Err(PersistError::WorkflowMismatch {
                expected: workflow.to_owned(),
                found: self.workflow.clone(),
            }
            .into());
        }
        if self.fingerprint != fingerprint {
            return Err(WorkflowError::SnapshotMismatch {
                workflow: workflow.to_owned(),
                expected: fingerprint.to_owned(),
                found: self.fingerprint.clone(),
            });
        }
        Ok(())
    }
}

fn de_format_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let found = u32::deserialize(d)?;
    if found == FORMAT_VERSION {
        Ok(found)
    } else {
        Err(serde::de::Error::custom(format_args!(
            "snapshot format version {found} is not supported (this build reads version {FORMAT_VERSION})"
        )))
    }
}

/// Serde for `BTreeMap<String, Vec<u8>>` as a map of base64 strings.
mod base64_map {
    use std::collections::BTreeMap;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<String, Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let encoded: BTreeMap<&str, String> = map
            .iter()
            .map(|(k, v)| (k.as_str(), STANDARD.encode(v)))
            .collect();
        encoded.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Vec<u8>>, D::Error> {
        let encoded = BTreeMap::<String, String>::deserialize(d)?;
        encoded
            .into_iter()
            .map(|(k, v)| match STANDARD.decode(v.as_bytes()) {
                Ok(bytes) => Ok((k, bytes)),
                Err(e) => Err(serde::de::Error::custom(format_args!(
                    "context bytes `{k}` are not valid base64: {e}"
                ))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::StartEvent;
    use serde_json::json;

    fn full_snapshot() -> WorkflowSnapshot {
        let mut snap = WorkflowSnapshot::new("analyze", "v1:abc", Uuid::new_v4());
        snap.status = SnapshotStatus::WaitingForInput;
        snap.state.insert("count".into(), json!(3));
        snap.state.insert(
            "nested".into(),
            json!({"a": [1, 2, {"b": null}], "s": "é✓"}),
        );
        snap.bytes.insert("blob".into(), vec![0, 1, 2, 255, 254]);
        snap.bytes.insert("empty".into(), Vec::new());
        snap.queued.push(SerializedEvent::new(
            "AnalyzeEvent",
            json!({"text": "hi", "score": 0.5}),
        ));
        snap.queued
            .push(SerializedEvent::from_event(&StartEvent::new(
                json!({"p": 1}),
            )));
        snap.in_flight.push(
            SerializedEvent::new("AnalyzeEvent", json!({"text": "yo", "score": 1.0}))
                .for_step("analyze"),
        );
        snap.fan_in.push(FanInBuffer::new(
            "collect",
            "ResultEvent",
            vec![
                SerializedEvent::new("ResultEvent", json!({"n": 1})),
                SerializedEvent::new("ResultEvent", json!({"n": 2})),
            ],
        ));
        snap.stream_position = 12;
        snap.input_requests.push(InputRequest::new(
            "ask",
            "Approve?",
            json!({"choices": ["yes", "no"]}),
        ));
        snap
    }

    #[test]
    fn every_state_kind_round_trips_through_json() {
        let snap = full_snapshot();
        let text = snap.to_json().unwrap();
        let back = WorkflowSnapshot::from_json(&text).unwrap();
        assert_eq!(back, snap);
        // Also through the pretty form and bytes.
        let back = WorkflowSnapshot::from_json(&snap.to_json_pretty().unwrap()).unwrap();
        assert_eq!(back, snap);
        let back = WorkflowSnapshot::from_slice(&snap.to_vec().unwrap()).unwrap();
        assert_eq!(back, snap);
        // The documented shape.
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format_version"], json!(FORMAT_VERSION));
        assert_eq!(v["bytes"]["blob"], json!("AAEC//4="));
        assert_eq!(v["status"], json!("waiting_for_input"));
        assert_eq!(v["in_flight"][0]["target_step"], json!("analyze"));
        assert!(v["queued"][0].get("target_step").is_none());
    }

    #[test]
    fn completed_and_failed_outcomes_round_trip() {
        let mut snap = WorkflowSnapshot::new("w", "v1:x", Uuid::new_v4());
        snap.status = SnapshotStatus::Completed;
        snap.result = Some(json!({"answer": 42}));
        assert_eq!(
            WorkflowSnapshot::from_json(&snap.to_json().unwrap()).unwrap(),
            snap
        );
        snap.status = SnapshotStatus::Failed;
        snap.result = None;
        snap.error = Some("step `x` failed".into());
        assert_eq!(
            WorkflowSnapshot::from_json(&snap.to_json().unwrap()).unwrap(),
            snap
        );
    }

    #[test]
    fn another_format_version_is_refused_with_a_typed_error() {
        let snap = full_snapshot();
        let mut v = serde_json::to_value(&snap).unwrap();
        v["format_version"] = json!(FORMAT_VERSION + 1);
        let err = WorkflowSnapshot::from_json(&v.to_string()).unwrap_err();
        assert!(
            matches!(err, PersistError::UnsupportedFormat { found, supported }
                if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION),
            "{err:?}"
        );
        // Plain serde refuses it too.
        let err = serde_json::from_value::<WorkflowSnapshot>(v).unwrap_err();
        assert!(err.to_string().contains("format version"), "{err}");
        // A future format with another shape is still reported as a version problem.
        let err =
            WorkflowSnapshot::from_json(r#"{"format_version": 7, "whatever": true}"#).unwrap_err();
        assert!(matches!(
            err,
            PersistError::UnsupportedFormat { found: 7, .. }
        ));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        for bad in ["", "{", "[]", r#"{"format_version": 1}"#, "null"] {
            let err = WorkflowSnapshot::from_json(bad).unwrap_err();
            assert!(matches!(err, PersistError::Decode(_)), "{bad}: {err:?}");
        }
        let mut v = serde_json::to_value(full_snapshot()).unwrap();
        v["bytes"]["blob"] = json!("not base64!");
        let err = WorkflowSnapshot::from_json(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("blob"), "{err}");
    }

    #[test]
    fn optional_sections_may_be_omitted() {
        let id = Uuid::new_v4();
        let text = format!(
            r#"{{"format_version":1,"workflow":"w","fingerprint":"f","run_id":"{id}","status":"paused","created_at_ms":5}}"#
        );
        let snap = WorkflowSnapshot::from_json(&text).unwrap();
        assert_eq!(snap.run_id(), id);
        assert_eq!(snap.status(), SnapshotStatus::Paused);
        assert!(snap.state.is_empty() && snap.queued.is_empty() && snap.fan_in.is_empty());
    }

    #[test]
    fn typed_get_reads_state() {
        let snap = full_snapshot();
        assert_eq!(snap.get::<u32>("count").unwrap(), Some(3));
        assert_eq!(snap.get::<u32>("missing").unwrap(), None);
        assert!(snap.get::<String>("count").is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for s in [
            SnapshotStatus::Running,
            SnapshotStatus::Paused,
            SnapshotStatus::WaitingForInput,
            SnapshotStatus::Completed,
            SnapshotStatus::Failed,
            SnapshotStatus::Cancelled,
        ] {
            assert_eq!(SnapshotStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert_eq!(SnapshotStatus::parse("nope"), None);
    }

    #[test]
    fn ensure_compatible_refuses_other_graphs_and_workflows() {
        let snap = WorkflowSnapshot::new("w", "v1:aaa", Uuid::new_v4());
        assert!(snap.ensure_compatible("w", "v1:aaa").is_ok());
        match snap.ensure_compatible("w", "v1:bbb") {
            Err(WorkflowError::SnapshotMismatch {
                workflow,
                expected,
                found,
            }) => {
                assert_eq!(
                    (workflow.as_str(), expected.as_str(), found.as_str()),
                    ("w", "v1:bbb", "v1:aaa")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            snap.ensure_compatible("other", "v1:aaa"),
            Err(WorkflowError::Persist(
                PersistError::WorkflowMismatch { .. }
            ))
        ));
    }

    #[test]
    fn serialized_events_become_dynamic_events() {
        let ev = SerializedEvent::new("AnalyzeEvent", json!({"text": "x"})).for_step("s");
        assert_eq!(ev.target_step.as_deref(), Some("s"));
        let d = ev.into_dynamic();
        assert_eq!(d.event_type(), "AnalyzeEvent");
        assert_eq!(d.get("text"), Some(&json!("x")));
    }
}
