//! A run's state: context values, fan-in buffers, waits and held events, and every change
//! made to them.

use std::any::Any;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::choice::EventChoice;
use crate::event::Event;
use crate::persist::{JournalEntry, SerializedEvent};

/// One value stored in the context.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StateValue {
    /// Stored with [`Context::set`](crate::Context::set).
    Json(Value),
    /// Stored with [`Context::set_bytes`](crate::Context::set_bytes).
    Bytes(Vec<u8>),
}

impl StateValue {
    /// The value as JSON: bytes read as an array of numbers.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            StateValue::Json(v) => v.clone(),
            StateValue::Bytes(b) => Value::Array(b.iter().map(|&x| x.into()).collect()),
        }
    }
}

/// The key of a fan-in buffer: the collecting step's index and the event type.
pub(crate) type FanInKey = (u32, Cow<'static, str>);

/// A fan-in batch handed to a running step execution: its buffer, and each event with the
/// execution that buffered it.
pub(crate) type TakenBatch = (FanInKey, Vec<(u64, SerializedEvent)>);

/// Everything a run keeps in its context; it lives in the run, so snapshots serialise it.
///
/// Every change of a run's state is a method here; `Context` and the router call them.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    /// `set`/`set_bytes` values.
    pub(crate) values: HashMap<String, StateValue>,
    /// Fan-in buffers of [`Context::collect_events`](crate::Context::collect_events) and
    /// [`Context::collect_any`](crate::Context::collect_any), keyed by (collecting step,
    /// event type or choice of types).
    pub(crate) collect: HashMap<FanInKey, FanIn>,
    /// Only when the run checkpoints or the collecting step may wait: the batches
    /// `collect_events` handed to step executions still running, by execution, each event with the execution that buffered it. A
    /// checkpoint puts them back in their buffers (the execution is in flight: after a
    /// crash it runs again and must find its batch); the router drops them when the
    /// execution completes.
    pub(crate) taken: HashMap<u64, Vec<TakenBatch>>,
    /// Step executions waiting in [`Context::wait_for_event`](crate::Context::wait_for_event), oldest first.
    pub(crate) waiters: Vec<Waiter>,
    /// Waited-for events that arrived while no waiter took them, oldest first: the next
    /// fitting wait takes them. Part of snapshots.
    pub(crate) parked: VecDeque<Box<dyn Event>>,
    /// A copy of each event a wait took, with the execution that took it, in delivery
    /// order; the router drops an execution's copies when it completes. A snapshot holds the
    /// copies of the executions still in flight: they run again from their start on resume
    /// and wait for those events again.
    pub(crate) wait_taken: Vec<(u64, Box<dyn Event>)>,
    /// Only in runs that write a journal: the context keys written and removed since the
    /// last journal entry.
    pub(crate) changes: Option<Changes>,
    /// How many failures steps accepting `StepFailed` have recovered from in this run (all
    /// its lives: snapshots keep it), against the workflow's `max_recoveries`.
    pub(crate) recoveries: u32,
}

/// The context keys changed since the last journal entry.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    written: BTreeSet<String>,
    removed: BTreeSet<String>,
}

/// Which events a waiter takes, beyond their type.
pub(crate) type WaitFilter = Box<dyn Fn(&dyn Event) -> bool + Send>;

/// One step execution waiting for an event.
pub(crate) struct Waiter {
    /// The waiting execution.
    pub(crate) exec: u64,
    pub(crate) event_type: &'static str,
    filter: Option<WaitFilter>,
    tx: oneshot::Sender<Box<dyn Event>>,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("exec", &self.exec)
            .field("event_type", &self.event_type)
            .finish_non_exhaustive()
    }
}

impl Waiter {
    fn takes(&self, ev: &dyn Event) -> bool {
        self.event_type == ev.event_type() && self.filter.as_ref().is_none_or(|f| f(ev))
    }

