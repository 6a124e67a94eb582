//! Every shape of event derives: named, tuple and unit structs, enums, renamed events; two
//! types of one name in different modules keep different identities.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Named {
    text: String,
    score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Tuple(u32, String);

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Unit;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
enum Choice {
    Yes,
    No { reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
#[event(rename = "analysis.done")]
struct Renamed {
    ok: bool,
}

mod a {
    use blazen::prelude::*;
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    pub struct Item;
}

mod b {
    use blazen::prelude::*;
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    pub struct Item;
}

type Alias = Named;

fn main() {
    let ev = Named {
        text: "hello".into(),
        score: 0.5,
    };
    assert_eq!(ev.event_type(), "Named");
    assert_eq!(Named::EVENT_TYPE, "Named");
    assert_eq!(ev.to_json(), json!({"text": "hello", "score": 0.5}));
    assert_eq!(Tuple(1, "x".into()).to_json(), json!([1, "x"]));
    assert_eq!(Unit.event_type(), "Unit");
    assert_eq!(Choice::Yes.event_type(), "Choice");
    assert_eq!(
        Choice::No { reason: "r".into() }.to_json(),
        json!({"No": {"reason": "r"}})
    );
    assert_eq!(Renamed { ok: true }.event_type(), "analysis.done");
    assert!(Renamed::EVENT_IDENTITY.ends_with("::Renamed"));

    assert_eq!(a::Item::EVENT_TYPE, b::Item::EVENT_TYPE);
    assert_ne!(a::Item::EVENT_IDENTITY, b::Item::EVENT_IDENTITY);
    assert_ne!(a::Item::EVENT_ID, b::Item::EVENT_ID);
    assert_eq!(Alias::EVENT_ID, Named::EVENT_ID);

    let boxed: Box<dyn Event> = Box::new(ev.clone());
    let copy = boxed.clone();
    assert_eq!(copy.downcast_ref::<Named>().map(|n| n.score), Some(0.5));
}
