//! Graph analysis shared by `Workflow::builder().build()` and the `workflow!` macro.
//!
//! A workflow is a graph whose nodes are steps and whose edges are events: step `a` feeds step
//! `b` when `a` emits an event that `b` accepts. [`check`] lists every defect of that graph;
//! `workflow!` runs the very same analysis during const evaluation, so a broken graph fails the
//! build with the same messages that [`check`] returns at run time.
//!
//! The analysis works on integers: each event is known by the FNV-1a hash of its routing name
//! (edges follow routing names, as the router does) and by the hash of its Rust type identity
//! (two different types with one routing name are a clash). Names come back only to write the
//! messages.
//!
//! ```
//! use blazen::prelude::*;
//! use blazen::graph::{check, GraphDefect};
//! use blazen::{EventInfo, StepOutput};
//!
//! let start = Step::new("start", |_ctx, _ev| async { Ok(StepOutput::None) })
//!     .accepts(EventInfo::of::<StartEvent>())
//!     .emits(EventInfo::named("Ghost"));
//! let defects = check(&[start]);
//! assert!(defects.contains(&GraphDefect::UnacceptedEvent {
//!     event: "Ghost".into(),
//!     step: "start".into(),
//! }));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::fmt::Write as _;

use crate::event::{fnv1a64, TypedEvent};
use crate::step::Step;

/// One defect of a workflow graph. Each names the event and the step concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphDefect {
    /// A step emits an event that no step accepts (StopEvent aside).
    UnacceptedEvent {
        /// The event's routing name.
        event: String,
        /// The step that emits it.
        step: String,
    },
    /// A step accepts an event that no step emits (StartEvent aside).
    UnemittedEvent {
        /// The event's routing name.
        event: String,
        /// The step that accepts it.
        step: String,
    },
    /// No chain of events leads from StartEvent to the step.
    Unreachable {
        /// The step.
        step: String,
    },
    /// No step reachable from StartEvent emits StopEvent: no run can finish.
    NoPathToStop,
    /// StopEvent cannot be reached from a step that StartEvent reaches.
    DeadEnd {
        /// The step.
        step: String,
    },
    /// A step accepts StopEvent, which ends the run and is never delivered to a step.
    AcceptsStop {
        /// The step.
        step: String,
    },
    /// Two steps have one name.
    DuplicateStep {
        /// The name.
        step: String,
    },
    /// No step accepts StartEvent: no run can begin.
    NoStartStep,
    /// Two different event types share one routing name.
    EventNameClash {
        /// The routing name.
        event: String,
        /// The Rust identity of the first type.
        first: String,
        /// A step using the first type.
        first_step: String,
        /// The Rust identity of the second type.
        second: String,
        /// A step using the second type.
        second_step: String,
    },
}

/// A check that a workflow may opt out of, for a deliberate design
/// (`workflow!(…, allow = [unreachable])`, or [`check_allowing`]).
///
/// The other defects cannot be switched off, because no run of such a graph could work: a
/// step accepting StopEvent (a run ends with it, no step ever receives it), two steps with one
/// name (snapshots and errors name steps), no step accepting StartEvent (nothing would run),
/// and two event types with one routing name (events would reach steps of the other type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GraphCheck {
    /// Events emitted that no step accepts ([`GraphDefect::UnacceptedEvent`]);
    /// `allow = [unaccepted]`.
    UnacceptedEvent,
    /// Events accepted that no step emits ([`GraphDefect::UnemittedEvent`]);
    /// `allow = [unemitted]`.
    UnemittedEvent,
    /// Steps unreachable from StartEvent ([`GraphDefect::Unreachable`]); `allow = [unreachable]`.
    Unreachable,
    /// Steps from which StopEvent cannot be reached, and workflows without any path to
    /// StopEvent ([`GraphDefect::DeadEnd`], [`GraphDefect::NoPathToStop`]); `allow = [dead_end]`.
    DeadEnd,
}

impl GraphCheck {
    /// Every check that can be opted out of.
    pub const ALL: [GraphCheck; 4] = [
        GraphCheck::UnacceptedEvent,
        GraphCheck::UnemittedEvent,
        GraphCheck::Unreachable,
        GraphCheck::DeadEnd,
    ];

    /// The key of the check in `workflow!(…, allow = [..])`.
    pub const fn key(self) -> &'static str {
        match self {
            GraphCheck::UnacceptedEvent => "unaccepted",
            GraphCheck::UnemittedEvent => "unemitted",
            GraphCheck::Unreachable => "unreachable",
            GraphCheck::DeadEnd => "dead_end",
        }
    }

    /// The check's bit in the mask the analysis takes.
    pub const fn bit(self) -> u32 {
        match self {
            GraphCheck::UnacceptedEvent => ALLOW_UNACCEPTED,
            GraphCheck::UnemittedEvent => ALLOW_UNEMITTED,
            GraphCheck::Unreachable => ALLOW_UNREACHABLE,
            GraphCheck::DeadEnd => ALLOW_DEAD_END,
        }
    }

    /// The check whose key (as written in `allow = [..]`) is `key`.
    pub fn from_key(key: &str) -> Option<GraphCheck> {
        GraphCheck::ALL.into_iter().find(|c| c.key() == key)
    }
}

impl GraphDefect {
    /// The check that found the defect, when it is one that can be opted out of.
    pub fn check(&self) -> Option<GraphCheck> {
        match self {
            GraphDefect::UnacceptedEvent { .. } => Some(GraphCheck::UnacceptedEvent),
            GraphDefect::UnemittedEvent { .. } => Some(GraphCheck::UnemittedEvent),
            GraphDefect::Unreachable { .. } => Some(GraphCheck::Unreachable),
            GraphDefect::NoPathToStop | GraphDefect::DeadEnd { .. } => Some(GraphCheck::DeadEnd),
            _ => None,
        }
    }

    fn raw_parts(&self) -> (DefectKind, [&str; 5]) {
        match self {
            GraphDefect::UnacceptedEvent { event, step } => {
                (DefectKind::UnacceptedEvent, [event, step, "", "", ""])
            }
            GraphDefect::UnemittedEvent { event, step } => {
                (DefectKind::UnemittedEvent, [event, step, "", "", ""])
            }
            GraphDefect::Unreachable { step } => (DefectKind::Unreachable, ["", step, "", "", ""]),
            GraphDefect::NoPathToStop => (DefectKind::NoPathToStop, [""; 5]),
            GraphDefect::DeadEnd { step } => (DefectKind::DeadEnd, ["", step, "", "", ""]),
            GraphDefect::AcceptsStop { step } => (DefectKind::AcceptsStop, ["", step, "", "", ""]),
            GraphDefect::DuplicateStep { step } => {
                (DefectKind::DuplicateStep, ["", step, "", "", ""])
            }
            GraphDefect::NoStartStep => (DefectKind::NoStartStep, [""; 5]),
            GraphDefect::EventNameClash {
                event,
                first,
                first_step,
                second,
                second_step,
            } => (
                DefectKind::EventNameClash,
                [event, first_step, first, second, second_step],
            ),
        }
    }
}

impl fmt::Display for GraphDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, [event, step, first, second, second_step]) = self.raw_parts();
        for piece in describe(kind, event, step, first, second, second_step) {
            f.write_str(piece)?;
        }
        Ok(())
    }
}

/// Lists every defect of the graph formed by `steps` (empty: the graph is sound).
///
/// `Workflow::builder(..).build()` calls this; `workflow!` runs the same analysis at compile
/// time. See [`GraphDefect`] for what is checked.
pub fn check(steps: &[Step]) -> Vec<GraphDefect> {
    check_allowing(steps, &[])
}

/// [`check`], except for the checks in `allow`.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::graph::{check, check_allowing, GraphCheck};
/// use blazen::{EventInfo, StepOutput};
///
/// let step = |name: &'static str| Step::new(name, |_ctx, _ev| async { Ok(StepOutput::None) });
/// let steps = [
///     step("start").accepts(EventInfo::of::<StartEvent>()).emits(EventInfo::of::<StopEvent>()),
///     step("manual").accepts(EventInfo::named("Manual")).emits(EventInfo::of::<StopEvent>()),
/// ];
/// assert_eq!(check(&steps).len(), 2); // `Manual` is never emitted, `manual` is unreachable
/// let allowed = [GraphCheck::UnemittedEvent, GraphCheck::Unreachable];
/// assert!(check_allowing(&steps, &allowed).is_empty());
/// ```
pub fn check_allowing(steps: &[Step], allow: &[GraphCheck]) -> Vec<GraphDefect> {
    type Lists<'a> = (Vec<EventNode<'a>>, Vec<EventNode<'a>>, Vec<EventNode<'a>>);
    let owned: Vec<Lists<'_>> = steps
        .iter()
        .map(|s| {
            (
                event_nodes(s.accepted()),
                event_nodes(s.emitted()),
                event_nodes(s.awaited()),
            )
        })
        .collect();
    let nodes: Vec<StepNode<'_>> = steps
        .iter()
        .zip(&owned)
        .map(|(s, (accepts, emits, waits))| {
            StepNode::new(s.name(), accepts, emits).with_waits(waits)
        })
        .collect();
    let mask = allow.iter().fold(0, |m, c| m | c.bit());
    let raw = analyze_all(&nodes, mask);
    raw.iter().map(|d| d.to_defect(&nodes)).collect()
}

