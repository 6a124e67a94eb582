//! The signatures `#[step]` takes: sync and async, the context by reference or by value,
//! before or after the event, or absent; no event parameter (StartEvent); every return form.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A {
    n: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct B;

#[derive(Debug, Event)]
#[event(one_of)]
enum AorB {
    A(A),
    B(B),
}

#[step]
fn no_param() -> A {
    A { n: 1 }
}

#[step]
async fn start_param(ev: StartEvent) -> Option<A> {
    ev.get("n").map(|_| A { n: 2 })
}

#[step]
fn ctx_by_value(ctx: Context, ev: A) -> Vec<B> {
    let _ = ctx;
    vec![B; ev.n as usize]
}

#[step]
async fn event_first(ev: B, _ctx: &Context) -> Result<StopEvent, WorkflowError> {
    let _ = ev;
    Ok(StopEvent::default())
}

#[step(emits = [B])]
async fn sends(_ctx: &Context, _ev: A) {}

#[step(accepts = [A, B], name = "either_v2", max_concurrency = 4)]
fn either(ev: Box<dyn Event>) -> StopEvent {
    StopEvent::new(json!(ev.event_type()))
}

#[step(accepts = [A, B])]
fn one_of_param(ev: AorB) -> Result<Option<StopEvent>, WorkflowError> {
    Ok(match ev {
        AorB::A(_) => None,
        AorB::B(_) => Some(StopEvent::default()),
    })
}

#[step]
fn one_of_inferred(ev: AorB) -> AorB {
    ev
}

#[step]
fn mut_ctx(ctx: &mut Context, ev: B) -> StopEvent {
    let _ = (ctx, ev);
    StopEvent::default()
}

// The generated module follows the function's `cfg`.
#[step]
#[cfg(any())]
fn compiled_out(_ev: B) -> StopEvent {
    StopEvent::default()
}

const LIMIT: usize = 2;

#[step(max_concurrency = LIMIT)]
pub(crate) fn limited(_ev: A) {}

fn names(list: &[blazen::EventInfo]) -> Vec<&str> {
    list.iter().map(|e| e.name.as_ref()).collect()
}

/// The base event type without `accepts`: StartEvent (as the seed's base `Event` annotation).
#[step]
fn boxed_base(ev: Box<dyn Event>) -> StopEvent {
    StopEvent::new(json!(ev.event_type()))
}

fn main() {
    // The functions stay callable as written.
    assert_eq!(no_param().n, 1);
    assert_eq!(either(Box::new(B)).result, json!("B"));

    let s = no_param::step();
    assert_eq!(s.name(), "no_param");
    assert_eq!(names(s.accepted()), ["blazen::StartEvent"]);
    assert_eq!(names(s.emitted()), ["A"]);
    assert_eq!(
        names(start_param::step().accepted()),
        ["blazen::StartEvent"]
    );
    assert_eq!(names(ctx_by_value::step().emitted()), ["B"]);
    assert_eq!(names(event_first::step().accepted()), ["B"]);
    assert_eq!(names(event_first::step().emitted()), ["blazen::StopEvent"]);
    assert_eq!(names(sends::step().emitted()), ["B"]);
    let e = either::step();
    assert_eq!(e.name(), "either_v2");
    assert_eq!(e.concurrency_limit(), 4);
    assert_eq!(names(e.accepted()), ["A", "B"]);
    assert_eq!(names(one_of_param::step().accepted()), ["A", "B"]);
    assert_eq!(names(one_of_inferred::step().accepted()), ["A", "B"]);
    assert_eq!(names(one_of_inferred::step().emitted()), ["A", "B"]);
    assert_eq!(limited::step().concurrency_limit(), 2);
    assert_eq!(names(mut_ctx::step().accepted()), ["B"]);
    assert!(A::EVENT_IDENTITY.contains("::A"));
    assert_eq!(
        names(boxed_base::step().accepted()),
        ["blazen::StartEvent"]
    );
}
