//! The examples' binaries, which `cargo test` builds before it runs the tests
//! (`target/<profile>/examples/<name>`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `target/<profile>`: the test binary lives in `target/<profile>/deps/`.
pub(crate) fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf()
}

/// The built binary of `examples/<name>.rs`.
pub(crate) fn example(name: &str) -> PathBuf {
    let path = profile_dir()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test` (which builds the examples) or run \
         `cargo build --examples` first",
        path.display()
    );
    path
}

/// Starts a server example that prints `MCP server at <url>` first; returns it with the URL
/// (the child is killed when dropped).
pub(crate) async fn listening(command: &mut Command) -> (Child, String) {
    let mut server = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the example");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the example says where it listens")
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("MCP server at ")
        .expect("the address line")
        .to_owned();
    (server, url)
}
