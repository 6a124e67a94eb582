//! The public models, futures and streams of the providers crate are `Send` (and `Sync` where
//! shared), so they work inside `tokio::spawn`.

use blazen_providers::{
    ChatMessage, ChunkStream, CompletionModel, CompletionRequest, EmbeddingModel, StreamChunk,
};

fn send<T: Send>(_: &T) {}
fn send_sync<T: Send + Sync>(_: &T) {}

#[test]
fn models_futures_and_streams_are_send() {
    let model = CompletionModel::openai("k");
    send_sync(&model);
    let messages = vec![ChatMessage::user("hi")];
    send(&model.complete(&messages));
    send(&model.complete_with(CompletionRequest::new(messages.clone())));
    send(&model.stream(&messages));
    send(&model.stream_with(&messages, |_c: StreamChunk| {}));
    send(&model.extract::<Vec<String>>(&messages));
    send(&model.extract_with::<Vec<String>>(
        CompletionRequest::new(messages.clone()),
        blazen_providers::ExtractOptions::default(),
    ));
    let embeddings = EmbeddingModel::openai("k");
    send_sync(&embeddings);
    send(&embeddings.embed(&["a"]));
    fn stream_is_send(s: ChunkStream) -> impl Send {
        s
    }
    let _ = stream_is_send;
}

#[tokio::test]
async fn a_model_moves_into_spawned_tasks() {
    let model = CompletionModel::openai_compatible("http://127.0.0.1:9/v1", "");
    let task = tokio::spawn(async move { model.complete(&[ChatMessage::user("x")]).await });
    // Nothing listens on port 9: a connection error, not a panic or a hang.
    let err = task.await.unwrap().unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
