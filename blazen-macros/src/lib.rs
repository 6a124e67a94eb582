//! Procedural macros of blazen: `#[derive(Event)]`, `#[step]`, `#[tool]` and `workflow!`.
//!
//! Use them through the `blazen` crate, which re-exports them. Each entry point is thin: it
//! hands the tokens to its module, which parses, validates and expands.

use proc_macro::TokenStream;

mod ctxt;
mod event;
mod step;
mod tool;
mod workflow;

/// Derives `blazen::Event` and `blazen::TypedEvent` for a struct or an enum.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    event::derive(input.into()).into()
}

/// Turns a function into a workflow step; adds a module of the same name whose `step()`
/// returns the run-time `blazen::Step`.
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
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    workflow::expand(input.into()).into()
}
