//! A defect as the analysis finds it: indices into the graph, turned into a [`GraphDefect`]
//! (or into words, see `describe`) once the analysis is done.

use super::nodes::{EventNode, StepNode};
use super::GraphDefect;

/// The kind of a defect found by the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DefectKind {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    /// Index of the step.
    pub step: usize,
    /// Whether the event is in the emits list.
    pub emits: bool,
    /// Index in the list.
    pub index: usize,
}

impl Slot {
    pub(super) const NONE: Slot = Slot {
        step: 0,
        emits: false,
        index: 0,
    };

    pub(super) const fn event<'a>(self, steps: &[StepNode<'a>]) -> EventNode<'a> {
        let s = steps[self.step];
        if self.emits {
            s.emits[self.index]
        } else {
            s.accepts[self.index]
        }
    }

    pub(super) const fn event_or_empty<'a>(self, steps: &[StepNode<'a>]) -> EventNode<'a> {
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

/// A defect as the core reports it: indices into the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawDefect {
    /// What is wrong.
    pub kind: DefectKind,
    /// The event concerned (and its step).
    pub at: Slot,
    /// The second occurrence, for a clash.
    pub other: Slot,
}
impl RawDefect {
    /// A placeholder, for filling arrays.
    pub(super) const EMPTY: RawDefect = RawDefect {
        kind: DefectKind::NoStartStep,
        at: Slot::NONE,
        other: Slot::NONE,
    };

    pub(super) const fn of(kind: DefectKind, at: Slot) -> RawDefect {
        RawDefect {
            kind,
            at,
            other: Slot::NONE,
        }
    }

    pub(super) fn to_defect(self, steps: &[StepNode<'_>]) -> GraphDefect {
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
