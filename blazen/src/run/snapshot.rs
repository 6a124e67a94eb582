//! A run as a snapshot and back: the two inverse conversions, side by side.
//!
//! [`capture`] turns the run's state ([`RunState`]) and what the router holds (queues,
//! executions in flight, input requests) into a [`WorkflowSnapshot`]; [`restore`] turns a
//! snapshot back into a [`RunState`] and the events to queue again.

use std::collections::{BTreeMap, HashSet};

use uuid::Uuid;

use super::state::{FanIn, RunState, StateValue};
use crate::error::WorkflowError;
use crate::event::Event;
use crate::persist::{
    FanInBuffer, InputRequest, SerializedEvent, SnapshotStatus, WorkflowSnapshot,
};

/// What the router holds of a run, beside its state, at a snapshot.
#[derive(Debug, Default)]
pub(crate) struct RouterImage {
    /// The step executions in flight (running, or waiting for an event).
    pub(crate) live: HashSet<u64>,
    /// Events waiting in the steps' queues (each for its step) and the unrouted rest of a
    /// fan-out.
    pub(crate) queued: Vec<SerializedEvent>,
    /// The input events of the executions in flight, each for its step.
    pub(crate) in_flight: Vec<SerializedEvent>,
    /// Unanswered input requests.
    pub(crate) input_requests: Vec<InputRequest>,
    /// How many events were written to the stream.
    pub(crate) stream_position: u64,
}

/// The identity of the snapshot to take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SnapshotOf<'a> {
    pub(crate) workflow: &'a str,
    pub(crate) fingerprint: &'a str,
    pub(crate) run_id: Uuid,
}

/// The run as a snapshot: `state` as the completed executions left it, and `router`.
///
/// Executions in flight run again after a crash (or, for waiting ones, after a resume), so
/// the events they buffered are left out of the fan-in buffers (they will be buffered again)
/// and the batches they took are put back first (they arrived before the current buffer's
/// events); the events their waits took are held again, before the events no wait took yet.
pub(crate) fn capture(
    of: SnapshotOf<'_>,
    status: SnapshotStatus,
    state: &RunState,
    router: RouterImage,
    step_name: impl Fn(u32) -> String,
) -> WorkflowSnapshot {
    let mut snap = capture_frame(of, status, state, router, step_name);
    for (key, value) in &state.values {
        match value {
            StateValue::Json(v) => {
                snap.state.insert(key.clone(), v.clone());
            }
            StateValue::Bytes(b) => {
                snap.bytes.insert(key.clone(), b.clone());
            }
        }
    }
    snap
}

/// [`capture`] without the context values: the frame of a journal entry, whose cost does not
/// grow with the context.
pub(crate) fn capture_frame(
    of: SnapshotOf<'_>,
    status: SnapshotStatus,
    state: &RunState,
    router: RouterImage,
    step_name: impl Fn(u32) -> String,
) -> WorkflowSnapshot {
    let mut snap = WorkflowSnapshot::new(of.workflow, of.fingerprint, of.run_id);
    snap.status = status;
    let live = &router.live;
    let mut takers: Vec<_> = state
        .taken
        .iter()
        .filter(|(exec, _)| live.contains(exec))
        .collect();
    takers.sort_by_key(|(exec, _)| **exec);
    let mut buffers: BTreeMap<(u32, &str), Vec<SerializedEvent>> = BTreeMap::new();
    for (_, batches) in takers {
        for ((step, event), events) in batches {
            buffers.entry((*step, event)).or_default().extend(
                events
                    .iter()
                    .filter(|(exec, _)| !live.contains(exec))
                    .map(|(_, e)| e.clone()),
            );
        }
    }
    for ((step, event), buffer) in &state.collect {
        buffers.entry((*step, event)).or_default().extend(
            buffer
                .stored()
                .into_iter()
                .filter(|(exec, _)| !live.contains(exec))
                .map(|(_, e)| e),
        );
    }
    for ((step, event), events) in buffers {
        if !events.is_empty() {
            snap.fan_in
                .push(FanInBuffer::new(step_name(step), event.to_owned(), events));
        }
    }
    let taken = state
        .wait_taken
        .iter()
        .filter(|(exec, _)| live.contains(exec))
        .map(|(_, ev)| ev);
    for ev in taken.chain(&state.parked) {
        snap.held.push(SerializedEvent::from_event(&**ev));
    }
    snap.queued = router.queued;
    snap.in_flight = router.in_flight;
    snap.input_requests = router.input_requests;
    snap.stream_position = router.stream_position;
    snap.recoveries = state.recoveries;
    snap
}

