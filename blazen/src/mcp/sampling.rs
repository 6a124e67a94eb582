//! Sampling messages between blazen's [`SampleMessage`] and MCP's, both ways (the server asks
//! a client's model with them, the client answers a server with them).
//!
//! Sampling is a server-to-client request the 2026-07-28 protocol (SEP-2577) deprecates; rmcp
//! marks its types deprecated: hence the `allow(deprecated)` here.
#![allow(deprecated)]

use rmcp::model::{Role, SamplingMessage, SamplingMessageContentBlock};

use crate::tool::{SampleMessage, SampleRole};

/// blazen's message as MCP's: one text block.
pub(super) fn to_mcp(message: SampleMessage) -> SamplingMessage {
    let role = match message.role {
        SampleRole::Assistant => Role::Assistant,
        _ => Role::User,
    };
    SamplingMessage::new(role, SamplingMessageContentBlock::text(message.text))
}

/// MCP's message as blazen's: its text blocks joined by newlines (images and audio are not
/// passed on: a [`SampleMessage`] is text).
pub(super) fn from_mcp(message: SamplingMessage) -> SampleMessage {
    let role = match message.role {
        Role::Assistant => SampleRole::Assistant,
        _ => SampleRole::User,
    };
    let text = message
        .content
        .into_vec()
        .into_iter()
        .filter_map(|block| match block {
            SamplingMessageContentBlock::Text(text) => Some(text.text),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    SampleMessage::new(role, text)
}
