//! A custom `Provider` answering from a script: replies in order, a count of its calls, the
//! requests and the (virtual) time of each, for middleware and error-model tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use blazen_providers::{
    BlazenError, ChunkStream, CompletionModel, CompletionRequest, CompletionResponse, Provider,
    StreamChunk,
};

/// One scripted answer.
pub(crate) type Reply = Result<CompletionResponse, BlazenError>;

#[derive(Debug)]
struct Script {
    name: &'static str,
    replies: Mutex<Vec<Reply>>,
    calls: AtomicUsize,
    times: Mutex<Vec<tokio::time::Instant>>,
    requests: Mutex<Vec<CompletionRequest>>,
}

/// A shared handle: the test looks at the calls after a model used the provider.
#[derive(Debug, Clone)]
pub(crate) struct ScriptedProvider(Arc<Script>);

impl ScriptedProvider {
    /// A provider named `name` giving `replies` in order (then panicking: script exhausted).
    pub(crate) fn new(name: &'static str, replies: Vec<Reply>) -> Self {
        ScriptedProvider(Arc::new(Script {
            name,
            replies: Mutex::new(replies.into_iter().rev().collect()),
            calls: AtomicUsize::new(0),
            times: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
        }))
    }

    pub(crate) fn calls(&self) -> usize {
        self.0.calls.load(Ordering::SeqCst)
    }

    /// When each call came (tokio time, so paused time gives exact delays).
    pub(crate) fn times(&self) -> Vec<tokio::time::Instant> {
        self.0.times.lock().unwrap().clone()
    }

    /// The requests received, in order.
    pub(crate) fn requests(&self) -> Vec<CompletionRequest> {
        self.0.requests.lock().unwrap().clone()
    }

    pub(crate) fn model(&self) -> CompletionModel {
        CompletionModel::from_provider(self.clone())
    }
}

/// A successful reply with `text`, as model `model`.
pub(crate) fn answer(model: &str, text: &str) -> CompletionResponse {
    CompletionResponse {
        content: Some(text.into()),
        model: model.into(),
        finish_reason: Some("stop".into()),
        ..Default::default()
    }
}

#[async_trait]
impl Provider for ScriptedProvider {
    fn name(&self) -> &str {
        self.0.name
    }
    fn model_id(&self) -> &str {
        "scripted-1"
    }
    async fn complete(&self, r: CompletionRequest) -> blazen_providers::Result<CompletionResponse> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        self.0.requests.lock().unwrap().push(r);
        self.0
            .times
            .lock()
            .unwrap()
            .push(tokio::time::Instant::now());
        self.0
            .replies
            .lock()
            .unwrap()
            .pop()
            .expect("script exhausted")
    }
    async fn stream(&self, r: CompletionRequest) -> blazen_providers::Result<ChunkStream> {
        let resp = self.complete(r).await?;
        let chunk = StreamChunk {
            delta: resp.content,
            finish_reason: Some("stop".into()),
            ..Default::default()
        };
        Ok(Box::pin(futures::stream::iter([Ok(chunk)])))
    }
    fn with_model(&self, _m: &str) -> Arc<dyn Provider> {
        Arc::new(self.clone())
    }
    fn with_base_url(&self, _u: &str) -> Arc<dyn Provider> {
        Arc::new(self.clone())
    }
}
