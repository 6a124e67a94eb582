//! Quickstart: a typed workflow that runs with no API key and no network.
fn main() {
    println!("blazen quickstart: the runtime is being built");
}
