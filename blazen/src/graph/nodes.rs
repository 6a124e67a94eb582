//! The graph as the analysis sees it: events and steps known by name and by hash, built in
//! const evaluation from the metadata that `#[step]` generates. Everything here and in the
//! analysis is usable in const evaluation; `workflow!` calls it through `blazen::__private`.

use crate::event::{fnv1a64, TypedEvent};

pub(super) const START_NAME: &str = "blazen::StartEvent";
pub(super) const STOP_NAME: &str = "blazen::StopEvent";
pub(super) const INPUT_REQUIRED_NAME: &str = "blazen::InputRequiredEvent";
pub(super) const INPUT_RESPONSE_NAME: &str = "blazen::InputResponseEvent";
pub(super) const START_ID: u64 = fnv1a64(START_NAME);
pub(super) const STOP_ID: u64 = fnv1a64(STOP_NAME);
pub(super) const INPUT_REQUIRED_ID: u64 = fnv1a64(INPUT_REQUIRED_NAME);
pub(super) const INPUT_RESPONSE_ID: u64 = fnv1a64(INPUT_RESPONSE_NAME);
/// The runtime emits `StepFailed` (when a step fails for good), as it emits StartEvent: a
/// step accepting it is not an "unemitted accept", and what it emits is reachable.
pub(super) const STEP_FAILED_ID: u64 = fnv1a64("blazen::StepFailed");

/// Bit of [`GraphCheck::UnacceptedEvent`](super::GraphCheck::UnacceptedEvent) in an allow mask.
pub const ALLOW_UNACCEPTED: u32 = 1;
/// Bit of [`GraphCheck::UnemittedEvent`](super::GraphCheck::UnemittedEvent) in an allow mask.
pub const ALLOW_UNEMITTED: u32 = 2;
/// Bit of [`GraphCheck::Unreachable`](super::GraphCheck::Unreachable) in an allow mask.
pub const ALLOW_UNREACHABLE: u32 = 4;
/// Bit of [`GraphCheck::DeadEnd`](super::GraphCheck::DeadEnd) in an allow mask.
pub const ALLOW_DEAD_END: u32 = 8;

/// An event as the analysis sees it. Generated code builds these with [`EventNode::of`].
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