fn event_nodes(list: &[crate::event::EventInfo]) -> Vec<EventNode<'_>> {
    list.iter()
        .map(|info| EventNode::new(&info.name, info.identity.unwrap_or("")))
        .collect()
}

/// Runs the shared analysis, growing the defect buffer until everything fits.
fn analyze_all(nodes: &[StepNode<'_>], allow: u32) -> Vec<RawDefect> {
    let n = nodes.len();
    let slots = slot_count(nodes);
    let mut flags = vec![0u8; n];
    let mut queue = vec![0usize; n];
    let mut names = vec![Entry::EMPTY; n];
    let mut index = vec![Entry::EMPTY; slots];
    let mut seen = vec![0u8; slots];
    let mut typed = vec![Entry::EMPTY; slots];
    let mut slot_bits = vec![0u8; slots];
    let mut clash = vec![0usize; slots];
    let mut scratch = Scratch {
        flags: &mut flags,
        queue: &mut queue,
        names: &mut names,
        index: &mut index,
        seen: &mut seen,
        typed: &mut typed,
        slot_bits: &mut slot_bits,
        clash: &mut clash,
    };
    let mut out = vec![RawDefect::EMPTY; 2 * slots + 3 * n + 2];
    loop {
        let count = analyze(nodes, allow, &mut scratch, &mut out);
        if count <= out.len() {
            out.truncate(count);
            return out;
        }
        out = vec![RawDefect::EMPTY; count];
    }
}

/// A Mermaid flowchart of the workflow `name` made of `steps`: StartEvent and StopEvent as
/// terminals, steps as boxes, an arrow labelled with the event for each edge.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::{EventInfo, StepOutput};
/// let s = Step::new("echo", |_ctx, _ev| async { Ok(StepOutput::None) })
///     .accepts(EventInfo::of::<StartEvent>())
///     .emits(EventInfo::of::<StopEvent>());
/// let chart = blazen::graph::to_mermaid("echo", &[s]);
/// assert!(chart.starts_with("---\ntitle: echo\n---\nflowchart TD\n"));
/// assert!(chart.contains("s0 -->|\"StopEvent\"| stop"));
/// ```
pub fn to_mermaid(name: &str, steps: &[Step]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---\ntitle: {}\n---\nflowchart TD", escape_title(name));
    out.push_str("    start([\"StartEvent\"])\n");
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(out, "    s{i}[\"{}\"]", escape_label(s.name()));
    }
    out.push_str("    stop([\"StopEvent\"])\n");
    let start = fnv1a64(START_NAME);
    let stop = fnv1a64(STOP_NAME);
    // Which steps accept (or wait for) each event, in step order: one pass over the steps,
    // then one lookup per emitted event (linear in the graph, not steps × slots).
    let by_event = |list: fn(&Step) -> &[crate::event::EventInfo]| {
        let mut map: HashMap<u64, Vec<usize>> = HashMap::new();
        for (t, step) in steps.iter().enumerate() {
            for e in list(step) {
                let targets = map.entry(fnv1a64(&e.name)).or_default();
                if targets.last() != Some(&t) {
                    targets.push(t);
                }
            }
        }
        map
    };
    let accepters = by_event(Step::accepted);
    let waiters = by_event(Step::awaited);
    // The steps an emitted event reaches, each once, in step order: those accepting (or
    // waiting for) it, and for an input request those accepting the input response the
    // runtime answers it with. A StopEvent reaches no step.
    let reached = |map: &HashMap<u64, Vec<usize>>, e: u64| -> Vec<usize> {
        let mut out: Vec<usize> = map.get(&e).cloned().unwrap_or_default();
        if e == INPUT_REQUIRED_ID {
            out.extend(map.get(&INPUT_RESPONSE_ID).into_iter().flatten());
            out.sort_unstable();
            out.dedup();
        }
        out
    };
    for t in accepters.get(&start).into_iter().flatten() {
        let _ = writeln!(out, "    start -->|\"StartEvent\"| s{t}");
    }
    for (s, step) in steps.iter().enumerate() {
        let mut drawn: Vec<u64> = Vec::new();
        for info in step.emitted() {
            let e = fnv1a64(&info.name);
            // An event listed twice in `emits` is one edge.
            if drawn.contains(&e) {
                continue;
            }
            drawn.push(e);
            if e == stop {
                let _ = writeln!(out, "    s{s} -->|\"StopEvent\"| stop");
                continue;
            }
            let label = escape_label(&short_name(&info.name));
            for t in reached(&accepters, e) {
                let _ = writeln!(out, "    s{s} -->|\"{label}\"| s{t}");
            }
            // A step that waits for the event inside its body: a dotted edge.
            for t in reached(&waiters, e) {
                let _ = writeln!(out, "    s{s} -.->|\"{label}\"| s{t}");
            }
        }
    }
    out
}

fn short_name(name: &str) -> String {
    name.strip_prefix("blazen::").unwrap_or(name).to_owned()
}

fn escape_label(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn escape_title(s: &str) -> String {
    s.replace('\n', " ")
}

// ---------------------------------------------------------------------------------------------
// The const core. Everything below is usable in const evaluation; `workflow!` calls it through
// `blazen::__private` with the metadata that `#[step]` generated.
// ---------------------------------------------------------------------------------------------

const START_NAME: &str = "blazen::StartEvent";
const STOP_NAME: &str = "blazen::StopEvent";
const INPUT_REQUIRED_NAME: &str = "blazen::InputRequiredEvent";
const INPUT_RESPONSE_NAME: &str = "blazen::InputResponseEvent";
const START_ID: u64 = fnv1a64(START_NAME);
const STOP_ID: u64 = fnv1a64(STOP_NAME);
const INPUT_REQUIRED_ID: u64 = fnv1a64(INPUT_REQUIRED_NAME);
const INPUT_RESPONSE_ID: u64 = fnv1a64(INPUT_RESPONSE_NAME);
/// The runtime emits `StepFailed` (when a step fails for good), as it emits StartEvent: a
/// step accepting it is not an "unemitted accept", and what it emits is reachable.
const STEP_FAILED_ID: u64 = fnv1a64("blazen::StepFailed");

/// Bit of [`GraphCheck::UnacceptedEvent`] in an allow mask.
#[doc(hidden)]
pub const ALLOW_UNACCEPTED: u32 = 1;
/// Bit of [`GraphCheck::UnemittedEvent`] in an allow mask.
#[doc(hidden)]
pub const ALLOW_UNEMITTED: u32 = 2;
/// Bit of [`GraphCheck::Unreachable`] in an allow mask.
#[doc(hidden)]
pub const ALLOW_UNREACHABLE: u32 = 4;
/// Bit of [`GraphCheck::DeadEnd`] in an allow mask.
#[doc(hidden)]
pub const ALLOW_DEAD_END: u32 = 8;

/// An event as the analysis sees it. Generated code builds these with [`EventNode::of`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct EventNode<'a> {
    /// The routing name.
    pub name: &'a str,
    /// The Rust type identity (`""` when unknown).
    pub identity: &'a str,
    /// Hash of `name`.
    pub name_id: u64,
    /// Hash of `identity` (0 when unknown).
    pub id: u64,
}

impl<'a> EventNode<'a> {
    /// An event known by routing name and (possibly empty) identity.
    pub const fn new(name: &'a str, identity: &'a str) -> Self {
        EventNode {
            name,
            identity,
            name_id: fnv1a64(name),
            id: if identity.is_empty() {
                0
            } else {
                fnv1a64(identity)
            },
        }
    }
}

