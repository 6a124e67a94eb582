//! The Mermaid flowchart of a workflow.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::nodes::{INPUT_REQUIRED_ID, INPUT_RESPONSE_ID, START_ID, STOP_ID};
use crate::event::fnv1a64;
use crate::step::Step;

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
    for t in accepters.get(&START_ID).into_iter().flatten() {
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
            if e == STOP_ID {
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
}
