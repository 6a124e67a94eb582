use blazen::prelude::*;

/// Options with mistakes.
#[tool(name = "has space", title = "x", description = 3, name = "again")]
fn options(x: u32) -> u32 {
    x
}

fn main() {
    let _ = options::tool();
}
