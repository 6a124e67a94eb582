//! Graph analysis shared by `Workflow::builder().build()` and the `workflow!` macro.

use std::fmt;

/// One defect of a workflow graph.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphDefect {
    /// Placeholder until the analysis lands.
    Other(String),
}

impl fmt::Display for GraphDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphDefect::Other(s) => f.write_str(s),
        }
    }
}
