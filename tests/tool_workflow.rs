//! A tool used from a workflow step: the step calls tools by name with a model's arguments,
//! and a tool's error becomes a result the workflow can hand back to the model.

#[allow(dead_code)] // Not every test file uses every rule.
#[path = "support/tool.rs"]
mod rules;

use blazen::prelude::*;
use serde_json::Value;

/// A temperature unit.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Celsius,
    Fahrenheit,
}

/// Get the current temperature in a city.
#[tool]
async fn temperature(
    /// The city name.
    city: String,
    unit: Option<Unit>,
) -> Result<f64, ToolError> {
    let celsius = match city.as_str() {
        "Paris" => 21.0,
        "Oslo" => 4.0,
        other => return Err(ToolError::new(format!("unknown city: {other}"))),
    };
    Ok(match unit.unwrap_or(Unit::Celsius) {
        Unit::Celsius => celsius,
        Unit::Fahrenheit => celsius * 9.0 / 5.0 + 32.0,
    })
}

/// Add two numbers.
#[tool]
fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// A tool call requested by a model.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct ToolCallEvent {
    name: String,
    arguments: Value,
}

/// The tools the workflow offers.
fn tools() -> Vec<ToolDef> {
    vec![temperature::tool(), add::tool()]
}

#[step]
fn plan(ctx: &Context, start: StartEvent) -> Result<ToolCallEvent, WorkflowError> {
    // The tool schemas a model would receive, kept in the run's state.
    let schemas: Vec<Value> = tools()
        .iter()
        .map(|t| json!({"name": t.name, "parameters": t.parameters_for(SchemaDialect::OpenAiStrict)}))
        .collect();
    ctx.set("tools", &schemas)?;
    start
        .parse::<ToolCallEvent>()
        .map_err(|e| WorkflowError::msg(e.to_string()))
}

#[step]
async fn run_tool(ctx: &Context, call: ToolCallEvent) -> Result<StopEvent, WorkflowError> {
    let offered: Option<Vec<Value>> = ctx.get("tools")?;
    let offered = offered.unwrap_or_default().len();
    let Some(tool) = tools().into_iter().find(|t| t.name == call.name) else {
        return Ok(StopEvent::new(
            json!({"error": format!("no tool named {}", call.name)}),
        ));
    };
    Ok(StopEvent::new(match tool.call(call.arguments).await {
        Ok(output) => json!({"output": output, "offered": offered}),
        Err(error) => json!({"error": error.to_string(), "offered": offered}),
    }))
}

async fn run(input: Value) -> Value {
    let wf = Workflow::builder("tools")
        .step(plan::step())
        .step(run_tool::step())
        .build()
        .unwrap();
    wf.run(input).await.unwrap().result().await.unwrap().result
}

#[tokio::test]
async fn a_step_runs_an_async_tool() {
    let out =
        run(json!({"name": "temperature", "arguments": {"city": "Oslo", "unit": "fahrenheit"}}))
            .await;
    assert_eq!(out["output"].as_f64(), Some(39.2));
    assert_eq!(out["offered"], 2);
}

#[tokio::test]
async fn a_step_runs_a_sync_tool_with_strict_mode_nulls() {
    let out = run(json!({"name": "add", "arguments": {"a": 2, "b": 0.5}})).await;
    assert_eq!(out["output"], json!(2.5));
    let out =
        run(json!({"name": "temperature", "arguments": {"city": "Paris", "unit": null}})).await;
    assert_eq!(out["output"], json!(21.0));
}

#[tokio::test]
async fn tool_errors_reach_the_workflow_result_as_text_for_the_model() {
    let out = run(json!({"name": "temperature", "arguments": {"city": "Atlantis"}})).await;
    assert_eq!(out["error"], "unknown city: Atlantis");
    let out = run(json!({"name": "add", "arguments": {"a": "two"}})).await;
    assert_eq!(
        out["error"],
        "invalid arguments: invalid value for argument `a`: invalid type: string \"two\", expected f64; missing required argument `b`"
    );
}

#[test]
fn every_schema_here_follows_its_dialect_rules() {
    for def in [temperature::tool(), add::tool()] {
        rules::check_tool(&def);
    }
}
