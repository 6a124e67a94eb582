//! Mistral: Mistral's La Plateforme (rejects `stream_options`; reports usage on the last chunk by itself).

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "mistral",
    base_url: "https://api.mistral.ai/v1",
    env_var: "MISTRAL_API_KEY",
    default_model: "mistral-small-latest",
    default_embedding_model: Some("mistral-embed"),
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: false,
    strict_tools: false,
    json_schema: true,
};

super::compat_provider!(mistral, PROFILE, "Mistral");
