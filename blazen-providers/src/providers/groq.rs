//! Groq: low-latency inference; reports queue and execution time in its usage.

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "groq",
    base_url: "https://api.groq.com/openai/v1",
    env_var: "GROQ_API_KEY",
    default_model: "llama-3.3-70b-versatile",
    default_embedding_model: None,
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: true,
    strict_tools: false,
    json_schema: true,
};

super::compat_provider!(groq, PROFILE, "Groq");
