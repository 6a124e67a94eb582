// A step of another crate whose event no step here accepts: the graph check crosses the crate
// boundary and names the other crate's event and step.
use blazen::prelude::*;

fn main() {
    let _ = workflow!("cross", [blazen_steps_fixture::greet]);
}
