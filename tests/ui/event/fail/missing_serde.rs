use blazen::prelude::*;

#[derive(Debug, Clone, Event)]
struct NoSerde {
    n: u32,
}

fn main() {}
