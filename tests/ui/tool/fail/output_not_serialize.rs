use blazen::prelude::*;

struct Opaque;

struct NotDisplay;

/// Returns something that is not JSON.
#[tool]
fn opaque() -> Opaque {
    Opaque
}

/// Fails with something that has no text.
#[tool]
fn bad_error() -> Result<u32, NotDisplay> {
    Err(NotDisplay)
}

fn main() {
    let _ = (opaque::tool(), bad_error::tool());
}
