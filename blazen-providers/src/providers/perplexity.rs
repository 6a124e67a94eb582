//! Perplexity: search-grounded Sonar models (usage and cost on every chunk; the stream ends without `[DONE]`).

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "perplexity",
    base_url: "https://api.perplexity.ai",
    env_var: "PERPLEXITY_API_KEY",
    default_model: "sonar",
    default_embedding_model: None,
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: false,
    strict_tools: false,
    json_schema: true,
};

super::compat_provider!(perplexity, PROFILE, "Perplexity");
