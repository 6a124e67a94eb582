//! Azure OpenAI: the OpenAI API on a resource of your own; the deployment names the model.

use crate::model::CompletionModel;
use crate::openai_compat::{AuthStyle, AzureTarget, MaxTokensField, OpenAiCompat, Profile};

/// The Azure OpenAI data-plane API version sent with every request.
pub(crate) const AZURE_API_VERSION: &str = "2024-10-21";

pub(crate) const PROFILE: Profile = Profile {
    name: "azure",
    base_url: "https://{resource}.openai.azure.com",
    env_var: "AZURE_OPENAI_API_KEY",
    default_model: "",
    default_embedding_model: None,
    auth: AuthStyle::ApiKeyHeader,
    max_tokens_field: MaxTokensField::MaxCompletionTokens,
    stream_usage: true,
    strict_tools: true,
    json_schema: true,
};

impl CompletionModel {
    /// An Azure OpenAI deployment: `https://{resource_name}.openai.azure.com/openai/deployments/
    /// {deployment_name}/chat/completions?api-version=2024-10-21`, key in the `api-key` header.
    ///
    /// `model_id()` is the deployment name; `with_model` switches deployments.
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::azure("key", "my-resource", "gpt-4o-prod");
    /// assert_eq!(model.model_id(), "gpt-4o-prod");
    /// ```
    pub fn azure(
        api_key: impl Into<String>,
        resource_name: impl Into<String>,
        deployment_name: impl Into<String>,
    ) -> Self {
        let deployment = deployment_name.into();
        let base = format!("https://{}.openai.azure.com", resource_name.into());
        CompletionModel::from_provider(
            OpenAiCompat::new(PROFILE, api_key)
                .base_url_owned(base)
                .model_owned(deployment.clone())
                .azure(AzureTarget {
                    deployment,
                    api_version: AZURE_API_VERSION.to_owned(),
                }),
        )
    }
}
