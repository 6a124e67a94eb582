//! Procedural macros of blazen: `#[derive(Event)]`, `#[step]`, `#[tool]` and `workflow!`.
//!
//! Use them through the `blazen` crate, which re-exports them. Each entry point is thin: it
//! hands the tokens to its module, which parses, validates and expands.
//!
//! # Where things live
//!
//! - `ctxt.rs`: `Errors`, the one error context: every problem at the user's token, all
//!   reported together; the item is still emitted after an error.
//! - `options.rs`: the one option parser of all four macros (`key = value`, flags, `[lists]`,
//!   unknown options listed, duplicates reported at the second occurrence).
//! - `event.rs`: `#[derive(Event)]`, its options, checks and impls in one file.
//! - `step/`, `tool/`: `mod.rs` runs `parse.rs` (the options) → `valid.rs` (the signature, into
//!   a typed model) → `expand.rs` (the module beside the function).
//! - `workflow.rs`: `workflow!`: the step list and options, the compile-time graph check and the
//!   builder chain.

use proc_macro::TokenStream;

mod beside;
mod ctxt;
mod event;
mod options;
mod step;
mod tool;
mod workflow;

/// Derives `blazen::Event` and `blazen::TypedEvent` for a struct or an enum.
///
/// The routing name (`EVENT_TYPE`) is the type's name; `#[event(rename = "...")]` overrides
/// it. The type identity (`EVENT_IDENTITY`) is `module_path!()::TypeName`, so two types of one
/// name in different modules stay apart while an alias is the type it names. Events need
/// `Debug`, `Clone`, `Serialize` and `Deserialize`; generic types are refused (a routing name
/// names one type).
///
/// ```
/// use blazen::prelude::*;
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
/// struct AnalyzeEvent { text: String, score: f64 }
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
/// #[event(rename = "analysis.done")]
/// struct Done;
///
/// assert_eq!(AnalyzeEvent::EVENT_TYPE, "AnalyzeEvent");
/// assert_eq!(Done.event_type(), "analysis.done");
/// ```
///
/// # `#[event(one_of)]`: one of several events
///
/// On an enum whose variants each wrap one event type, `#[event(one_of)]` derives a choice of
/// events instead of an event. Returned by a step, the enum emits the wrapped event (the graph
/// checks see every variant's type); as a step's event parameter it receives any of them.
///
/// ```
/// use blazen::prelude::*;
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
/// struct Retry { attempt: u32 }
///
/// #[derive(Debug, Event)]
/// #[event(one_of)]
/// enum Outcome {
///     Retry(Retry),
///     Done(StopEvent),
/// }
///
/// #[step]
/// fn attempt(ev: Retry) -> Outcome {
///     if ev.attempt < 3 { Outcome::Retry(Retry { attempt: ev.attempt + 1 }) }
///     else { Outcome::Done(StopEvent::new(json!(ev.attempt))) }
/// }
/// # fn main() {}
/// ```
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    event::derive(input.into()).into()
}

/// Turns a function into a workflow step; adds a module of the same name whose `step()`
/// returns the run-time `blazen::Step`.
///
/// The function stays callable as written (sync or async). Its parameters are the event and,
/// optionally, the `Context` (`&Context`, `&mut Context` or `Context`, in either order):
/// - the step accepts the event parameter's type; with no event parameter, or a
///   `Box<dyn Event>` one without `accepts`, it accepts `StartEvent`;
/// - it emits what its return type carries: an event `E`, `Option<E>`, `Vec<E>`, `()`, an
///   `#[event(one_of)]` enum, or one of these inside `Result<_, Err>` (`Err:
///   Into<WorkflowError>`), plus the events listed in `emits = [..]` (sent through
///   `ctx.send_event`).
///
/// Options: `accepts = [A, B]` (the event parameter is then `Box<dyn Event>`, which you
/// downcast, or an `#[event(one_of)]` enum holding every listed type), `emits = [..]`,
/// `waits_for = [..]` (events the body waits for with `ctx.wait_for_event`; the graph check
/// counts them as consumed), `max_concurrency = N` (0: unlimited), `name = "..."` (default:
/// the function's name).
///
/// Beside the function comes `mod <name>` with the function's visibility: `<name>::step()`
/// builds the run-time step, and hidden constants describe it to `workflow!`. Define steps
/// and their event types at module level (the module reaches the function's scope through
/// `super::*`).
///
/// ```
/// use blazen::prelude::*;
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
/// struct AnalyzeEvent { text: String }
///
/// #[step]
/// fn start(ev: StartEvent) -> AnalyzeEvent {
///     AnalyzeEvent { text: ev.get("prompt").and_then(|v| v.as_str()).unwrap_or("").into() }
/// }
///
/// #[step(max_concurrency = 4)]
/// async fn analyze(_ctx: &Context, ev: AnalyzeEvent) -> Result<StopEvent, WorkflowError> {
///     Ok(StopEvent::new(json!(ev.text.len())))
/// }
///
/// fn main() {
///     // The function is still a function...
///     assert_eq!(start(StartEvent::new(json!({"prompt": "hi"}))).text, "hi");
///     // ...and `analyze::step()` is the run-time step.
///     let step = analyze::step();
///     assert_eq!(step.name(), "analyze");
///     assert_eq!(step.concurrency_limit(), 4);
/// }
/// ```
#[proc_macro_attribute]
pub fn step(attr: TokenStream, item: TokenStream) -> TokenStream {
    step::expand(attr.into(), item.into()).into()
}

/// Turns a function into an LLM tool; adds a module of the same name whose `tool()` returns
/// the `blazen::ToolDef`.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    tool::expand(attr.into(), item.into()).into()
}

/// Builds a `blazen::Workflow` whose graph the compiler checked.
///
/// `workflow!("name", [step_a, path::to::step_b], timeout = expr, checkpoint = expr, allow =
/// [..])` takes the `#[step]` functions by path. During const evaluation it runs the graph
/// analysis of `blazen::graph` over the steps' metadata; any defect fails the build with one
/// error listing every defect, each naming its event and step: an event emitted that no step
/// accepts, an event accepted that no step emits, a step unreachable from `StartEvent`, no path
/// to `StopEvent` or a dead-end step, a step accepting `StopEvent`, duplicate step names, no
/// step accepting `StartEvent`, two types sharing a routing name. Cycles with an exit are
/// fine.
///
/// `allow = [unaccepted, unemitted, unreachable, dead_end]` opts out of the listed checks for
/// a deliberate design (the run-time build skips them too).
///
/// ```
/// use blazen::prelude::*;
/// use std::time::Duration;
///
/// #[step]
/// fn echo(ev: StartEvent) -> StopEvent {
///     StopEvent::new(ev.data)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), WorkflowError> {
/// let wf = workflow!("echo", [echo], timeout = Duration::from_secs(5));
/// let stop = wf.run(json!({"x": 1})).await?.result().await?;
/// assert_eq!(stop.result, json!({"x": 1}));
/// # Ok(())
/// # }
/// ```
///
/// A broken graph does not compile:
///
/// ```compile_fail
/// use blazen::prelude::*;
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
/// struct Ghost;
///
/// #[step]
/// fn start(_ev: StartEvent) -> Ghost { Ghost }   // nobody accepts Ghost, nothing stops
///
/// fn main() { let _ = workflow!("broken", [start]); }
/// ```
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    workflow::expand(input.into()).into()
}
