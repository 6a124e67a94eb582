//! The analysis against hand-made graphs and against a plain quadratic reference, and the
//! compile-time check on a sound graph.

use super::analysis::{analyze_all, analyze_sized, slot_count};
use super::defect::RawDefect;
use super::nodes::{
    EventNode, StepNode, ALLOW_UNEMITTED, ALLOW_UNREACHABLE, INPUT_REQUIRED_NAME,
    INPUT_RESPONSE_NAME, START_NAME, STOP_NAME,
};
use super::{assert_graph, GraphDefect};

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
mod reference;

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
