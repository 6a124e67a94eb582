//! [`McpCaller`]: a tool's [`CallerBackend`] inside an MCP `tools/call` — progress and log
//! notifications, sampling and elicitation requests to the client.
//!
//! Logging, sampling and elicitation are server-to-client requests that the 2026-07-28 protocol
//! (SEP-2577) deprecates; the 2025 protocol versions clients speak today have them, and rmcp
//! marks their types deprecated: hence the `allow(deprecated)` here.
#![allow(deprecated)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use rmcp::model::{
    CreateMessageRequestParams, ElicitRequestParams, ElicitationAction, ElicitationSchema,
    LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken,
};
use rmcp::{Peer, RoleServer};
use serde_json::Value;

use super::sampling::{from_mcp, to_mcp};
use crate::tool::{CallerBackend, CallerError, Elicited, LogLevel, Sample, SampleRequest};

/// The MCP session of one `tools/call`, as the running tool's caller.
pub(super) struct McpCaller {
    peer: Peer<RoleServer>,
    /// The client's `_meta.progressToken`: progress is sent only when the client asked.
    progress_token: Option<ProgressToken>,
    /// The session's least severe level to send (a [`LogLevel`] as `u8`).
    log_level: Arc<AtomicU8>,
}

impl McpCaller {
    pub(super) fn new(
        peer: Peer<RoleServer>,
        progress_token: Option<ProgressToken>,
        log_level: Arc<AtomicU8>,
    ) -> Self {
        McpCaller {
            peer,
            progress_token,
            log_level,
        }
    }
}

/// A client's `logging/setLevel` level as blazen's.
pub(super) fn from_mcp_level(level: LoggingLevel) -> LogLevel {
    match level {
        LoggingLevel::Debug => LogLevel::Debug,
        LoggingLevel::Info => LogLevel::Info,
        LoggingLevel::Notice => LogLevel::Notice,
        LoggingLevel::Warning => LogLevel::Warning,
        LoggingLevel::Error => LogLevel::Error,
        LoggingLevel::Critical => LogLevel::Critical,
        LoggingLevel::Alert => LogLevel::Alert,
        LoggingLevel::Emergency => LogLevel::Emergency,
    }
}

fn to_mcp_level(level: LogLevel) -> LoggingLevel {
    match level {
        LogLevel::Debug => LoggingLevel::Debug,
        LogLevel::Info => LoggingLevel::Info,
        LogLevel::Notice => LoggingLevel::Notice,
        LogLevel::Warning => LoggingLevel::Warning,
        LogLevel::Error => LoggingLevel::Error,
        LogLevel::Critical => LoggingLevel::Critical,
        LogLevel::Alert => LoggingLevel::Alert,
        LogLevel::Emergency => LoggingLevel::Emergency,
    }
}

/// The keys of a JSON Schema that an elicitation form keeps (MCP: an object of primitive
/// properties; rmcp refuses others such as `additionalProperties`).
const FORM_KEYS: &[&str] = &["type", "title", "description", "properties", "required"];

impl CallerBackend for McpCaller {
    fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> BoxFuture<'_, ()> {
        async move {
            let Some(token) = &self.progress_token else {
                return;
            };
            let mut param = ProgressNotificationParam::new(token.clone(), progress);
            param.total = total;
            param.message = message;
            if let Err(error) = self.peer.notify_progress(param).await {
                tracing::debug!(target: "blazen::mcp", %error, "progress notification not sent");
            }
        }
        .boxed()
    }

    fn log(&self, level: LogLevel, data: Value) -> BoxFuture<'_, ()> {
        async move {
            if (level as u8) < self.log_level.load(Ordering::Relaxed) {
                return;
            }
            let param = LoggingMessageNotificationParam::new(to_mcp_level(level), data);
            if let Err(error) = self.peer.notify_logging_message(param).await {
                tracing::debug!(target: "blazen::mcp", %error, "log notification not sent");
            }
        }
        .boxed()
    }

    fn sample(&self, request: SampleRequest) -> BoxFuture<'_, Result<Sample, CallerError>> {
        async move {
            let offered = self
                .peer
                .peer_info()
                .is_some_and(|info| info.capabilities.sampling.is_some());
            if !offered {
                return Err(CallerError::Unsupported("sampling"));
            }
            let messages = request.messages.into_iter().map(to_mcp).collect();
            let mut params = CreateMessageRequestParams::new(messages, request.max_tokens);
            params.system_prompt = request.system_prompt;
            params.temperature = request.temperature;
            let result = self
                .peer
                .create_message(params)
                .await
                .map_err(|e| CallerError::Failed(e.to_string()))?;
            let mut sample = Sample::new(from_mcp(result.message).text, result.model);
            sample.stop_reason = result.stop_reason;
            Ok(sample)
        }
        .boxed()
    }

    fn elicit(
        &self,
        message: String,
        schema: Value,
    ) -> BoxFuture<'_, Result<Elicited<Value>, CallerError>> {
        async move {
            let offered = self
                .peer
                .peer_info()
                .is_some_and(|info| info.capabilities.elicitation.is_some());
            if !offered {
                return Err(CallerError::Unsupported("elicitation"));
            }
            let form: serde_json::Map<String, Value> = match schema {
                Value::Object(map) => map
                    .into_iter()
                    .filter(|(key, _)| FORM_KEYS.contains(&key.as_str()))
                    .collect(),
                _ => serde_json::Map::new(),
            };
            let requested_schema: ElicitationSchema = serde_json::from_value(Value::Object(form))
                .map_err(|e| {
                CallerError::Failed(format!(
                    "the form is not an object of primitive fields, as MCP elicitation needs: {e}"
                ))
            })?;
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message,
                requested_schema,
            };
            let result = self
                .peer
                .create_elicitation(params)
                .await
                .map_err(|e| CallerError::Failed(e.to_string()))?;
            Ok(match result.action {
                ElicitationAction::Accept => {
                    Elicited::Accepted(result.content.unwrap_or(Value::Object(Default::default())))
                }
                ElicitationAction::Decline => Elicited::Declined,
                _ => Elicited::Cancelled,
            })
        }
        .boxed()
    }
}