/// A run rebuilt from its snapshot, ready to start.
#[derive(Debug)]
pub(crate) struct Restored {
    pub(crate) state: RunState,
    /// Events to queue again, in order: in-flight events first (they were delivered before
    /// the queued ones), each for its step (`None`: routed when the run starts).
    pub(crate) queued: Vec<(Option<u32>, Box<dyn Event>)>,
    pub(crate) input_requests: Vec<InputRequest>,
    pub(crate) stream_position: u64,
}

/// The inverse of [`capture`]: the state and queues of `snapshot`. `step_index` finds a step
/// named in the snapshot (an unknown name is an error).
pub(crate) fn restore(
    snapshot: WorkflowSnapshot,
    step_index: impl Fn(&str) -> Result<u32, WorkflowError>,
) -> Result<Restored, WorkflowError> {
    let mut state = RunState {
        recoveries: snapshot.recoveries,
        ..RunState::default()
    };
    for (k, v) in snapshot.state {
        state.values.insert(k, StateValue::Json(v));
    }
    for (k, b) in snapshot.bytes {
        state.values.insert(k, StateValue::Bytes(b));
    }
    for buf in snapshot.fan_in {
        let step = step_index(&buf.step)?;
        let evs: Vec<Box<dyn Event>> = buf
            .events
            .into_iter()
            .map(|e| Box::new(e.into_dynamic()) as Box<dyn Event>)
            .collect();
        state
            .collect
            .insert((step, buf.event_type.into()), FanIn::Restored(evs));
    }
    state.parked = snapshot
        .held
        .into_iter()
        .map(|e| Box::new(e.into_dynamic()) as Box<dyn Event>)
        .collect();
    let mut queued = Vec::new();
    for ev in snapshot.in_flight.into_iter().chain(snapshot.queued) {
        let step = match &ev.target_step {
            Some(name) => Some(step_index(name)?),
            None => None,
        };
        queued.push((step, ev.into_resumed()));
    }
    Ok(Restored {
        state,
        queued,
        input_requests: snapshot.input_requests,
        stream_position: snapshot.stream_position,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::choice::Either;
    use crate::event::{DynamicEvent, StartEvent, StopEvent};

    const STEPS: [&str; 2] = ["split", "total"];

    fn of(run_id: Uuid) -> SnapshotOf<'static> {
        SnapshotOf {
            workflow: "wf",
            fingerprint: "v1:test",
            run_id,
        }
    }

    fn name(step: u32) -> String {
        STEPS[step as usize].to_owned()
    }

    fn index(name: &str) -> Result<u32, WorkflowError> {
        STEPS
            .iter()
            .position(|s| *s == name)
            .map(|i| i as u32)
            .ok_or_else(|| WorkflowError::msg(format!("no step {name}")))
    }

    /// A snapshot of every kind of state, taken with nothing in flight.
    fn every_kind() -> WorkflowSnapshot {
        let mut state = RunState::default();
        state.set_value("n", StateValue::Json(json!(3)));
        state.set_value("blob", StateValue::Bytes(vec![1, 2, 3]));
        for i in 0..2 {
            let _ = state.collect(1, 0, false, StartEvent::new(json!(i)), 5);
        }
        state.park(Box::new(DynamicEvent::new("Approval", json!({"ok": true}))));
        let router = RouterImage {
            queued: vec![SerializedEvent::new("Sentence", json!("a")).for_step("total")],
            in_flight: vec![SerializedEvent::new("Sentence", json!("b")).for_step("split")],
            input_requests: vec![InputRequest::new("split", "ok?", json!({}))],
            stream_position: 7,
            ..RouterImage::default()
        };
        capture(
            of(Uuid::new_v4()),
            SnapshotStatus::Running,
            &state,
            router,
            name,
        )
    }

    /// The router's part of a restored run, as it would be captured again: the restored
    /// in-flight events are queued again first.
    fn requeued(restored: &mut Restored) -> RouterImage {
        let queued = std::mem::take(&mut restored.queued)
            .into_iter()
            .map(|(step, ev)| {
                let e = SerializedEvent::from_event(&*ev);
                match step {
                    Some(s) => e.for_step(name(s)),
                    None => e,
                }
            })
            .collect();
        RouterImage {
            queued,
            input_requests: std::mem::take(&mut restored.input_requests),
            stream_position: restored.stream_position,
            ..RouterImage::default()
        }
    }

    #[test]
    fn a_snapshot_round_trips_through_the_run_state() {
        let snap = every_kind();
        assert_eq!(snap.fan_in.len(), 1);
        assert_eq!(snap.fan_in[0].events.len(), 2);
        assert_eq!(snap.held.len(), 1);
        let mut restored = restore(snap.clone(), index).unwrap();
        assert_eq!(restored.queued.len(), 2, "in flight first, then queued");
        let router = requeued(&mut restored);
        let mut again = capture(
            of(snap.run_id),
            SnapshotStatus::Running,
            &restored.state,
            router,
            name,
        );
        again.created_at_ms = snap.created_at_ms;
        let mut expected = snap.clone();
        // The in-flight event is queued again, first.
        let in_flight = std::mem::take(&mut expected.in_flight);
        expected.queued.splice(0..0, in_flight);
        assert_eq!(again, expected);
        // And once more: a fixed point.
        let mut restored = restore(again.clone(), index).unwrap();
        let router = requeued(&mut restored);
        let mut third = capture(
            of(snap.run_id),
            SnapshotStatus::Running,
            &restored.state,
            router,
            name,
        );
        third.created_at_ms = snap.created_at_ms;
        assert_eq!(third, again);
    }

    #[test]
    fn executions_in_flight_give_back_what_they_took() {
        let mut state = RunState::default();
        // Execution 1 buffers one event, execution 2 completes the batch of two and is still
        // running; execution 3 buffered one more and is running too.
        assert!(state
            .collect(1, 1, true, StartEvent::new(json!(1)), 2)
            .is_none());
        assert!(state
            .collect(1, 2, true, StartEvent::new(json!(2)), 2)
            .is_some());
        assert!(state
            .collect(1, 3, true, StartEvent::new(json!(3)), 2)
            .is_none());
        let router = RouterImage {
            live: [2, 3].into_iter().collect(),
            ..RouterImage::default()
        };
        let snap = capture(
            of(Uuid::new_v4()),
            SnapshotStatus::Running,
            &state,
            router,
            name,
        );
        // Execution 1's event is back in the buffer; 2 and 3 run again and buffer theirs.
        assert_eq!(snap.fan_in.len(), 1);
        let data: Vec<_> = snap.fan_in[0].events.iter().map(|e| &e.data).collect();
        assert_eq!(data, [&json!({"data": 1})]);
        // Once execution 2 completes, its batch is forgotten.
        state.complete(2, false);
        let router = RouterImage {
            live: [3].into_iter().collect(),
            ..RouterImage::default()
        };
        let snap = capture(
            of(Uuid::new_v4()),
            SnapshotStatus::Running,
            &state,
            router,
            name,
        );
        assert!(snap.fan_in.is_empty(), "{:?}", snap.fan_in);
    }

    #[test]
    fn a_buffer_of_several_event_types_round_trips_in_arrival_order() {
        type Choice = Either<StartEvent, StopEvent>;
        let mut state = RunState::default();
        let arrivals: [Choice; 2] = [
            Either::Right(StopEvent::new(json!("a"))),
            Either::Left(StartEvent::new(json!("b"))),
        ];
        for ev in arrivals {
            assert!(state.collect(1, 0, false, ev, 3).is_none());
        }
        let snap = capture(
            of(Uuid::new_v4()),
            SnapshotStatus::Running,
            &state,
            RouterImage::default(),
            name,
        );
        // One buffer for the choice; each event keeps its own type.
        assert_eq!(snap.fan_in.len(), 1);
        assert_eq!(
            snap.fan_in[0].event_type,
            "blazen::StartEvent|blazen::StopEvent"
        );
        let types: Vec<_> = snap.fan_in[0]
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(types, ["blazen::StopEvent", "blazen::StartEvent"]);
        // Restored, captured again: the same snapshot.
        let restored = restore(snap.clone(), index).unwrap();
        let mut again = capture(
            of(snap.run_id),
            SnapshotStatus::Running,
            &restored.state,
            RouterImage::default(),
            name,
        );
        again.created_at_ms = snap.created_at_ms;
        assert_eq!(again, snap);
        // And the restored events complete the batch, decoded, in arrival order.
        let mut state = restored.state;
        let third: Choice = Either::Right(StopEvent::new(json!("c")));
        let batch = state.collect(1, 0, false, third, 3).expect("the batch");
        let shown: Vec<_> = batch
            .iter()
            .map(|e| match e {
                Either::Left(start) => format!("start {}", start.data),
                Either::Right(stop) => format!("stop {}", stop.result),
            })
            .collect();
        assert_eq!(shown, [r#"stop "a""#, r#"start "b""#, r#"stop "c""#]);
        assert!(state.collect.is_empty());
    }

    #[test]
    fn an_unknown_step_is_an_error() {
        let mut snap = every_kind();
        snap.queued[0].target_step = Some("gone".into());
        assert!(restore(snap, index).is_err());
    }
}
