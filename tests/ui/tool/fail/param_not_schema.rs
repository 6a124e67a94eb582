use blazen::prelude::*;

#[derive(Deserialize)]
struct NoSchema {
    x: u32,
}

struct Nothing;

/// Parameters whose types cannot come from JSON.
#[tool]
fn params(a: NoSchema, b: Nothing) -> u32 {
    let _ = b;
    a.x
}

fn main() {
    let _ = params::tool();
}
