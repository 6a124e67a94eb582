use blazen::prelude::*;

#[tool]
fn no_doc(city: String) -> String {
    city
}

fn main() {
    let _ = no_doc::tool();
}
