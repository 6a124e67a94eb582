//! The journal of a run: one entry per checkpoint, proportional to what changed.
//!
//! A checkpoint after a step completion writes a [`JournalEntry`] instead of the whole
//! snapshot: the context keys written or removed since the previous entry, the run's
//! *frame* (queued and in-flight events, fan-in buffers, held events, input requests,
//! stream position — what the router holds, which is proportional to the work in flight,
//! not to the size of the context) and the stream events written since. A store compacts
//! the journal into a snapshot every few entries and at pause; loading a run is its last
//! snapshot with the later entries applied ([`JournalEntry::apply`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::snapshot::{
    FanInBuffer, InputRequest, SerializedEvent, SnapshotStatus, WorkflowSnapshot,
};

/// One checkpoint of a run, as a change of its previous state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// The step whose completion this entry records (`None`: the run itself, e.g. a wait
    /// for input or an event from outside).
    #[serde(default)]
    pub step: Option<String>,
    /// The routing name of the event that step took.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Context values written (`set`) since the previous entry.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// Binary context values written (`set_bytes`) since the previous entry.
    #[serde(default)]
    pub set_bytes: BTreeMap<String, Vec<u8>>,
    /// Context keys removed since the previous entry.
    #[serde(default)]
    pub removed: Vec<String>,
    /// The run's frame after this checkpoint: everything of the snapshot but the context.
    pub frame: Frame,
    /// Stream events written since the previous entry, each with its position (from 0).
    #[serde(default)]
    pub stream: Vec<(u64, SerializedEvent)>,
    /// The run's inbox messages up to this id are in this entry's frame: the store removes
    /// them with the entry, in its transaction (until then a new owner reads them again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_through: Option<u64>,
}

/// Everything of a run's snapshot except its context values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Frame {
    /// Where the run stands.
    pub status: SnapshotStatus,
    /// See [`WorkflowSnapshot::queued`].
    #[serde(default)]
    pub queued: Vec<SerializedEvent>,
    /// See [`WorkflowSnapshot::in_flight`].
    #[serde(default)]
    pub in_flight: Vec<SerializedEvent>,
    /// See [`WorkflowSnapshot::held`].
    #[serde(default)]
    pub held: Vec<SerializedEvent>,
    /// See [`WorkflowSnapshot::fan_in`].
    #[serde(default)]
    pub fan_in: Vec<FanInBuffer>,
    /// See [`WorkflowSnapshot::stream_position`].
    #[serde(default)]
    pub stream_position: u64,
    /// See [`WorkflowSnapshot::recoveries`].
    #[serde(default)]
    pub recoveries: u32,
    /// See [`WorkflowSnapshot::input_requests`].
    #[serde(default)]
    pub input_requests: Vec<InputRequest>,
    /// See [`WorkflowSnapshot::result`].
    #[serde(default)]
    pub result: Option<Value>,
    /// See [`WorkflowSnapshot::error`].
    #[serde(default)]
    pub error: Option<String>,
}

impl Frame {
    /// The frame of `snapshot` (a copy of everything but the context).
    pub fn of(snapshot: &WorkflowSnapshot) -> Self {
        Frame {
            status: snapshot.status,
            queued: snapshot.queued.clone(),
            in_flight: snapshot.in_flight.clone(),
            held: snapshot.held.clone(),
            fan_in: snapshot.fan_in.clone(),
            stream_position: snapshot.stream_position,
            recoveries: snapshot.recoveries,
            input_requests: snapshot.input_requests.clone(),
            result: snapshot.result.clone(),
            error: snapshot.error.clone(),
        }
    }
}

impl From<WorkflowSnapshot> for Frame {
    /// The frame of `snapshot`, moved out of it (its context values are dropped).
    fn from(snapshot: WorkflowSnapshot) -> Self {
        Frame {
            status: snapshot.status,
            queued: snapshot.queued,
            in_flight: snapshot.in_flight,
            held: snapshot.held,
            fan_in: snapshot.fan_in,
            stream_position: snapshot.stream_position,
            recoveries: snapshot.recoveries,
            input_requests: snapshot.input_requests,
            result: snapshot.result,
            error: snapshot.error,
        }
    }
}

impl JournalEntry {
    /// An entry recording `frame` and no context change.
    pub fn new(frame: Frame) -> Self {
        JournalEntry {
            step: None,
            event_type: None,
            set: BTreeMap::new(),
            set_bytes: BTreeMap::new(),
            removed: Vec::new(),
            frame,
            stream: Vec::new(),
            inbox_through: None,
        }
    }

    /// Applies this entry to `snapshot`, the run's state before it: the context changes,
    /// then the frame replaces the snapshot's.
    pub fn apply(&self, snapshot: &mut WorkflowSnapshot) {
        for key in &self.removed {
            snapshot.state.remove(key);
            snapshot.bytes.remove(key);
        }
        for (key, value) in &self.set {
            snapshot.bytes.remove(key);
            snapshot.state.insert(key.clone(), value.clone());
        }
        for (key, value) in &self.set_bytes {
            snapshot.state.remove(key);
            snapshot.bytes.insert(key.clone(), value.clone());
        }
        let f = &self.frame;
        snapshot.status = f.status;
        snapshot.queued.clone_from(&f.queued);
        snapshot.in_flight.clone_from(&f.in_flight);
        snapshot.held.clone_from(&f.held);
        snapshot.fan_in.clone_from(&f.fan_in);
        snapshot.stream_position = f.stream_position;
        snapshot.recoveries = f.recoveries;
        snapshot.input_requests.clone_from(&f.input_requests);
        snapshot.result.clone_from(&f.result);
        snapshot.error.clone_from(&f.error);
    }

    /// The encoded size of the context changes and the frame, in bytes (what one checkpoint
    /// writes, streams aside).
    pub fn encoded_len(&self) -> usize {
        serde_json::to_vec(self).map_or(0, |v| v.len())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn entries_replay_onto_a_snapshot() {
        let mut snap = WorkflowSnapshot::new("wf", "v1:x", Uuid::new_v4());
        snap.state.insert("keep".into(), json!(1));
        snap.state.insert("gone".into(), json!(2));
        snap.bytes.insert("blob".into(), vec![1]);
        let mut frame = Frame::of(&snap);
        frame.queued = vec![SerializedEvent::new("A", json!(1))];
        frame.stream_position = 3;
        frame.recoveries = 2;
        let mut entry = JournalEntry::new(frame);
        entry.removed.push("gone".into());
        entry.set.insert("blob".into(), json!("now json"));
        entry.set_bytes.insert("raw".into(), vec![9, 9]);
        entry.apply(&mut snap);
        assert_eq!(snap.state.get("keep"), Some(&json!(1)));
        assert!(!snap.state.contains_key("gone"));
        assert_eq!(snap.state.get("blob"), Some(&json!("now json")));
        assert!(!snap.bytes.contains_key("blob"));
        assert_eq!(snap.bytes.get("raw"), Some(&vec![9, 9]));
        assert_eq!(snap.queued.len(), 1);
        assert_eq!(snap.stream_position, 3);
        assert_eq!(snap.recoveries, 2);
        let back: JournalEntry =
            serde_json::from_slice(&serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(back, entry);
    }
}
