//! The agent examples run offline, as the README documents: with no key they replay their
//! recording on a local server, and every request they send matches it.
//!
//! `cargo test` builds the examples before it runs the tests; this test runs the built binaries
//! (`target/<profile>/examples/<name>`) with the model variables removed from the environment.

use std::process::Command;

#[allow(dead_code)]
#[path = "support/examples.rs"]
mod examples;

use examples::example;

fn run_offline(name: &str) -> String {
    let output = Command::new(example(name))
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .output()
        .expect("example runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("replaying a recorded"),
        "{name} says it replays:\n{stdout}"
    );
    assert!(
        stdout.contains("every request matched the recording"),
        "{name} replays faithfully:\n{stdout}"
    );
    stdout
}

#[test]
fn agent_tools_runs_offline() {
    let out = run_offline("agent_tools");
    assert!(
        out.contains("answer: EMPTY-OK, MANIFEST-OK, LABELS-OK, ESCAPE-OK."),
        "{out}"
    );
    assert!(
        out.contains("MANIFEST-OK project=rig-openrouter steps=2 retries=2"),
        "{out}"
    );
    assert!(
        out.contains("4 tool-call rounds (5 model calls), stopped: Completed"),
        "{out}"
    );
}

#[test]
fn mcp_agent_runs_offline_with_tools_served_over_mcp() {
    let out = run_offline("mcp_agent");
    assert!(
        out.contains(
            r#"tools from the MCP server: ["ping_empty", "inspect_manifest", "join_labels", "escape_echo"]"#
        ),
        "{out}"
    );
    assert!(
        out.contains("MANIFEST-OK project=rig-openrouter steps=2 retries=2"),
        "{out}"
    );
    assert!(
        out.contains("answer: EMPTY-OK, MANIFEST-OK, LABELS-OK, ESCAPE-OK."),
        "{out}"
    );
}

#[test]
fn llm_workflow_runs_offline() {
    let out = run_offline("llm_workflow");
    assert!(
        out.contains("[tool] lookup_harbor_label -> crimson-harbor"),
        "{out}"
    );
    assert!(
        out.contains("[tool] lookup_orchard_label -> silver-orchard"),
        "{out}"
    );
    assert!(
        out.contains("[synthesize] The alpha signal marker"),
        "{out}"
    );
    assert!(out.contains(r#""tool_calls":2"#), "{out}");
}