    /// Whether the execution still waits (its wait was not dropped: the step did not time
    /// out or get aborted).
    pub(crate) fn is_waiting(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// How a wait starts: with an event held for it, or registered until one arrives.
pub(crate) enum WaitStart {
    /// An event that arrived before the wait (taken now).
    Held(Box<dyn Event>),
    /// Registered: the event arrives on this channel (closed if the run ends first).
    Waiting(oneshot::Receiver<Box<dyn Event>>),
}

impl RunState {
    /// The value under `key`.
    pub(crate) fn value(&self, key: &str) -> Option<&StateValue> {
        self.values.get(key)
    }

    /// The value under `key` as JSON: bytes read as an array of numbers.
    pub(crate) fn value_json(&self, key: &str) -> Option<Value> {
        self.values.get(key).map(StateValue::to_json)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub(crate) fn set_value(&mut self, key: &str, value: StateValue) {
        if let Some(changes) = &mut self.changes {
            changes.removed.remove(key);
            changes.written.insert(key.to_owned());
        }
        self.values.insert(key.to_owned(), value);
    }

    /// Removes the value under `key`; whether there was one.
    pub(crate) fn remove_value(&mut self, key: &str) -> bool {
        let removed = self.values.remove(key).is_some();
        if let (Some(changes), true) = (&mut self.changes, removed) {
            changes.written.remove(key);
            changes.removed.insert(key.to_owned());
        }
        removed
    }

    /// Starts recording which context keys change (for journal entries).
    pub(crate) fn record_changes(&mut self) {
        self.changes.get_or_insert_with(Changes::default);
    }

    /// The context changes since the last call (values as they are now) into `entry`, and
    /// forgets them.
    pub(crate) fn take_changes(&mut self, entry: &mut JournalEntry) {
        let Some(changes) = &mut self.changes else {
            return;
        };
        for key in std::mem::take(&mut changes.written) {
            match self.values.get(&key) {
                Some(StateValue::Json(v)) => {
                    entry.set.insert(key, v.clone());
                }
                Some(StateValue::Bytes(b)) => {
                    entry.set_bytes.insert(key, b.clone());
                }
                None => entry.removed.push(key),
            }
        }
        entry.removed.extend(std::mem::take(&mut changes.removed));
    }

    /// How many events the fan-in buffer `key` of `step` holds.
    pub(crate) fn collected(&self, step: u32, key: Cow<'static, str>) -> usize {
        self.collect.get(&(step, key)).map_or(0, FanIn::len)
    }

    /// Fan-in: buffers `event` for `step` (execution `exec`) and returns the whole batch once
    /// `n` events are buffered. A typed event has its own buffer; a choice of events
    /// ([`Either`](crate::Either), ..) one buffer for all its types, in arrival order.
    /// `durable`: remember which execution buffered and took each event (see
    /// [`taken`](Self::taken)).
    pub(crate) fn collect<E: EventChoice>(
        &mut self,
        step: u32,
        exec: u64,
        durable: bool,
        event: E,
        n: usize,
    ) -> Option<Vec<E>> {
        let key = (step, E::fan_in_key());
        let buffer = self
            .collect
            .entry(key.clone())
            .or_insert_with(|| FanIn::Typed {
                events: Box::new(Vec::<E>::new()),
                len: 0,
                store: store_typed::<E>,
                execs: Vec::new(),
            });
        if let FanIn::Restored(restored) = buffer {
            // Events restored from a snapshot come back as `DynamicEvent`s: decode them once.
            // (They were serialized from an `E`, so decoding fails only for a snapshot edited
            // by hand; such events are dropped.)
            let typed: Vec<E> = std::mem::take(restored)
                .into_iter()
                .filter_map(|ev| E::from_event(ev).ok())
                .collect();
            *buffer = FanIn::Typed {
                len: typed.len(),
                execs: if durable {
                    vec![0; typed.len()]
                } else {
                    Vec::new()
                },
                events: Box::new(typed),
                store: store_typed::<E>,
            };
        }
        let FanIn::Typed {
            events,
            len,
            store,
            execs,
        } = buffer
        else {
            return None;
        };
        let Some(vec) = events.downcast_mut::<Vec<E>>() else {
            // Keys include the event types' names, so only two types sharing one routing
            // name (a graph clash) can get here.
            return None;
        };
        vec.push(event);
        *len = vec.len();
        if durable {
            execs.push(exec);
        }
        if vec.len() < n {
            return None;
        }
        let batch = std::mem::take(vec);
        let (store, execs) = (*store, std::mem::take(execs));
        self.collect.remove(&key);
        if durable && exec != 0 {
            // Kept until this execution completes, for checkpoints taken meanwhile.
            let stored = execs.into_iter().zip(store(&batch)).collect();
            self.taken.entry(exec).or_default().push((key, stored));
        }
        Some(batch)
    }

    /// Starts a wait of execution `exec` for an event of `event_type` that `filter` accepts:
    /// takes the oldest such event held for waits, or registers the waiter.
    pub(crate) fn start_wait(
        &mut self,
        exec: u64,
        event_type: &'static str,
        filter: Option<WaitFilter>,
    ) -> WaitStart {
        let held = self.parked.iter().position(|ev| {
            ev.event_type() == event_type && filter.as_ref().is_none_or(|f| f(&**ev))
        });
        if let Some(ev) = held.and_then(|i| self.parked.remove(i)) {
            self.wait_taken.push((exec, ev.clone_event()));
            return WaitStart::Held(ev);
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.push(Waiter {
            exec,
            event_type,
            filter,
            tx,
        });
        WaitStart::Waiting(rx)
    }

    /// Hands `ev` to the oldest waiter that takes it (the waiting execution), or gives it
    /// back if none does.
    pub(crate) fn deliver(&mut self, mut ev: Box<dyn Event>) -> Result<u64, Box<dyn Event>> {
        let mut i = 0;
        while i < self.waiters.len() {
            if !self.waiters[i].is_waiting() {
                self.waiters.remove(i);
                continue;
            }
            if !self.waiters[i].takes(&*ev) {
                i += 1;
                continue;
            }
            let waiter = self.waiters.remove(i);
            let copy = ev.clone_event();
            match waiter.tx.send(ev) {
                Ok(()) => {
                    self.wait_taken.push((waiter.exec, copy));
                    return Ok(waiter.exec);
                }
                // The wait ended meanwhile: the next waiter may take it.
                Err(back) => ev = back,
            }
        }
        Err(ev)
    }

    /// Holds a waited-for event that no waiter took, for the next wait.
    pub(crate) fn park(&mut self, ev: Box<dyn Event>) {
        self.parked.push_back(ev);
    }

    /// Execution `exec` completed: what it took (fan-in batches, and the events its waits
    /// took when its step may wait) is no longer needed to replay it.
    pub(crate) fn complete(&mut self, exec: u64, may_wait: bool) {
        self.taken.remove(&exec);
        if may_wait {
            self.wait_taken.retain(|(e, _)| *e != exec);
        }
    }

    /// The run ended: every wait is released (the waiting executions see their wait
    /// abandoned).
    pub(crate) fn release_waits(&mut self) {
        self.waiters.clear();
    }

    /// How many of the `announced` executions still wait (registered, not delivered to).
    pub(crate) fn still_waiting(&self, announced: &[u64]) -> usize {
        let mut execs: Vec<u64> = self
            .waiters
            .iter()
            .filter(|w| w.is_waiting() && announced.contains(&w.exec))
            .map(|w| w.exec)
            .collect();
        execs.sort_unstable();
        execs.dedup();
        execs.len()
    }
}

/// One fan-in buffer.
pub(crate) enum FanIn {
    /// Restored from a snapshot: decoded into the step's type at its next `collect_events`.
    Restored(Vec<Box<dyn Event>>),
    /// Events of one type `E`, unboxed: a `Vec<E>` (one allocation for the whole batch).
    Typed {
        events: Box<dyn Any + Send>,
        len: usize,
        /// Serializes the `Vec<E>` for a snapshot.
        store: fn(&(dyn Any + Send)) -> Vec<SerializedEvent>,
        /// Only when the run checkpoints or the step may wait: the execution that buffered
        /// each event (0: restored from a snapshot).
        execs: Vec<u64>,
    },
}

impl fmt::Debug for FanIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanIn").field("len", &self.len()).finish()
    }
}

impl FanIn {
    pub(crate) fn len(&self) -> usize {
        match self {
            FanIn::Restored(evs) => evs.len(),
            FanIn::Typed { len, .. } => *len,
        }
    }

    /// The buffered events in their stored form, each with the step execution that buffered
    /// it (0 when unknown: restored, or the run does not checkpoint).
    pub(crate) fn stored(&self) -> Vec<(u64, SerializedEvent)> {
        match self {
            FanIn::Restored(evs) => evs
                .iter()
                .map(|e| (0, SerializedEvent::from_event(&**e)))
                .collect(),
            FanIn::Typed {
                events,
                store,
                execs,
                ..
            } => {
                let execs = execs.iter().copied().chain(std::iter::repeat(0));
                execs.zip(store(&**events)).collect()
            }
        }
    }
}

fn store_typed<E: EventChoice>(events: &(dyn Any + Send)) -> Vec<SerializedEvent> {
    match events.downcast_ref::<Vec<E>>() {
        Some(events) => events
            .iter()
            .map(|e| SerializedEvent::from_event(e.as_event()))
            .collect(),
        None => Vec::new(),
    }
}
