//! Reading what a stream call ended with.

use blazen_providers::{BlazenError, ChatMessage, CompletionModel};
use futures::StreamExt;

/// The first error of a stream call: the call's own, else the first failed item; `None` when
/// the stream ended well.
pub(crate) async fn first_stream_error(model: &CompletionModel) -> Option<BlazenError> {
    match model.stream(&[ChatMessage::user("hi")]).await {
        Err(e) => Some(e),
        Ok(mut chunks) => {
            while let Some(item) = chunks.next().await {
                if let Err(e) = item {
                    return Some(e);
                }
            }
            None
        }
    }
}
