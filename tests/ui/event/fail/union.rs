use blazen::prelude::*;

#[derive(Clone, Copy, Event)]
union Bits {
    a: u32,
    b: f32,
}

fn main() {}
