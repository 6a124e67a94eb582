//! Tools: functions an LLM can call, with JSON Schemas for their parameters.
