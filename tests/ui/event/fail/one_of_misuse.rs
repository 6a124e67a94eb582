use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[derive(Debug, Event)]
#[event(one_of)]
struct NotAnEnum(A);

#[derive(Debug, Event)]
#[event(one_of)]
enum Shapes {
    Two(A, A),
    Named { a: A },
    Unit,
}

#[derive(Debug, Event)]
#[event(one_of)]
enum Empty {}

#[derive(Debug, Event)]
#[event(one_of, rename = "x")]
enum Renamed {
    A(A),
}

#[derive(Debug, Event)]
#[event(one_of)]
enum NotEvents {
    S(String),
}

fn main() {}
