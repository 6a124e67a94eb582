//! Events and `#[step]` functions defined in a crate of their own, so that the workspace's
//! tests can assemble a `workflow!` from steps of another crate (`tests/macros_cross_crate.rs`).

use blazen::prelude::*;

/// A greeting, made from the run's input.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct Greeting {
    /// The text.
    pub text: String,
}

/// StartEvent → a [`Greeting`] for `input.name`.
#[step]
pub fn greet(ev: StartEvent) -> Greeting {
    let name = ev.get("name").and_then(|v| v.as_str()).unwrap_or("world");
    Greeting {
        text: format!("hello {name}"),
    }
}

/// Nested modules work too: a step in a module of the other crate.
pub mod shout {
    use super::Greeting;
    use blazen::prelude::*;

    /// [`Greeting`] → the same, in capitals.
    #[step(name = "shout")]
    pub fn loud(ev: Greeting) -> StopEvent {
        StopEvent::new(json!(ev.text.to_uppercase()))
    }
}