impl EventNode<'static> {
    /// The typed event `E`.
    pub const fn of<E: TypedEvent>() -> Self {
        EventNode {
            name: E::EVENT_TYPE,
            identity: E::EVENT_IDENTITY,
            name_id: fnv1a64(E::EVENT_TYPE),
            id: E::EVENT_ID,
        }
    }

    /// A placeholder, for filling arrays.
    pub const EMPTY: EventNode<'static> = EventNode {
        name: "",
        identity: "",
        name_id: 0,
        id: 0,
    };
}

/// A step as the analysis sees it. `#[step]` generates one per step as a constant.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct StepNode<'a> {
    /// The step's name.
    pub name: &'a str,
    /// Hash of `name`.
    pub name_id: u64,
    /// The events it accepts.
    pub accepts: &'a [EventNode<'a>],
    /// The events it emits.
    pub emits: &'a [EventNode<'a>],
    /// The events it waits for inside its body (`waits_for`).
    pub waits: &'a [EventNode<'a>],
    /// False for the placeholder of a step whose definition did not compile; the
    /// compile-time check then stays silent instead of adding errors.
    pub valid: bool,
}

impl<'a> StepNode<'a> {
    /// A step node.
    pub const fn new(
        name: &'a str,
        accepts: &'a [EventNode<'a>],
        emits: &'a [EventNode<'a>],
    ) -> Self {
        StepNode {
            name,
            name_id: fnv1a64(name),
            accepts,
            emits,
            waits: &[],
            valid: true,
        }
    }

    /// The node with the events the step waits for inside its body.
    pub const fn with_waits(mut self, waits: &'a [EventNode<'a>]) -> Self {
        self.waits = waits;
        self
    }

    /// The placeholder of a step whose definition did not compile.
    pub const fn invalid(name: &'a str) -> Self {
        StepNode {
            name,
            name_id: fnv1a64(name),
            accepts: &[],
            emits: &[],
            waits: &[],
            valid: false,
        }
    }
}

/// Concatenates two event lists into an array of length `N` (`a.len() + b.len()`).
#[doc(hidden)]
pub const fn concat_events<const N: usize>(
    a: &[EventNode<'static>],
    b: &[EventNode<'static>],
) -> [EventNode<'static>; N] {
    let mut out = [EventNode::EMPTY; N];
    let mut i = 0;
    while i < a.len() && i < N {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() && i < N {
        out[i] = b[j];
        i += 1;
        j += 1;
    }
    out
}

/// The kind of a defect found by the core.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefectKind {
    /// See [`GraphDefect::UnacceptedEvent`].
    UnacceptedEvent,
    /// See [`GraphDefect::UnemittedEvent`].
    UnemittedEvent,
    /// See [`GraphDefect::Unreachable`].
    Unreachable,
    /// See [`GraphDefect::NoPathToStop`].
    NoPathToStop,
    /// See [`GraphDefect::DeadEnd`].
    DeadEnd,
    /// See [`GraphDefect::AcceptsStop`].
    AcceptsStop,
    /// See [`GraphDefect::DuplicateStep`].
    DuplicateStep,
    /// See [`GraphDefect::NoStartStep`].
    NoStartStep,
    /// See [`GraphDefect::EventNameClash`].
    EventNameClash,
}

/// Where an event appears: in a step's accepts (`emits == false`) or emits list.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Index of the step.
    pub step: usize,
    /// Whether the event is in the emits list.
    pub emits: bool,
    /// Index in the list.
    pub index: usize,
}

impl Slot {
    const NONE: Slot = Slot {
        step: 0,
        emits: false,
        index: 0,
    };

    const fn event<'a>(self, steps: &[StepNode<'a>]) -> EventNode<'a> {
        let s = steps[self.step];
        if self.emits {
            s.emits[self.index]
        } else {
            s.accepts[self.index]
        }
    }
}

/// A defect as the core reports it: indices into the graph.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDefect {
    /// What is wrong.
    pub kind: DefectKind,
    /// The event concerned (and its step).
    pub at: Slot,
    /// The second occurrence, for a clash.
    pub other: Slot,
}

impl RawDefect {
    /// A placeholder, for filling arrays.
    pub const EMPTY: RawDefect = RawDefect {
        kind: DefectKind::NoStartStep,
        at: Slot::NONE,
        other: Slot::NONE,
    };

    const fn of(kind: DefectKind, at: Slot) -> RawDefect {
        RawDefect {
            kind,
            at,
            other: Slot::NONE,
        }
    }

    /// The message pieces of the defect (concatenate them).
    pub const fn pieces<'a>(&self, steps: &[StepNode<'a>]) -> [&'a str; 11] {
        let event = if steps.is_empty() {
            EventNode::new("", "")
        } else {
            self.at.event_or_empty(steps)
        };
        let step = if steps.is_empty() {
            ""
        } else {
            steps[self.at.step].name
        };
        let (other_ident, other_step) = if matches!(self.kind, DefectKind::EventNameClash) {
            (
                self.other.event(steps).identity,
                steps[self.other.step].name,
            )
        } else {
            ("", "")
        };
        describe(
            self.kind,
            event.name,
            step,
            event.identity,
            other_ident,
            other_step,
        )
    }

    fn to_defect(self, steps: &[StepNode<'_>]) -> GraphDefect {
        let step = || steps[self.at.step].name.to_owned();
        let event = || self.at.event(steps).name.to_owned();
        match self.kind {
            DefectKind::UnacceptedEvent => GraphDefect::UnacceptedEvent {
                event: event(),
                step: step(),
            },
            DefectKind::UnemittedEvent => GraphDefect::UnemittedEvent {
                event: event(),
                step: step(),
            },
            DefectKind::Unreachable => GraphDefect::Unreachable { step: step() },
            DefectKind::NoPathToStop => GraphDefect::NoPathToStop,
            DefectKind::DeadEnd => GraphDefect::DeadEnd { step: step() },
            DefectKind::AcceptsStop => GraphDefect::AcceptsStop { step: step() },
            DefectKind::DuplicateStep => GraphDefect::DuplicateStep { step: step() },
            DefectKind::NoStartStep => GraphDefect::NoStartStep,
            DefectKind::EventNameClash => GraphDefect::EventNameClash {
                event: event(),
                first: self.at.event(steps).identity.to_owned(),
                first_step: step(),
                second: self.other.event(steps).identity.to_owned(),
                second_step: steps[self.other.step].name.to_owned(),
            },
        }
    }
}

impl Slot {
    const fn event_or_empty<'a>(self, steps: &[StepNode<'a>]) -> EventNode<'a> {
        if self.step >= steps.len() {
            return EventNode::new("", "");
        }
        let s = steps[self.step];
        let list = if self.emits { s.emits } else { s.accepts };
        if self.index < list.len() {
            list[self.index]
        } else {
            EventNode::new("", "")
        }
    }
}

