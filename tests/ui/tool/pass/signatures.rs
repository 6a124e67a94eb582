//! The signatures `#[tool]` takes: sync and async functions, documented parameters, optional
//! and nested types, an argument struct, `name`/`description` options, every return form.
use std::collections::BTreeMap;
use std::fmt;

use blazen::prelude::*;

/// A unit.
#[derive(Debug, Deserialize, JsonSchema)]
enum Unit {
    C,
    F,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Serialize)]
struct Reading {
    value: f64,
}

#[derive(Debug)]
struct MyError;

impl fmt::Display for MyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("my error")
    }
}

/// Sync, every parameter kind.
#[tool]
fn sync_tool(
    /// A documented parameter.
    text: String,
    unit: Option<Unit>,
    points: Vec<Point>,
    counts: BTreeMap<String, u32>,
    mut n: i64,
) -> Reading {
    n += 1;
    let _ = (text, unit, points, counts);
    Reading { value: n as f64 }
}

/// Async with a custom error.
#[tool]
async fn async_tool(r#type: String) -> Result<Reading, MyError> {
    if r#type.is_empty() {
        Err(MyError)
    } else {
        Ok(Reading { value: 1.0 })
    }
}

/// Arguments as one struct.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Args {
    /// The query.
    pub query: String,
}

/// Struct form.
#[tool(name = "find-things")]
pub fn struct_tool(args: Args) -> Result<Vec<String>, ToolError> {
    Ok(vec![args.query])
}

#[tool(description = "Described by the attribute.")]
fn undocumented() {}

/// Compiled out, with its module.
#[cfg(any())]
#[tool]
fn absent(x: NotAType) {}

pub mod nested {
    use blazen::prelude::*;

    /// Inside a module.
    #[tool]
    pub fn inner(flag: bool) -> bool {
        !flag
    }
}

fn main() {
    let defs: Vec<ToolDef> = vec![
        sync_tool::tool(),
        async_tool::tool(),
        struct_tool::tool(),
        undocumented::tool(),
        nested::inner::tool(),
    ];
    assert_eq!(defs[1].parameters["properties"]["type"]["type"], "string");
    assert_eq!(defs[2].name, "find-things");
    assert_eq!(defs[3].description, "Described by the attribute.");
    assert_eq!(
        sync_tool("a".into(), None, vec![], BTreeMap::new(), 1).value,
        2.0
    );
    assert!(nested::inner(false));
    undocumented();
    let _ = async_tool(String::new());
}
