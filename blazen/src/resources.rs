//! [`Resources`]: shared values a workflow hands to its steps (models, clients, pools).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Values a workflow holds for its steps, one per type: an LLM model, an HTTP client, a
/// database pool. Steps read them with [`Context::resource`](crate::Context::resource).
///
/// Resources are not part of a run's state: they are not serialized into snapshots, and a
/// resumed run uses the resources of the workflow that resumes it (so a model can be
/// reconfigured, and secrets never reach a checkpoint store). Cloning is cheap (one
/// reference count per value).
///
/// ```
/// use blazen::prelude::*;
/// use blazen::Resources;
///
/// #[derive(Debug)]
/// struct Greeting(&'static str);
///
/// #[step]
/// fn greet(ctx: &Context, _ev: StartEvent) -> Result<StopEvent, WorkflowError> {
///     let greeting = ctx.resource::<Greeting>()?;
///     Ok(StopEvent::new(json!(greeting.0)))
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), WorkflowError> {
/// let wf = workflow!("greet", [greet]).with_resource(Greeting("hello"));
/// let stop = wf.run(json!({})).await?.result().await?;
/// assert_eq!(stop.result, json!("hello"));
///
/// // A step function called directly, as in a unit test:
/// let ctx = Context::detached_with(Resources::new().with(Greeting("hi")));
/// assert_eq!(greet(&ctx, StartEvent::default())?.result, json!("hi"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Resources {
    values: Arc<HashMap<TypeId, Entry>>,
}

#[derive(Clone)]
struct Entry {
    name: &'static str,
    value: Arc<dyn Any + Send + Sync>,
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Type names only: values may hold secrets (API keys).
        let mut names: Vec<&str> = self.values.values().map(|e| e.name).collect();
        names.sort_unstable();
        f.debug_set().entries(names).finish()
    }
}

impl Resources {
    /// No resources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` (replacing a value of the same type).
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.insert(value);
        self
    }

    /// Adds `value` (replacing a value of the same type).
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.insert_arc(Arc::new(value));
    }

    /// Adds a value already shared elsewhere.
    pub fn insert_arc<T: Any + Send + Sync>(&mut self, value: Arc<T>) {
        Arc::make_mut(&mut self.values).insert(
            TypeId::of::<T>(),
            Entry {
                name: std::any::type_name::<T>(),
                value,
            },
        );
    }

    /// The value of type `T`, if one was added.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|e| e.value.downcast_ref::<T>())
    }

    /// The value of type `T` as a shared pointer (to keep beyond the step).
    pub fn get_arc<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let entry = self.values.get(&TypeId::of::<T>())?;
        Arc::clone(&entry.value).downcast::<T>().ok()
    }

    /// Adds every value of `other` (replacing values of the same types).
    pub(crate) fn extend(&mut self, other: &Resources) {
        let values = Arc::make_mut(&mut self.values);
        for (k, v) in other.values.iter() {
            values.insert(*k, v.clone());
        }
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
