//! Items used by the code that blazen's macros generate. Not public API.
pub use serde;
pub use serde_json;

pub use crate::tool::__private as tool;
pub use schemars;
