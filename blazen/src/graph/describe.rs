//! The words of each defect, shared by [`GraphDefect`]'s `Display` and the compile-time
//! message of `workflow!`.

use std::fmt;

use super::defect::{DefectKind, RawDefect};
use super::nodes::{EventNode, StepNode};
use super::GraphDefect;

impl GraphDefect {
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

impl RawDefect {
    /// The message pieces of the defect (concatenate them).
    pub(super) const fn pieces<'a>(&self, steps: &[StepNode<'a>]) -> [&'a str; 11] {
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
}

/// `parts` followed by empty pieces: every defect's message as the same eleven pieces.
const fn pad<const N: usize>(parts: [&str; N]) -> [&str; 11] {
    let mut out = [""; 11];
    let mut i = 0;
    while i < N {
        out[i] = parts[i];
        i += 1;
    }
    out
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
        DefectKind::UnacceptedEvent => pad([
            "event `",
            event,
            "` emitted by step `",
            step,
            "` is accepted by no step",
        ]),
        DefectKind::UnemittedEvent => pad([
            "step `",
            step,
            "` accepts event `",
            event,
            "`, which no step emits",
        ]),
        DefectKind::Unreachable => pad([
            "step `",
            step,
            "` is unreachable: no chain of events leads to it from `blazen::StartEvent`",
        ]),
        DefectKind::NoPathToStop => pad([
            "no path from `blazen::StartEvent` to `blazen::StopEvent`: no step that a run \
             reaches emits `blazen::StopEvent`",
        ]),
        DefectKind::DeadEnd => pad([
            "step `",
            step,
            "` is a dead end: `blazen::StopEvent` cannot be reached from it",
        ]),
        DefectKind::AcceptsStop => pad([
            "step `",
            step,
            "` accepts `blazen::StopEvent`, which ends the run and is never delivered to a step",
        ]),
        DefectKind::DuplicateStep => pad(["two steps are named `", step, "`"]),
        DefectKind::NoStartStep => pad(["no step accepts `blazen::StartEvent`: no run can begin"]),
        DefectKind::EventNameClash => pad([
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
        ]),
    }
}
