//! Shared helpers of the integration tests, one module per area.

pub(crate) mod chunks;
pub(crate) mod eventstream;
pub(crate) mod examples;
pub(crate) mod fixtures;
pub(crate) mod mcp;
pub(crate) mod otel;
pub(crate) mod provider_server;
pub(crate) mod raw_server;
pub(crate) mod runtime;
pub(crate) mod scripted_provider;
pub(crate) mod scripted_server;
