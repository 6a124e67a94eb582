//! Steps branch through `Either` and `OneOf3`, also inside `Result` and `Option`, and take
//! `Either` as their event parameter: every arm is an edge, every branch reaches StopEvent.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Small {
    n: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Large {
    n: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Odd;

#[step]
fn classify(ev: StartEvent) -> Result<OneOf3<Small, Large, StopEvent>, WorkflowError> {
    let n = ev
        .get("n")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| WorkflowError::msg("no n"))?;
    Ok(match n {
        0 => OneOf3::Third(StopEvent::new(json!("zero"))),
        n if n < 10 => OneOf3::First(Small { n }),
        n => OneOf3::Second(Large { n }),
    })
}

#[step]
fn parity(ev: Either<Small, Large>) -> Option<Either<Odd, StopEvent>> {
    let n = match ev {
        Either::Left(Small { n }) | Either::Right(Large { n }) => n,
    };
    if n < 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        Either::Left(Odd)
    } else {
        Either::Right(StopEvent::new(json!(format!("even {n}"))))
    })
}

#[step]
fn odd(_ev: Odd) -> StopEvent {
    StopEvent::new(json!("odd"))
}

#[tokio::main]
async fn main() {
    let wf = workflow!("either", [classify, parity, odd]);
    for (n, expected) in [(0, "zero"), (3, "odd"), (4, "even 4"), (30, "even 30")] {
        let r = wf
            .run(json!({ "n": n }))
            .await
            .unwrap()
            .result()
            .await
            .unwrap();
        assert_eq!(r.result, json!(expected));
    }
}
