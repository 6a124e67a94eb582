use std::fmt::Display;

use blazen::prelude::*;

/// Generic, with `impl Trait`, a reference and a pattern: all reported at once.
#[tool]
fn everything_wrong<T: Display>(a: impl Display, b: &str, (c, d): (u8, u8), t: T) -> String {
    format!("{a}{b}{c}{d}{t}")
}

struct Thing;

impl Thing {
    /// A method.
    #[tool]
    fn method(&self, x: u32) -> u32 {
        x
    }
}

fn main() {
    let _ = Thing.method(1);
    let _ = everything_wrong::tool();
}
