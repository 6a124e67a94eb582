//! The production-readiness scenario of the recorded OpenRouter session: four `#[tool]`s,
//! the conversation word for word (so that the replay matches it), and the recording.
//! Shared by `agent_tools` (the tools called locally) and `mcp_agent` (the same tools
//! served over MCP).

use blazen::prelude::*;

/// The four tools of the scenario.
pub(crate) fn tools() -> Vec<ToolDef> {
    vec![
        ping_empty::tool(),
        inspect_manifest::tool(),
        join_labels::tool(),
        escape_echo::tool(),
    ]
}

/// Return EMPTY-OK. This tool takes no arguments.
#[tool]
fn ping_empty() -> String {
    "EMPTY-OK".to_owned()
}

/// Flags of a deployment manifest.
#[derive(Debug, Deserialize, JsonSchema)]
struct Flags {
    /// Whether the deployment is critical.
    critical: bool,
    /// How many times to retry.
    retries: u32,
}

/// One step of a deployment.
#[derive(Debug, Deserialize, JsonSchema)]
struct DeployStep {
    /// The step's name.
    name: String,
    /// Its relative weight.
    weight: u32,
}

/// Validate a nested deployment manifest.
#[tool]
fn inspect_manifest(
    /// The project name.
    project: String,
    flags: Flags,
    steps: Vec<DeployStep>,
    /// A free-form note.
    note: String,
) -> Result<String, String> {
    if steps.is_empty() || steps.iter().any(|s| s.name.is_empty() || s.weight == 0) {
        return Err("every manifest needs steps, each with a name and a positive weight".into());
    }
    if flags.critical && flags.retries == 0 {
        return Err("a critical deployment needs at least one retry".into());
    }
    if note.trim().is_empty() {
        return Err("the note must not be empty".into());
    }
    Ok(format!(
        "MANIFEST-OK project={project} steps={} retries={}",
        steps.len(),
        flags.retries
    ))
}

/// Join label strings with the requested separator.
#[tool]
fn join_labels(labels: Vec<String>, separator: String) -> String {
    format!("LABELS-OK {}", labels.join(&separator))
}

/// Echo a string containing escaping-sensitive characters.
#[tool]
async fn escape_echo(text: String) -> String {
    format!("ESCAPE-OK {text}")
}

// The conversation of the recording, word for word, so that the replay matches it.
pub(crate) const SYSTEM: &str = "You are a deterministic OpenRouter tool orchestration test harness. Use the \
tools instead of inventing values. For the production-readiness scenario, call exactly one tool at \
a time in this order: 1. ping_empty with an empty JSON object. 2. inspect_manifest with project \
rig-openrouter, flags critical=true and retries=2, steps plan weight=1 and verify weight=2, and the \
exact note from the user. 3. join_labels with labels [north, beta gamma, quote:\"delta\", \
slash\\path] and separator |. 4. escape_echo with the exact escaped text from the user. After all \
tool results are available, answer in one short sentence that includes EMPTY-OK, MANIFEST-OK, \
LABELS-OK, and ESCAPE-OK.";
pub(crate) const USER: &str =
    "Run the production-readiness scenario. The manifest note is `line one; line \
two says \"hello\" and path C:\\rig\\openrouter`. The escaped text is `Line 1\nLine \"2\" with \
backslash \\ and unicode snowman ☃`.";

pub(crate) const RECORDING: &str = include_str!(
    "../../tests/fixtures/openrouter/agent_tool_sessions__sequential_complex_tool_calls_nonstreaming.json"
);
