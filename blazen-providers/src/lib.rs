//! One `CompletionModel` over many LLM providers, with one typed error model.

pub mod error;
mod eventstream;
mod sse;

pub use error::BlazenError;
