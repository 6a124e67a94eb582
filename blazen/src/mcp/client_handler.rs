//! [`ClientSide`]: what blazen's MCP client does with what a server sends it — progress and
//! log notifications, and (when given handlers) sampling and elicitation requests.
//!
//! Logging, sampling and elicitation are server-to-client messages that the 2026-07-28
//! protocol (SEP-2577) deprecates; the 2025 protocol versions servers speak today have them,
//! and rmcp marks their types deprecated: hence the `allow(deprecated)` here.
#![allow(deprecated)]

use std::sync::Arc;

use rmcp::handler::client::progress::ProgressDispatcher;
use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequestMethod, CreateMessageRequestParams,
    CreateMessageResult, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationCapability, FormElicitationCapability, Implementation,
    LoggingMessageNotificationParam, ProgressNotificationParam, SamplingCapability,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ClientHandler, ErrorData, RoleClient};

use super::caller::from_mcp_level;
use super::sampling::{from_mcp, to_mcp};
use crate::tool::event_at;
use crate::tool::{
    ElicitationHandler, Elicited, SampleMessage, SampleRequest, SampleRole, SamplingHandler,
};

/// The client's side of a session.
#[derive(Default)]
pub(super) struct ClientSide {
    /// Progress reports, to the `tools/call` each belongs to.
    pub(super) progress: ProgressDispatcher,
    pub(super) sampling: Option<Arc<dyn SamplingHandler>>,
    pub(super) elicitation: Option<Arc<dyn ElicitationHandler>>,
}

impl ClientHandler for ClientSide {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        if self.sampling.is_some() {
            capabilities.sampling = Some(SamplingCapability::default());
        }
        if self.elicitation.is_some() {
            let mut elicitation = ElicitationCapability::new();
            elicitation.form = Some(FormElicitationCapability::default());
            capabilities.elicitation = Some(elicitation);
        }
        ClientConfig::new(
            capabilities,
            Implementation::new("blazen", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.handle_notification(params).await;
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let logger = params.logger.as_deref().unwrap_or("");
        let data = &params.data;
        event_at!(
            from_mcp_level(params.level),
            target: "blazen::mcp",
            logger,
            %data,
            "server log"
        );
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let Some(handler) = &self.sampling else {
            return Err(ErrorData::method_not_found::<CreateMessageRequestMethod>());
        };
        let mut request = SampleRequest::new("");
        request.messages = params.messages.into_iter().map(from_mcp).collect();
        request.system_prompt = params.system_prompt;
        request.max_tokens = params.max_tokens;
        request.temperature = params.temperature;
        let sample = handler
            .sample(request)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let message = to_mcp(SampleMessage::new(SampleRole::Assistant, sample.text));
        let mut result = CreateMessageResult::new(message, sample.model);
        result.stop_reason = sample.stop_reason;
        Ok(result)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let (
            Some(handler),
            ElicitRequestParams::FormElicitationParams {
                message,
                requested_schema,
                ..
            },
        ) = (&self.elicitation, request)
        else {
            // No one to ask, or a URL elicitation (a page for the user to open): decline.
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let schema = serde_json::to_value(&requested_schema)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let answer = handler
            .elicit(message, schema.clone())
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(match answer {
            Elicited::Accepted(content) => ElicitResult::new(ElicitationAction::Accept)
                .with_content(with_defaults(content, &schema)),
            Elicited::Declined => ElicitResult::new(ElicitationAction::Decline),
            Elicited::Cancelled => ElicitResult::new(ElicitationAction::Cancel),
        })
    }
}

/// The answer to a form with the form's defaults for the fields the user left out (SEP-1034:
/// a field with a default has a value).
fn with_defaults(mut content: serde_json::Value, form: &serde_json::Value) -> serde_json::Value {
    if let (Some(answer), Some(properties)) = (
        content.as_object_mut(),
        form.get("properties")
            .and_then(serde_json::Value::as_object),
    ) {
        for (name, property) in properties {
            if let Some(default) = property.get("default") {
                answer
                    .entry(name.clone())
                    .or_insert_with(|| default.clone());
            }
        }
    }
    content
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::with_defaults;

    #[test]
    fn an_answer_gets_the_defaults_of_the_fields_left_out_only() {
        let form = json!({"type": "object", "properties": {
            "name": {"type": "string", "default": "John Doe"},
            "age": {"type": "integer", "default": 30},
            "email": {"type": "string"},
        }});
        assert_eq!(
            with_defaults(json!({"age": 41}), &form),
            json!({"name": "John Doe", "age": 41})
        );
        // Not an object: left as it is.
        assert_eq!(with_defaults(json!(null), &form), json!(null));
    }
}
