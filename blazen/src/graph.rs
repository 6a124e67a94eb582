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

pub(crate) mod analysis;
mod defect;
mod describe;
mod mermaid;
pub(crate) mod message;
pub(crate) mod nodes;
#[cfg(test)]
mod tests;

pub use mermaid::to_mermaid;

use crate::step::Step;
use analysis::{analyze_all, GraphReport};
use nodes::{
    EventNode, StepNode, ALLOW_DEAD_END, ALLOW_UNACCEPTED, ALLOW_UNEMITTED, ALLOW_UNREACHABLE,
};

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

/// The compile-time check of `workflow!`: panics (failing the build) with every defect of
/// the graph formed by `steps`, in the words of [`GraphDefect`]'s `Display`.
///
/// It stays here, at `blazen::graph::assert_graph` in `blazen/src/graph.rs`, rather than with
/// the message it panics with: rustc names this function and this file in the build error of a
/// broken `workflow!` (see `tests/ui/workflow/fail/*.stderr`).
#[doc(hidden)]
pub const fn assert_graph<const N: usize>(
    workflow: &str,
    steps: &[StepNode<'_>; N],
    report: &GraphReport,
) {
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
    if report.count == 0 {
        return;
    }
    let msg = message::defects_message(workflow, steps, report);
    panic!("{}", msg.as_str());
}