/// The words of each defect, shared by the compile-time message and [`GraphDefect`]'s
/// `Display`. `first` and `second` are the two identities of a clash, `second_step` the
/// step using the second one.
const fn describe<'a>(
    kind: DefectKind,
    event: &'a str,
    step: &'a str,
    first: &'a str,
    second: &'a str,
    second_step: &'a str,
) -> [&'a str; 11] {
    match kind {
        DefectKind::UnacceptedEvent => [
            "event `",
            event,
            "` emitted by step `",
            step,
            "` is accepted by no step",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::UnemittedEvent => [
            "step `",
            step,
            "` accepts event `",
            event,
            "`, which no step emits",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::Unreachable => [
            "step `",
            step,
            "` is unreachable: no chain of events leads to it from `blazen::StartEvent`",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::NoPathToStop => [
            "no path from `blazen::StartEvent` to `blazen::StopEvent`: no step that a run \
             reaches emits `blazen::StopEvent`",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::DeadEnd => [
            "step `",
            step,
            "` is a dead end: `blazen::StopEvent` cannot be reached from it",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::AcceptsStop => [
            "step `",
            step,
            "` accepts `blazen::StopEvent`, which ends the run and is never delivered to a step",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::DuplicateStep => [
            "two steps are named `",
            step,
            "`",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::NoStartStep => [
            "no step accepts `blazen::StartEvent`: no run can begin",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        DefectKind::EventNameClash => [
            "event name `",
            event,
            "` names two different types: `",
            first,
            "` (step `",
            step,
            "`) and `",
            second,
            "` (step `",
            second_step,
            "`)",
        ],
    }
}

/// Whether an emitted event (by name id) reaches a step accepting `accepted`: the same name,
/// or an input request, which the runtime answers with an input response. (The reference
/// analysis of the tests; the analysis and the chart use sorted tables and maps.)
#[cfg(test)]
const fn emit_matches(emitted: u64, accepted: u64) -> bool {
    (emitted == accepted && emitted != STOP_ID)
        || (emitted == INPUT_REQUIRED_ID && accepted == INPUT_RESPONSE_ID)
}

const fn lists_name(list: &[EventNode<'_>], name_id: u64) -> bool {
    let mut i = 0;
    while i < list.len() {
        if list[i].name_id == name_id {
            return true;
        }
        i += 1;
    }
    false
}

const fn push(out: &mut [RawDefect], count: usize, d: RawDefect) -> usize {
    if count < out.len() {
        out[count] = d;
    }
    count + 1
}

/// The number of event slots (accepted, emitted and awaited events) of `steps`: the size of
/// the scratch tables of the analysis. `workflow!` passes it to [`analyze_sized`].
#[doc(hidden)]
pub const fn slot_count(steps: &[StepNode<'_>]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < steps.len() {
        total += steps[i].accepts.len() + steps[i].emits.len() + steps[i].waits.len();
        i += 1;
    }
    total
}

/// An entry of the sorted tables: an event slot (or a step) by key.
///
/// The tables sort by `(key, id, pos)`; `pos` is unique within a table, so the order is
/// total and the analysis deterministic.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The event's (or step's) name id.
    key: u64,
    /// The type identity id, in the table of typed slots; 0 elsewhere.
    id: u64,
    /// The position: of the slot among all accepted and emitted slots in step order
    /// (accepts before emits), of the awaited slot, or of the step.
    pos: usize,
    /// Where the slot is.
    slot: Slot,
}

impl Entry {
    const EMPTY: Entry = Entry {
        key: 0,
        id: 0,
        pos: 0,
        slot: Slot::NONE,
    };
}

const fn entry_less(a: &Entry, b: &Entry) -> bool {
    if a.key != b.key {
        return a.key < b.key;
    }
    if a.id != b.id {
        return a.id < b.id;
    }
    a.pos < b.pos
}

const fn swap(v: &mut [Entry], a: usize, b: usize) {
    let t = v[a];
    v[a] = v[b];
    v[b] = t;
}

/// Restores the heap property of `v[lo..lo + len]` (a max-heap) below `root`.
const fn sift_down(v: &mut [Entry], lo: usize, mut root: usize, len: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= len {
            return;
        }
        if child + 1 < len && entry_less(&v[lo + child], &v[lo + child + 1]) {
            child += 1;
        }
        if !entry_less(&v[lo + root], &v[lo + child]) {
            return;
        }
        swap(v, lo + root, lo + child);
        root = child;
    }
}

/// Heapsort of `v[lo..hi]`: O(n log n) without allocation, usable in const evaluation.
const fn heapsort(v: &mut [Entry], lo: usize, hi: usize) {
    let len = hi - lo;
    let mut i = len / 2;
    while i > 0 {
        i -= 1;
        sift_down(v, lo, i, len);
    }
    let mut end = len;
    while end > 1 {
        end -= 1;
        swap(v, lo, lo + end);
        sift_down(v, lo, 0, end);
    }
}

/// The first index of `v[lo..hi]` (sorted) whose key is not below `key`.
const fn lower_bound(v: &[Entry], lo: usize, hi: usize, key: u64) -> usize {
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if v[mid].key < key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Whether `v[lo..hi]` (sorted) holds `key`.
const fn has_key(v: &[Entry], lo: usize, hi: usize, key: u64) -> bool {
    let at = lower_bound(v, lo, hi, key);
    at < hi && v[at].key == key
}

/// The scratch space of the analysis. `N`: number of steps; `S`: [`slot_count`].
struct Scratch<'s> {
    /// Per step (N): the `DUPLICATE`, `REACHED` and `FINISHES` bits.
    flags: &'s mut [u8],
    /// Per step (N): the queue of the searches.
    queue: &'s mut [usize],
    /// Per step (N): the steps sorted by name.
    names: &'s mut [Entry],
    /// Per slot (S): accepted, emitted and awaited slots, each part sorted by name.
    index: &'s mut [Entry],
    /// Per slot (S): the groups of `index` that a search already expanded.
    seen: &'s mut [u8],
    /// Per slot (S): the typed accepted and emitted slots, sorted by name and type.
    typed: &'s mut [Entry],
    /// Per accepted or emitted slot (by position, S): `REPEATED` when an earlier slot of the
    /// same list has the same name.
    slot_bits: &'s mut [u8],
    /// Per accepted or emitted slot (by position, S): for a clash, 1 + the index in `typed`
    /// of the first slot of the name; else 0.
    clash: &'s mut [usize],
}

const REPEATED: u8 = 1;
const DUPLICATE: u8 = 4;
const REACHED: u8 = 1;
const FINISHES: u8 = 2;

/// The boundaries of the parts of `Scratch::index`: accepts `[0, a)`, emits `[a, e)`,
/// awaited `[e, w)`.
#[derive(Clone, Copy)]
struct Parts {
    a: usize,
    e: usize,
    w: usize,
}

/// Flags (with `bit`) and queues every step of the group of `key` in `index[lo..hi]` not yet
/// flagged; a group is expanded once (`seen`), so a search costs O(slots · log slots).
const fn visit_group(
    s: &mut Scratch<'_>,
    lo: usize,
    hi: usize,
    key: u64,
    bit: u8,
    tail: usize,
) -> usize {
    let mut tail = tail;
    let mut j = lower_bound(s.index, lo, hi, key);
    if j >= hi || s.index[j].key != key || s.seen[j] & bit != 0 {
        return tail;
    }
    s.seen[j] |= bit;
    while j < hi && s.index[j].key == key {
        let t = s.index[j].slot.step;
        if s.flags[t] & bit == 0 {
            s.flags[t] |= bit;
            s.queue[tail] = t;
            tail += 1;
        }
        j += 1;
    }
    tail
}

/// Breadth-first search setting `bit` in `flags`: forward from the steps that accept
/// StartEvent along "feeds" (`a` feeds `b` when `a` emits an event that `b` accepts), or
/// backward from the steps that emit StopEvent against it (what a step waits for inside its
/// body feeds it too: its emitter finishes when the waiting step does).
const fn mark(steps: &[StepNode<'_>], s: &mut Scratch<'_>, p: Parts, bit: u8, forward: bool) {
    let n = steps.len();
    let mut tail = 0;
    let mut i = 0;
    while i < n {
        let seed = if forward {
            lists_name(steps[i].accepts, START_ID) || lists_name(steps[i].accepts, STEP_FAILED_ID)
        } else {
            lists_name(steps[i].emits, STOP_ID)
        };
        if seed {
            s.flags[i] |= bit;
            s.queue[tail] = i;
            tail += 1;
        }
        i += 1;
    }
    let mut head = 0;
    while head < tail {
        let at = s.queue[head];
        head += 1;
        if forward {
            // The steps accepting what `at` emits (emit_matches, by the sorted accepts).
            let em = steps[at].emits;
            let mut k = 0;
            while k < em.len() {
                let e = em[k].name_id;
                if e != STOP_ID {
                    tail = visit_group(s, 0, p.a, e, bit, tail);
                }
                if e == INPUT_REQUIRED_ID {
                    tail = visit_group(s, 0, p.a, INPUT_RESPONSE_ID, bit, tail);
                }
                k += 1;
            }
        } else {
            // The steps emitting what `at` accepts or waits for (by the sorted emits).
            let mut list = 0;
            while list < 2 {
                let l = if list == 0 {
                    steps[at].accepts
                } else {
                    steps[at].waits
                };
                let mut k = 0;
                while k < l.len() {
                    let a = l[k].name_id;
                    if a != STOP_ID {
                        tail = visit_group(s, p.a, p.e, a, bit, tail);
                    }
                    if a == INPUT_RESPONSE_ID {
                        tail = visit_group(s, p.a, p.e, INPUT_REQUIRED_ID, bit, tail);
                    }
                    k += 1;
                }
                list += 1;
            }
        }
    }
}

/// Fills and sorts the tables of `s`; returns the parts of `s.index` and the number of
/// typed slots.
const fn build_index(steps: &[StepNode<'_>], s: &mut Scratch<'_>) -> (Parts, usize) {
    let n = steps.len();
    // Steps by name.
    let mut i = 0;
    while i < n {
        s.flags[i] = 0;
        s.names[i] = Entry {
            key: steps[i].name_id,
            id: 0,
            pos: i,
            slot: Slot {
                step: i,
                emits: false,
                index: 0,
            },
        };
        i += 1;
    }
    heapsort(s.names, 0, n);

    // Sizes of the parts.
    let (mut na, mut ne, mut nw) = (0, 0, 0);
    let mut i = 0;
    while i < n {
        na += steps[i].accepts.len();
        ne += steps[i].emits.len();
        nw += steps[i].waits.len();
        i += 1;
    }
    let p = Parts {
        a: na,
        e: na + ne,
        w: na + ne + nw,
    };

    // Every slot, in step order; accepts before emits, as the clash scan counts them.
    let (mut fa, mut fe, mut fw, mut ft, mut pos) = (0, p.a, p.e, 0, 0);
    let mut i = 0;
    while i < n {
        let mut list = 0;
        while list < 3 {
            let l = match list {
                0 => steps[i].accepts,
                1 => steps[i].emits,
                _ => steps[i].waits,
            };
            let mut k = 0;
            while k < l.len() {
                let slot = Slot {
                    step: i,
                    emits: list == 1,
                    index: k,
                };
                let entry = Entry {
                    key: l[k].name_id,
                    id: 0,
                    pos: if list == 2 { fw } else { pos },
                    slot,
                };
                if list == 2 {
                    s.index[fw] = entry;
                    fw += 1;
                } else {
                    if list == 0 {
                        s.index[fa] = entry;
                        fa += 1;
                    } else {
                        s.index[fe] = entry;
                        fe += 1;
                    }
                    if l[k].id != 0 {
                        s.typed[ft] = Entry {
                            id: l[k].id,
                            ..entry
                        };
                        ft += 1;
                    }
                    s.slot_bits[pos] = 0;
                    s.clash[pos] = 0;
                    pos += 1;
                }
                k += 1;
            }
            list += 1;
        }
        i += 1;
    }
    let mut j = 0;
    while j < p.w {
        s.seen[j] = 0;
        j += 1;
    }
    heapsort(s.index, 0, p.a);
    heapsort(s.index, p.a, p.e);
    heapsort(s.index, p.e, p.w);
    heapsort(s.typed, 0, ft);

    // A slot repeating an earlier slot of its list: its predecessor by (name, position)
    // has the same name and step.
    let mut j = 1;
    while j < p.e {
        let (prev, cur) = (s.index[j - 1], s.index[j]);
        if j != p.a && prev.key == cur.key && prev.slot.step == cur.slot.step {
            s.slot_bits[cur.pos] |= REPEATED;
        }
        j += 1;
    }
    (p, ft)
}

/// The clashes: within the typed slots of one name, the first slot of each type except the
/// type of the name's first slot is a clash with that first slot.
const fn find_clashes(s: &mut Scratch<'_>, typed: usize) {
    let mut g = 0;
    while g < typed {
        let key = s.typed[g].key;
        let mut end = g;
        let mut first = g;
        while end < typed && s.typed[end].key == key {
            if s.typed[end].pos < s.typed[first].pos {
                first = end;
            }
            end += 1;
        }
        let mut j = g;
        while j < end {
            let new_type = j == g || s.typed[j - 1].id != s.typed[j].id;
            if new_type && j != first && s.typed[j].id != s.typed[first].id {
                s.clash[s.typed[j].pos] = first + 1;
            }
            j += 1;
        }
        g = end;
    }
}

/// The analysis. Writes the defects it finds into `out` (as many as fit) and returns how
/// many it found. `s` is sized as its fields say; `allow` is a mask of `ALLOW_*` bits.
///
/// Defects come in a fixed order: no start step; duplicate names (in step order); steps
/// accepting StopEvent, name clashes, unaccepted and unemitted events (each in slot order);
/// unreachable steps; no path to stop or dead ends. Cost: O(slots · log slots) (sorted
/// tables and binary searches), so that const evaluation of a large workflow stays cheap.
const fn analyze(
    steps: &[StepNode<'_>],
    allow: u32,
    s: &mut Scratch<'_>,
    out: &mut [RawDefect],
) -> usize {
    let n = steps.len();
    let mut count = 0;
    let (p, typed) = build_index(steps, s);

    // No step accepts StartEvent.
    let has_start = has_key(s.index, 0, p.a, START_ID);
    if !has_start {
        count = push(
            out,
            count,
            RawDefect::of(DefectKind::NoStartStep, Slot::NONE),
        );
    }

    // Two steps with one name: every step but the first of each name, in step order.
    let mut j = 1;
    while j < n {
        if s.names[j].key == s.names[j - 1].key {
            s.flags[s.names[j].pos] |= DUPLICATE;
        }
        j += 1;
    }
    let mut i = 0;
    while i < n {
        if s.flags[i] & DUPLICATE != 0 {
            let at = Slot {
                step: i,
                emits: false,
                index: 0,
            };
            count = push(out, count, RawDefect::of(DefectKind::DuplicateStep, at));
        }
        s.flags[i] = 0;
        i += 1;
    }

    // A step accepting StopEvent.
    let mut i = 0;
    let mut pos = 0;
    while i < n {
        let acc = steps[i].accepts;
        let mut k = 0;
        while k < acc.len() {
            if acc[k].name_id == STOP_ID && s.slot_bits[pos + k] & REPEATED == 0 {
                let at = Slot {
                    step: i,
                    emits: false,
                    index: k,
                };
                count = push(out, count, RawDefect::of(DefectKind::AcceptsStop, at));
            }
            k += 1;
        }
        pos += acc.len() + steps[i].emits.len();
        i += 1;
    }

    // Two types with one routing name: the first slot of each type reports, against the
    // first slot of the name.
    find_clashes(s, typed);
    let mut i = 0;
    let mut pos = 0;
    while i < n {
        let mut list = 0;
        while list < 2 {
            let len = if list == 0 {
                steps[i].accepts.len()
            } else {
                steps[i].emits.len()
            };
            let mut k = 0;
            while k < len {
                let c = s.clash[pos];
                if c != 0 {
                    let d = RawDefect {
                        kind: DefectKind::EventNameClash,
                        at: s.typed[c - 1].slot,
                        other: Slot {
                            step: i,
                            emits: list == 1,
                            index: k,
                        },
                    };
                    count = push(out, count, d);
                }
                pos += 1;
                k += 1;
            }
            list += 1;
        }
        i += 1;
    }

    // Emitted, accepted by nobody (a step waiting for the event inside its body consumes it
    // too).
    if allow & ALLOW_UNACCEPTED == 0 {
        let mut i = 0;
        let mut pos = 0;
        while i < n {
            pos += steps[i].accepts.len();
            let em = steps[i].emits;
            let mut k = 0;
            while k < em.len() {
                let id = em[k].name_id;
                let accepted = has_key(s.index, 0, p.a, id)
                    || has_key(s.index, p.e, p.w, id)
                    || (id == INPUT_REQUIRED_ID
                        && (has_key(s.index, 0, p.a, INPUT_RESPONSE_ID)
                            || has_key(s.index, p.e, p.w, INPUT_RESPONSE_ID)));
                if id != STOP_ID && s.slot_bits[pos] & REPEATED == 0 && !accepted {
                    let at = Slot {
                        step: i,
                        emits: true,
                        index: k,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::UnacceptedEvent, at));
                }
                pos += 1;
                k += 1;
            }
            i += 1;
        }
    }

    // Accepted, emitted by nobody.
    if allow & ALLOW_UNEMITTED == 0 {
        let mut i = 0;
        let mut pos = 0;
        while i < n {
            let acc = steps[i].accepts;
            let mut k = 0;
            while k < acc.len() {
                let id = acc[k].name_id;
                let emitted = has_key(s.index, p.a, p.e, id)
                    || (id == INPUT_RESPONSE_ID && has_key(s.index, p.a, p.e, INPUT_REQUIRED_ID));
                let runtime = id == START_ID || id == STEP_FAILED_ID;
                if !runtime && id != STOP_ID && s.slot_bits[pos] & REPEATED == 0 && !emitted {
                    let at = Slot {
                        step: i,
                        emits: false,
                        index: k,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::UnemittedEvent, at));
                }
                pos += 1;
                k += 1;
            }
            pos += steps[i].emits.len();
            i += 1;
        }
    }

    if !has_start {
        return count;
    }

    // Forward: the steps a run reaches from StartEvent.
    mark(steps, s, p, REACHED, true);
    // Backward: the steps from which StopEvent can be reached.
    mark(steps, s, p, FINISHES, false);

    if allow & ALLOW_UNREACHABLE == 0 {
        let mut i = 0;
        while i < n {
            if s.flags[i] & REACHED == 0 {
                let at = Slot {
                    step: i,
                    emits: false,
                    index: 0,
                };
                count = push(out, count, RawDefect::of(DefectKind::Unreachable, at));
            }
            i += 1;
        }
    }

    if allow & ALLOW_DEAD_END == 0 {
        let mut any_finishes = false;
        let mut i = 0;
        while i < n {
            if s.flags[i] == REACHED | FINISHES {
                any_finishes = true;
            }
            i += 1;
        }
        if !any_finishes {
            count = push(
                out,
                count,
                RawDefect::of(DefectKind::NoPathToStop, Slot::NONE),
            );
        } else {
            let mut i = 0;
            while i < n {
                if s.flags[i] == REACHED {
                    let at = Slot {
                        step: i,
                        emits: false,
                        index: 0,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::DeadEnd, at));
                }
                i += 1;
            }
        }
    }
    count
}

/// How many defects the compile-time report keeps (the message lists these, then "… and
/// more").
const REPORT_MAX: usize = 64;

/// The outcome of the compile-time analysis of `workflow!`, read by [`assert_graph`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct GraphReport {
    count: usize,
    defects: [RawDefect; REPORT_MAX],
    sized: bool,
}

/// The analysis of `steps` in const evaluation, with scratch tables of `N` steps and `S`
/// slots (`S` = [`slot_count`] of `steps`; `workflow!` computes it from the steps' consts).
#[doc(hidden)]
pub const fn analyze_sized<const N: usize, const S: usize>(
    steps: &[StepNode<'_>; N],
    allow: u32,
) -> GraphReport {
    let mut report = GraphReport {
        count: 0,
        defects: [RawDefect::EMPTY; REPORT_MAX],
        sized: slot_count(steps) <= S,
    };
    if !report.sized {
        return report;
    }
    let mut flags = [0u8; N];
    let mut queue = [0usize; N];
    let mut names = [Entry::EMPTY; N];
    let mut index = [Entry::EMPTY; S];
    let mut seen = [0u8; S];
    let mut typed = [Entry::EMPTY; S];
    let mut slot_bits = [0u8; S];
    let mut clash = [0usize; S];
    let mut scratch = Scratch {
        flags: &mut flags,
        queue: &mut queue,
        names: &mut names,
        index: &mut index,
        seen: &mut seen,
        typed: &mut typed,
        slot_bits: &mut slot_bits,
        clash: &mut clash,
    };
    report.count = analyze(steps, allow, &mut scratch, &mut report.defects);
    report
}

/// A fixed-capacity text buffer for composing a message in const evaluation.
#[doc(hidden)]
#[derive(Debug)]
pub struct ConstMessage<const CAP: usize> {
    buf: [u8; CAP],
    len: usize,
    truncated: bool,
}

impl<const CAP: usize> ConstMessage<CAP> {
    /// An empty message.
    pub const fn new() -> Self {
        ConstMessage {
            buf: [0; CAP],
            len: 0,
            truncated: false,
        }
    }

    /// Appends `s`, or as much of it as fits on a character boundary.
    pub const fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if self.len >= CAP {
                self.truncated = true;
                // Drop a partial UTF-8 sequence at the end.
                while self.len > 0 && self.buf[self.len - 1] & 0xC0 == 0x80 {
                    self.len -= 1;
                }
                if self.len > 0 && self.buf[self.len - 1] >= 0xC0 {
                    self.len -= 1;
                }
                return;
            }
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }

    /// Appends a decimal number.
    pub const fn push_usize(&mut self, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while n > 0 {
            n -= 1;
            if self.len < CAP {
                self.buf[self.len] = digits[n];
                self.len += 1;
            }
        }
    }

    /// Whether something did not fit.
    pub const fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "(message not valid UTF-8)",
        }
    }
}

impl<const CAP: usize> Default for ConstMessage<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

/// The compile-time check of `workflow!`: panics (failing the build) with every defect of
/// the graph formed by `steps`, in the words of [`GraphDefect`]'s `Display`.
#[doc(hidden)]
pub const fn assert_graph<const N: usize>(
    workflow: &str,
    steps: &[StepNode<'_>; N],
    report: &GraphReport,
) {
    const MAX: usize = REPORT_MAX;
    let mut i = 0;
    while i < N {
        if !steps[i].valid {
            // The step's own errors are already reported.
            return;
        }
        i += 1;
    }
    if !report.sized {
        panic!("blazen: `workflow!` sized the graph check's tables too small (a bug in blazen)");
    }
    let count = report.count;
    let out = &report.defects;
    if count == 0 {
        return;
    }
    let mut msg = ConstMessage::<8192>::new();
    msg.push("workflow `");
    msg.push(workflow);
    msg.push("` has ");
    msg.push_usize(count);
    msg.push(if count == 1 {
        " graph defect:"
    } else {
        " graph defects:"
    });
    let mut i = 0;
    while i < count && i < MAX {
        msg.push("\n  - ");
        let pieces = out[i].pieces(steps);
        let mut k = 0;
        while k < pieces.len() {
            msg.push(pieces[k]);
            k += 1;
        }
        i += 1;
    }
    if count > MAX {
        msg.push("\n  - … and more");
    }
    // The hint only when an `allow` key would switch one of these defects off (a step
    // accepting StopEvent, duplicate names, no StartEvent step and name clashes cannot be).
    let mut optional = false;
    let mut i = 0;
    while i < count && i < MAX {
        optional |= matches!(
            out[i].kind,
            DefectKind::UnacceptedEvent
                | DefectKind::UnemittedEvent
                | DefectKind::Unreachable
                | DefectKind::NoPathToStop
                | DefectKind::DeadEnd
        );
        i += 1;
    }
    if optional {
        msg.push(
            "\n(a deliberate design may opt out of a check: \
             `allow = [unaccepted, unemitted, unreachable, dead_end]`)",
        );
    }
    panic!("{}", msg.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_each_edge_once_in_step_order() {
        use crate::event::{EventInfo, InputRequiredEvent, InputResponseEvent, StartEvent};
        let noop = |_ctx: crate::Context, _ev: Box<dyn crate::Event>| async {
            Ok::<_, crate::WorkflowError>(crate::StepOutput::None)
        };
        let named = EventInfo::named;
        let steps = vec![
            Step::new("fan", noop)
                .accepts(EventInfo::of::<StartEvent>())
                .emits(named("Job"))
                .emits(named("Job"))
                .emits(EventInfo::of::<InputRequiredEvent>()),
            Step::new("work_a", noop)
                .accepts(named("Job"))
                .accepts(named("Job"))
                .emits(named("Done")),
            Step::new("work_b", noop)
                .accepts(named("Job"))
                .accepts(EventInfo::of::<StartEvent>())
                .emits(named("Done")),
            Step::new("answers", noop)
                .accepts(EventInfo::of::<InputResponseEvent>())
                .emits(named("Done")),
            Step::new("gather", noop)
                .accepts(named("Done"))
                .waits_for(named("Job"))
                .waits_for(EventInfo::of::<InputResponseEvent>())
                .emits(EventInfo::of::<crate::event::StopEvent>()),
        ];
        let chart = to_mermaid("chart \"x\"", &steps);
        let expected = r#"---
title: chart "x"
---
flowchart TD
    start(["StartEvent"])
    s0["fan"]
    s1["work_a"]
    s2["work_b"]
    s3["answers"]
    s4["gather"]
    stop(["StopEvent"])
    start -->|"StartEvent"| s0
    start -->|"StartEvent"| s2
    s0 -->|"Job"| s1
    s0 -->|"Job"| s2
    s0 -.->|"Job"| s4
    s0 -->|"InputRequiredEvent"| s3
    s0 -.->|"InputRequiredEvent"| s4
    s1 -->|"Done"| s4
    s2 -->|"Done"| s4
    s3 -->|"Done"| s4
    s4 -->|"StopEvent"| stop
"#;
        assert_eq!(chart, expected);
    }

    const fn ev(name: &'static str) -> EventNode<'static> {
        EventNode::new(name, name)
    }

    const START: EventNode<'static> = EventNode::new(START_NAME, START_NAME);
    const STOP: EventNode<'static> = EventNode::new(STOP_NAME, STOP_NAME);

    fn run(steps: &[StepNode<'_>]) -> Vec<GraphDefect> {
        analyze_all(steps, 0)
            .iter()
            .map(|d| d.to_defect(steps))
            .collect()
    }

    #[test]
    fn sound_loop_with_exit_has_no_defect() {
        let a = [START];
        let b = [ev("A")];
        let c = [ev("A"), STOP];
        let steps = [StepNode::new("s", &a, &b), StepNode::new("loop", &b, &c)];
        assert_eq!(run(&steps), vec![]);
    }

    #[test]
    fn every_defect_is_reported() {
        let start = [START];
        let ghost = [ev("Ghost")];
        let orphan = [ev("Orphan")];
        let stop = [STOP];
        let none: [EventNode<'static>; 0] = [];
        let steps = [
            StepNode::new("s0", &start, &ghost),
            StepNode::new("s1", &orphan, &stop),
            StepNode::new("s1", &stop, &none),
        ];
        let d = run(&steps);
        assert_eq!(
            d,
            vec![
                GraphDefect::DuplicateStep { step: "s1".into() },
                GraphDefect::AcceptsStop { step: "s1".into() },
                GraphDefect::UnacceptedEvent {
                    event: "Ghost".into(),
                    step: "s0".into()
                },
                GraphDefect::UnemittedEvent {
                    event: "Orphan".into(),
                    step: "s1".into()
                },
                GraphDefect::Unreachable { step: "s1".into() },
                GraphDefect::Unreachable { step: "s1".into() },
                GraphDefect::NoPathToStop,
            ]
        );
    }

    #[test]
    fn clash_dead_end_and_no_start() {
        let a1 = [EventNode::new("A", "m1::A")];
        let a2 = [EventNode::new("A", "m2::A")];
        let start = [START];
        let stop = [STOP];
        let steps = [
            StepNode::new("s0", &start, &a1),
            StepNode::new("s1", &a2, &stop),
        ];
        let d = run(&steps);
        assert_eq!(
            d,
            vec![GraphDefect::EventNameClash {
                event: "A".into(),
                first: "m1::A".into(),
                first_step: "s0".into(),
                second: "m2::A".into(),
                second_step: "s1".into(),
            }]
        );
        assert_eq!(
            d[0].to_string(),
            "event name `A` names two different types: `m1::A` (step `s0`) and `m2::A` (step `s1`)"
        );
        let x = [ev("X")];
        let steps = [StepNode::new("s0", &start, &x), StepNode::new("s1", &x, &x)];
        assert_eq!(run(&steps), vec![GraphDefect::NoPathToStop]);
        let b = [ev("B")];
        let steps = [
            StepNode::new("s0", &start, &[]),
            StepNode::new("s1", &x, &b),
        ];
        let d = run(&steps);
        assert!(d.contains(&GraphDefect::Unreachable { step: "s1".into() }));
        let steps = [StepNode::new("s1", &x, &stop)];
        assert_eq!(
            run(&steps),
            vec![
                GraphDefect::NoStartStep,
                GraphDefect::UnemittedEvent {
                    event: "X".into(),
                    step: "s1".into()
                }
            ]
        );
        let ok = [EventNode::new("A", "m1::A"), STOP];
        let steps = [
            StepNode::new("s0", &start, &ok),
            StepNode::new("s1", &a1, &stop),
            StepNode::new("s2", &x, &x),
        ];
        let d = analyze_all(&steps, ALLOW_UNREACHABLE | ALLOW_UNEMITTED);
        assert_eq!(d, vec![]);
        let steps = [
            StepNode::new("s0", &start, &ok),
            StepNode::new("s1", &a1, &x),
            StepNode::new("s2", &x, &x),
        ];
        assert_eq!(
            run(&steps),
            vec![
                GraphDefect::DeadEnd { step: "s1".into() },
                GraphDefect::DeadEnd { step: "s2".into() }
            ]
        );
    }

    #[test]
    fn input_request_feeds_input_response() {
        let start = [START];
        let req = [EventNode::new(INPUT_REQUIRED_NAME, INPUT_REQUIRED_NAME)];
        let resp = [EventNode::new(INPUT_RESPONSE_NAME, INPUT_RESPONSE_NAME)];
        let stop = [STOP];
        let steps = [
            StepNode::new("ask", &start, &req),
            StepNode::new("answer", &resp, &stop),
        ];
        assert_eq!(run(&steps), vec![]);
    }

    /// The analysis as it was before the sorted tables: quadratic, written plainly; the
    /// reference the fast analysis must agree with, defect for defect and in order.
    mod reference {
        use super::super::*;

        /// Whether `list[index]` repeats an earlier entry of the same list.
        const fn repeated(list: &[EventNode<'_>], index: usize) -> bool {
            let mut i = 0;
            while i < index {
                if list[i].name_id == list[index].name_id {
                    return true;
                }
                i += 1;
            }
            false
        }

        /// Whether step `s` feeds step `t`.
        const fn feeds(s: &StepNode<'_>, t: &StepNode<'_>) -> bool {
            let mut i = 0;
            while i < s.emits.len() {
                let mut j = 0;
                while j < t.accepts.len() {
                    if emit_matches(s.emits[i].name_id, t.accepts[j].name_id) {
                        return true;
                    }
                    j += 1;
                }
                i += 1;
            }
            false
        }

        /// Whether `s` emits something `t` waits for inside its body.
        const fn feeds_wait(s: &StepNode<'_>, t: &StepNode<'_>) -> bool {
            let mut i = 0;
            while i < s.emits.len() {
                if lists_match(t.waits, s.emits[i].name_id) {
                    return true;
                }
                i += 1;
            }
            false
        }

        /// Whether some step accepts what `emitted` names.
        const fn accepted_anywhere(steps: &[StepNode<'_>], emitted: u64) -> bool {
            let mut t = 0;
            while t < steps.len() {
                // A step waiting for the event inside its body consumes it too.
                if lists_match(steps[t].accepts, emitted) || lists_match(steps[t].waits, emitted) {
                    return true;
                }
                t += 1;
            }
            false
        }

        /// Whether `list` holds an event that `emitted` reaches.
        const fn lists_match(list: &[EventNode<'_>], emitted: u64) -> bool {
            let mut j = 0;
            while j < list.len() {
                if emit_matches(emitted, list[j].name_id) {
                    return true;
                }
                j += 1;
            }
            false
        }

        /// Whether some step emits something that reaches a step accepting `accepted`.
        const fn emitted_anywhere(steps: &[StepNode<'_>], accepted: u64) -> bool {
            let mut s = 0;
            while s < steps.len() {
                let em = steps[s].emits;
                let mut i = 0;
                while i < em.len() {
                    if emit_matches(em[i].name_id, accepted) {
                        return true;
                    }
                    i += 1;
                }
                s += 1;
            }
            false
        }

        /// Breadth-first search setting `bit` in `flags`: forward from the steps that accept
        /// StartEvent along "feeds", or backward from the steps that emit StopEvent against it.
        const fn mark(
            steps: &[StepNode<'_>],
            flags: &mut [u8],
            queue: &mut [usize],
            bit: u8,
            forward: bool,
        ) {
            let n = steps.len();
            let mut tail = 0;
            let mut i = 0;
            while i < n {
                let seed = if forward {
                    lists_name(steps[i].accepts, START_ID)
                } else {
                    lists_name(steps[i].emits, STOP_ID)
                };
                if seed {
                    flags[i] |= bit;
                    queue[tail] = i;
                    tail += 1;
                }
                i += 1;
            }
            let mut head = 0;
            while head < tail {
                let at = queue[head];
                head += 1;
                let mut other = 0;
                while other < n {
                    let linked = if forward {
                        feeds(&steps[at], &steps[other])
                    } else {
                        // What a step waits for inside its body feeds it too: its emitter finishes
                        // when the waiting step does.
                        feeds(&steps[other], &steps[at]) || feeds_wait(&steps[other], &steps[at])
                    };
                    if flags[other] & bit == 0 && linked {
                        flags[other] |= bit;
                        queue[tail] = other;
                        tail += 1;
                    }
                    other += 1;
                }
            }
        }

        /// The analysis. Writes the defects it finds into `out` (as many as fit) and returns how
        /// many it found. `flags` and `queue` are scratch space of `steps.len()` entries each;
        /// `allow` is a mask of `ALLOW_*` bits.
        #[doc(hidden)]
        pub(super) const fn analyze(
            steps: &[StepNode<'_>],
            allow: u32,
            flags: &mut [u8],
            queue: &mut [usize],
            out: &mut [RawDefect],
        ) -> usize {
            const REACHED: u8 = 1;
            const FINISHES: u8 = 2;
            let n = steps.len();
            let mut count = 0;

            // No step accepts StartEvent.
            let mut has_start = false;
            let mut i = 0;
            while i < n {
                if lists_name(steps[i].accepts, START_ID) {
                    has_start = true;
                }
                i += 1;
            }
            if !has_start {
                count = push(
                    out,
                    count,
                    RawDefect::of(DefectKind::NoStartStep, Slot::NONE),
                );
            }

            // Two steps with one name.
            let mut i = 0;
            while i < n {
                let mut j = 0;
                while j < i {
                    if steps[j].name_id == steps[i].name_id {
                        let at = Slot {
                            step: i,
                            emits: false,
                            index: 0,
                        };
                        count = push(out, count, RawDefect::of(DefectKind::DuplicateStep, at));
                        break;
                    }
                    j += 1;
                }
                i += 1;
            }

            // A step accepting StopEvent.
            let mut i = 0;
            while i < n {
                let acc = steps[i].accepts;
                let mut k = 0;
                while k < acc.len() {
                    if acc[k].name_id == STOP_ID && !repeated(acc, k) {
                        let at = Slot {
                            step: i,
                            emits: false,
                            index: k,
                        };
                        count = push(out, count, RawDefect::of(DefectKind::AcceptsStop, at));
                    }
                    k += 1;
                }
                i += 1;
            }

            // Two types with one routing name: each typed slot looks back for an earlier slot of
            // the same name and another type; only the first slot of each type reports. (Plain
            // nested loops: const evaluation is slow, every operation counts.)
            let mut i = 0;
            while i < n {
                let mut pass = 0;
                while pass < 2 {
                    let list = if pass == 0 {
                        steps[i].accepts
                    } else {
                        steps[i].emits
                    };
                    let mut k = 0;
                    while k < list.len() {
                        let ev = list[k];
                        if ev.id != 0 {
                            let mut found: Option<Slot> = None;
                            let mut repeat = false;
                            let mut j = 0;
                            'scan: while j <= i {
                                let mut q = 0;
                                while q < 2 {
                                    let l2 = if q == 0 {
                                        steps[j].accepts
                                    } else {
                                        steps[j].emits
                                    };
                                    let end = if j < i || q < pass {
                                        l2.len()
                                    } else if q == pass {
                                        k
                                    } else {
                                        0
                                    };
                                    let mut m = 0;
                                    while m < end {
                                        let o = l2[m];
                                        if o.name_id == ev.name_id && o.id != 0 {
                                            if o.id == ev.id {
                                                repeat = true;
                                                break 'scan;
                                            }
                                            if found.is_none() {
                                                found = Some(Slot {
                                                    step: j,
                                                    emits: q == 1,
                                                    index: m,
                                                });
                                            }
                                        }
                                        m += 1;
                                    }
                                    q += 1;
                                }
                                j += 1;
                            }
                            if let (false, Some(p)) = (repeat, found) {
                                let d = RawDefect {
                                    kind: DefectKind::EventNameClash,
                                    at: p,
                                    other: Slot {
                                        step: i,
                                        emits: pass == 1,
                                        index: k,
                                    },
                                };
                                count = push(out, count, d);
                            }
                        }
                        k += 1;
                    }
                    pass += 1;
                }
                i += 1;
            }

            // Emitted, accepted by nobody.
            if allow & ALLOW_UNACCEPTED == 0 {
                let mut i = 0;
                while i < n {
                    let em = steps[i].emits;
                    let mut k = 0;
                    while k < em.len() {
                        let id = em[k].name_id;
                        if id != STOP_ID && !repeated(em, k) && !accepted_anywhere(steps, id) {
                            let at = Slot {
                                step: i,
                                emits: true,
                                index: k,
                            };
                            count =
                                push(out, count, RawDefect::of(DefectKind::UnacceptedEvent, at));
                        }
                        k += 1;
                    }
                    i += 1;
                }
            }

            // Accepted, emitted by nobody.
            if allow & ALLOW_UNEMITTED == 0 {
                let mut i = 0;
                while i < n {
                    let acc = steps[i].accepts;
                    let mut k = 0;
                    while k < acc.len() {
                        let id = acc[k].name_id;
                        if id != START_ID
                            && id != STOP_ID
                            && !repeated(acc, k)
                            && !emitted_anywhere(steps, id)
                        {
                            let at = Slot {
                                step: i,
                                emits: false,
                                index: k,
                            };
                            count = push(out, count, RawDefect::of(DefectKind::UnemittedEvent, at));
                        }
                        k += 1;
                    }
                    i += 1;
                }
            }

            if !has_start {
                return count;
            }

            let mut i = 0;
            while i < n {
                flags[i] = 0;
                i += 1;
            }
            // Forward: the steps a run reaches from StartEvent.
            mark(steps, flags, queue, REACHED, true);
            // Backward: the steps from which StopEvent can be reached.
            mark(steps, flags, queue, FINISHES, false);

            if allow & ALLOW_UNREACHABLE == 0 {
                let mut i = 0;
                while i < n {
                    if flags[i] & REACHED == 0 {
                        let at = Slot {
                            step: i,
                            emits: false,
                            index: 0,
                        };
                        count = push(out, count, RawDefect::of(DefectKind::Unreachable, at));
                    }
                    i += 1;
                }
            }

            if allow & ALLOW_DEAD_END == 0 {
                let mut any_finishes = false;
                let mut i = 0;
                while i < n {
                    if flags[i] == REACHED | FINISHES {
                        any_finishes = true;
                    }
                    i += 1;
                }
                if !any_finishes {
                    count = push(
                        out,
                        count,
                        RawDefect::of(DefectKind::NoPathToStop, Slot::NONE),
                    );
                } else {
                    let mut i = 0;
                    while i < n {
                        if flags[i] == REACHED {
                            let at = Slot {
                                step: i,
                                emits: false,
                                index: 0,
                            };
                            count = push(out, count, RawDefect::of(DefectKind::DeadEnd, at));
                        }
                        i += 1;
                    }
                }
            }
            count
        }
    }

    /// A small xorshift generator: reproducible "random" graphs without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, below: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % below as u64) as usize
        }
    }

    fn run_reference(steps: &[StepNode<'_>], allow: u32) -> Vec<RawDefect> {
        let n = steps.len();
        let mut flags = vec![0u8; n];
        let mut queue = vec![0usize; n];
        let mut out = vec![RawDefect::EMPTY; 4 * slot_count(steps) + 4 * n + 8];
        let count = reference::analyze(steps, allow, &mut flags, &mut queue, &mut out);
        assert!(count <= out.len());
        out.truncate(count);
        out
    }

    #[test]
    fn agrees_with_the_quadratic_reference_on_random_graphs() {
        let pool = [
            START,
            STOP,
            EventNode::new(INPUT_REQUIRED_NAME, INPUT_REQUIRED_NAME),
            EventNode::new(INPUT_RESPONSE_NAME, INPUT_RESPONSE_NAME),
            EventNode::new("A", "m1::A"),
            EventNode::new("A", "m2::A"),
            EventNode::new("A", ""),
            ev("B"),
            EventNode::new("B", "m3::B"),
            ev("C"),
            ev("D"),
            EventNode::new("E", ""),
        ];
        let names = [
            "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut defects = 0;
        for case in 0..20_000 {
            let n = 1 + rng.next(10);
            let mut lists = Vec::new();
            for _ in 0..n {
                let mut pick = |max: usize| -> Vec<EventNode<'static>> {
                    let len = rng.next(max + 1);
                    (0..len).map(|_| pool[rng.next(pool.len())]).collect()
                };
                let acc = pick(3);
                let em = pick(3);
                let waits = pick(1);
                lists.push((acc, em, waits));
            }
            let steps: Vec<StepNode<'_>> = lists
                .iter()
                .map(|(a, e, w)| StepNode::new(names[rng.next(names.len())], a, e).with_waits(w))
                .collect();
            let allow = rng.next(16) as u32;
            let expected = run_reference(&steps, allow);
            defects += expected.len();
            assert_eq!(
                analyze_all(&steps, allow),
                expected,
                "case {case}: {steps:?}"
            );
        }
        // The generator does produce defects of every kind, not only sound graphs.
        assert!(defects > 20_000);
    }

    #[test]
    fn const_message_truncates_on_char_boundary() {
        let mut m = ConstMessage::<5>::new();
        m.push("ab");
        m.push("é€");
        assert!(m.is_truncated());
        assert_eq!(m.as_str(), "abé");
        let mut m = ConstMessage::<8>::new();
        m.push_usize(1207);
        assert_eq!(m.as_str(), "1207");
    }

    const CHECKED: () = {
        let start = [START];
        let stop = [STOP];
        let steps = [StepNode::new("s", &start, &stop)];
        assert_graph("ok", &steps, &analyze_sized::<1, 2>(&steps, 0));
    };

    #[test]
    fn const_check_accepts_a_sound_graph() {
        let () = CHECKED;
    }
}
