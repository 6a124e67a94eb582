//! Fireworks AI: open models, with embeddings (usage arrives on the last chunk by itself).

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "fireworks",
    base_url: "https://api.fireworks.ai/inference/v1",
    env_var: "FIREWORKS_API_KEY",
    default_model: "accounts/fireworks/models/llama-v3p3-70b-instruct",
    default_embedding_model: Some("nomic-ai/nomic-embed-text-v1.5"),
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: false,
    strict_tools: false,
    json_schema: true,
};

super::compat_provider!(fireworks, PROFILE, "Fireworks AI");
