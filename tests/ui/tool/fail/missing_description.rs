use blazen::prelude::*;

#[tool]
fn no_doc(city: String) -> String {
    city
}

fn main() {
    let _ = (no_doc::tool(), blank::tool());
}

#[tool(description = " ")]
fn blank(x: u32) -> u32 {
    x
}
