//! Provider-independent request and response types.
//!
//! Every type here is `serde`-serializable, so responses can be stored, cached and logged, and
//! conversations can be checkpointed. The wire formats of the providers live in their own modules
//! and convert from and to these types.

mod message;
mod request;
mod response;
mod server_tool;

pub use message::{ChatMessage, ContentPart, MediaType, Role, ToolCall};
pub use request::{CompletionRequest, ResponseFormat, ToolChoice, ToolDialect, ToolSpec};
pub(crate) use response::{secs_to_ms, StreamAccumulator};
pub use response::{CompletionResponse, MediaOutput, RequestTiming, StreamChunk, TokenUsage};
pub use server_tool::{Citation, ServerToolCall, ServerToolResult};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_type_serializes_as_string() {
        assert_eq!(
            serde_json::to_value(MediaType::GLB).unwrap(),
            json!("model/gltf-binary")
        );
        let back: MediaType = serde_json::from_value(json!("image/png")).unwrap();
        assert_eq!(back, MediaType::PNG);
    }

    #[test]
    fn message_round_trips() {
        let m = ChatMessage::user_image_base64("look", "aGVsbG8=", MediaType::PNG);
        let text = serde_json::to_string(&m).unwrap();
        let back: ChatMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(m, back);
        assert_eq!(back.text_content().as_deref(), Some("look"));
    }

    #[test]
    fn empty_arguments_mean_no_arguments() {
        let c = ToolCall::from_raw("1", "f", "");
        assert_eq!(c.arguments, json!({}));
        assert!(c.invalid_arguments.is_none());
    }

    #[test]
    fn accumulator_joins_chunks() {
        let mut acc = StreamAccumulator::default();
        acc.push(&StreamChunk::text("Hel"));
        acc.push(&StreamChunk::text("lo"));
        acc.push(&StreamChunk {
            finish_reason: Some("stop".into()),
            usage: Some(TokenUsage::new(3, 2)),
            ..StreamChunk::default()
        });
        assert_eq!(acc.response.content.as_deref(), Some("Hello"));
        assert_eq!(acc.response.usage.unwrap().total_tokens, 5);
    }
}
