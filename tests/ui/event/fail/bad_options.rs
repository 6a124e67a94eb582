use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(rename = "a", rename = "b", colour = "red")]
struct Twice;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(rename = 3)]
struct NotAString;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(rename = "")]
struct Empty;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event = "x"]
struct NotAList;

fn main() {
    // The events still derive: no cascade of "not an event" errors below.
    let _ = Twice.event_type();
    let _ = NotAString.event_type();
    let _ = Empty.event_type();
}
