//! The per-run context handed to every step.

/// The per-run context: typed state, event sending, stream writing and the run id.
#[derive(Debug, Clone)]
pub struct Context {
    _private: (),
}
