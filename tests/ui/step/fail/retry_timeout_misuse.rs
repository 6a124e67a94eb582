//! `retry` and `timeout` given twice, without a value, or as a literal; a value of the wrong
//! type is reported by the compiler at the value.
use blazen::prelude::*;
use std::time::Duration;

#[step(retry = RetryPolicy::constant(2, Duration::ZERO), retry = RetryPolicy::constant(3, Duration::ZERO))]
fn twice(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(timeout, retry)]
fn no_value(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(retry = 3, timeout = 5)]
fn literals(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(timeout = RetryPolicy::constant(2, Duration::ZERO))]
fn wrong_type(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

fn main() {
    // The steps still expand.
    let _ = twice::step();
    let _ = no_value::step();
    let _ = literals::step();
    let _ = wrong_type::step();
}
