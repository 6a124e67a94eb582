//! Steps and events in nested modules, named by path; an alias of an event type is the same
//! event; a type of the same name in another module, renamed, is another event.
use blazen::prelude::*;

mod events {
    use blazen::prelude::*;

    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    pub struct Item {
        pub n: u32,
    }

    pub type Thing = Item;
}

mod other {
    use blazen::prelude::*;

    /// Also named `Item`, but a different type with its own routing name.
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    #[event(rename = "other.Item")]
    pub struct Item {
        pub n: u32,
    }
}

mod steps {
    pub mod first {
        use blazen::prelude::*;

        #[step]
        pub fn begin(_ev: StartEvent) -> crate::events::Item {
            crate::events::Item { n: 1 }
        }
    }

    pub mod second {
        use super::super::events::Thing;
        use blazen::prelude::*;

        // `super::` in a step's types is relative to the function's module.
        #[step]
        pub(crate) fn middle(ev: Thing) -> super::super::other::Item {
            super::super::other::Item { n: ev.n + 1 }
        }

        #[step]
        pub fn end(ev: self::OtherItem) -> StopEvent {
            StopEvent::new(json!(ev.n))
        }

        pub use crate::other::Item as OtherItem;
    }
}

#[tokio::main]
async fn main() {
    let wf = workflow!(
        "nested",
        [
            steps::first::begin,
            steps::second::middle,
            crate::steps::second::end
        ]
    );
    let r = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(r.result, json!(2));
}
