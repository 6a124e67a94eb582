use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Wrapped<T> {
    inner: T,
}

fn main() {}
