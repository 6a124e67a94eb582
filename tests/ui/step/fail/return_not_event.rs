use blazen::prelude::*;

#[step]
fn words(_ev: StartEvent) -> String {
    String::from("not an event")
}

#[step]
async fn numbers(_ev: StartEvent) -> Result<Vec<u32>, WorkflowError> {
    Ok(vec![1])
}

fn main() {}
